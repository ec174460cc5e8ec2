/**
 * Where things live on disk.
 *   SPURIOUS_DATA  overrides the data folder (checkpoints, labels)
 *   SPURIOUS_RUNS  overrides the run store (tests and notebook smoke runs use a temporary one)
 */
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..");

export function dataDir(): string {
  return process.env.SPURIOUS_DATA ? path.resolve(process.env.SPURIOUS_DATA) : path.join(ROOT, "data");
}

export function runsDir(): string {
  return process.env.SPURIOUS_RUNS ? path.resolve(process.env.SPURIOUS_RUNS) : path.join(dataDir(), "runs");
}

export function checkpointPath(name: string): string {
  return path.join(dataDir(), "checkpoints", `${name}.ckpt`);
}
