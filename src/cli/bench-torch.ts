/**
 * The PyTorch reference for `npm run bench`: scripts/bench_torch.py run by a Python that has torch
 * (Debian's /usr/bin/python3 with `apt-get install python3-torch`; the project never installs it).
 * Absent torch is a note, not an error: the bench then reports our figures alone.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";

export const TORCH_HOWTO = "PyTorch is not a dependency; on Debian/Ubuntu `sudo apt-get install python3-torch` gives /usr/bin/python3 a torch (or pass --python PATH to one that has it)";

export interface TorchStep {
  torch: string;
  threads: number;
  stepMs: number;
  stepsMs: number[];
}

/** Why `python` cannot run the reference, or null when it can. */
export function torchProblem(python: string): string | null {
  const r = spawnSync(python, ["-c", "import torch"], { encoding: "utf8" });
  if (r.error) return `${python} cannot be run (${r.error.message})`;
  if (r.status !== 0) return `${python} has no torch (${(r.stderr.trim().split("\n").pop() ?? "").slice(0, 120)})`;
  return null;
}

/** Median ms of the reference step in PyTorch with `threads` intra-op threads. */
export function torchStep(python: string, vocab: number, threads: number, repeats: number): TorchStep {
  const script = path.join(__dirname, "..", "..", "scripts", "bench_torch.py");
  const r = spawnSync(python, [script, "--vocab", String(vocab), "--threads", String(threads), "--repeats", String(repeats)], { encoding: "utf8" });
  const last = r.stdout?.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !last.startsWith("{")) throw new Error(`${script} failed (exit ${r.status}): ${(r.stderr || last).trim().slice(-400)}`);
  return JSON.parse(last) as TorchStep;
}
