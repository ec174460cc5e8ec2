/**
 * Where things live on disk.
 *   SPURIOUS_DATA  overrides the data folder (checkpoints, labels, evals)
 *   SPURIOUS_RUNS  overrides the run store (tests and notebook smoke runs use a temporary one)
 * Checkpoints, labels and evaluations of world N > 1 live in a world<N>/ subfolder of theirs.
 * A variable naming something that is not a folder is an error naming the variable.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..");
/** The run store shipped with the repository (smoke-scale runs never go here). */
export const SHIPPED_RUNS = path.join(ROOT, "data", "runs");

/** The folder named by an environment variable; it must be a folder when `mustExist`, and must not be a file either way. */
function envFolder(name: string, mustExist: boolean): string | null {
  const v = process.env[name];
  if (!v) return null;
  const dir = path.resolve(v);
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (st ? !st.isDirectory() : mustExist) {
    throw new Error(`${name}=${v}: ${dir} ${st ? "is not a folder" : "does not exist"}; point ${name} at a folder, or unset it to use ${name === "SPURIOUS_DATA" ? "data/" : "data/runs/"}`);
  }
  return dir;
}

export function dataDir(): string {
  return envFolder("SPURIOUS_DATA", true) ?? path.join(ROOT, "data");
}

export function runsDir(): string {
  return envFolder("SPURIOUS_RUNS", false) ?? path.join(dataDir(), "runs");
}

/**
 * A data folder for a world version: world 1 (the default) is the folder itself, so everything
 * stored before world versions existed stays where it was; world N is its subfolder world<N>/.
 */
export function worldDir(dir: string, world = 1): string {
  if (!Number.isInteger(world) || world < 1) throw new Error(`world version must be an integer >= 1, got ${JSON.stringify(world)}`);
  return world === 1 ? dir : path.join(dir, `world${world}`);
}

export function checkpointPath(name: string, world = 1): string {
  return path.join(worldDir(path.join(dataDir(), "checkpoints"), world), `${name}.ckpt`);
}
