/**
 * World 2's capacity table (calibration plan step 2, corpus-v2.ts): what a shared v2 base computes
 * reliably, per mode, step size and operation count, on the `test` problems. It replaces world 1's
 * capacity per mode, and the prediction and fit (src/world/calibration-v2.ts) read it.
 *
 * For every mode and step size, each test problem's first step is forced at that size (code
 * "python a=3+4*2#", language "3+4*2 is ") and the base continues greedily (src/lab/step-probe.ts):
 * the first value it writes is the step probe (a diagnostic), its final answer the cell's accuracy.
 * 2 modes x (500 + 500 + 303) responses; a few minutes on one idle core for base-d64.
 *
 * Stored once per base checkpoint in data/calibration/world<N>/<base>-<sha>.json (small), reused
 * while the checkpoint's bytes stay the same; a smoke measurement (a few problems) is never stored.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { backendInfo, initBackend } from "../model/backend";
import { checkpointSha, loadCheckpoint, readCheckpointHeader } from "../model/checkpoint";
import { disposeParams, type ModelConfig, type Params } from "../model/model";
import { checkpointPath, dataDir, worldDir } from "../util/paths";
import { makeProgress } from "../util/progress";
import { readJson, writeFileAtomic } from "../util/store";
import type { CapacityCell, CapacityTable } from "../world/calibration-v2";
import { STEP_SIZES } from "../world/corpus-v2";
import type { BaseId, FamilyId } from "../world/families";
import { getFamilyV2 } from "../world/families-v2";
import { getSplit, type Problem } from "../world/problems";
import { MODES } from "../world/traces";
import { checkWorld, parseWorld, storedWorld, type World } from "../world/worlds";
import { mistakeSpread, type MistakeSpread } from "./mistakes";
import { probeForcedSize } from "./step-probe";
import { BASE_STEPS, budgetedBase, expectBudget } from "./pretrain";
import { ownBaseMode } from "../world/corpus-v2";

export interface MeasuredCell extends CapacityCell {
  /** How the wrong final answers spread (answer - truth). */
  spread: MistakeSpread;
}

export interface StoredCapacity extends CapacityTable {
  world: World;
  /** The shared base measured, or (a family's table) the family's base. */
  base: BaseId;
  /** The base's pretraining budget (optimizer steps); absent in tables stored before budgets existed = BASE_STEPS. */
  steps?: number;
  /** The logit of p(code) in the base's corpus when it is not the shared 0 (baseCorpusV2). */
  mode?: number;
  /** A family's own checkpoint was measured (after its continued pretraining), from `parent` (a checkpoint file name). */
  family?: FamilyId;
  parent?: string;
  checkpointSha: string;
  /** Test problems measured (500 = the whole split). */
  problems: number;
  backend: string;
  seconds: number;
  cells: MeasuredCell[];
}

/** Measure every (mode, size, ops) cell on `problems`, one batch of greedy responses per (mode, size). */
export function measureCapacity(params: Params, config: ModelConfig, problems: readonly Problem[], label = "[capacity]"): MeasuredCell[] {
  const cells: MeasuredCell[] = [];
  const jobs = MODES.flatMap((mode) => STEP_SIZES.map((size) => ({ mode, size })));
  const progress = makeProgress(label, jobs.length, { unit: "mode x size batches", everySec: 0 });
  jobs.forEach(({ mode, size }, j) => {
    const traces = probeForcedSize(params, config, problems, mode, size);
    for (const ops of [...new Set(traces.map((t) => t.problem.ops.length))].sort()) {
      const mine = traces.filter((t) => t.problem.ops.length === ops);
      const right = (xs: typeof mine, key: "first" | "final") => (100 * xs.filter((t) => t[key].answer === t[key].truth).length) / xs.length;
      cells.push({ mode, size, ops, n: mine.length, accuracy: right(mine, "final"), firstStep: right(mine, "first"), spread: mistakeSpread(mine.map((t) => t.final)) });
    }
    progress.tick(j + 1, `${mode} size ${size}`);
  });
  progress.finish();
  return cells;
}

export function capacityPath(base: string, sha: string, world: World): string {
  return path.join(worldDir(path.join(dataDir(), "calibration"), world), `${base}-${sha}.json`);
}

/** The pretraining command that makes a missing base. */
export const pretrainBaseCommand = (base: string, world: World, steps = BASE_STEPS, mode?: number) => `npm run pretrain -- --base ${base}${world === 1 ? "" : ` --world ${world}`}${steps === BASE_STEPS ? "" : ` --base-steps ${steps}`}${ownBaseMode(mode) === undefined ? "" : ` --base-mode ${mode}`}`;

/**
 * The capacity table of a world's shared base: the stored one for its current checkpoint, else
 * measured (and stored unless `problems` limits it to a smoke check). A missing base is an error
 * naming the command that pretrains it.
 */
export async function baseCapacity(base: BaseId, opts: { world: World; problems?: number; quiet?: boolean; steps?: number; mode?: number }): Promise<StoredCapacity> {
  const world = opts.world;
  if (world === 1) throw new Error("capacity tables by step size are world 2's (world 1 measures a capacity per mode: npm run calibrate)");
  const mode = ownBaseMode(opts.mode);
  const name = budgetedBase(base, opts.steps, mode);
  const ck = checkpointPath(name, world);
  const command = pretrainBaseCommand(base, world, opts.steps, mode);
  if (!fs.existsSync(ck)) throw new Error(`no world-${world} ${name} checkpoint (${ck}); pretrain it first: ${command}`);
  expectBudget(ck, world, opts.steps ?? BASE_STEPS, `move it away and pretrain it again: ${command}`, mode);
  return storedCapacity(name, ck, { ...opts, about: { base, steps: opts.steps ?? BASE_STEPS, ...(mode === undefined ? {} : { mode }) } });
}

/**
 * The capacity table of a family's own checkpoint, after its continued pretraining: the family's
 * stage is more practice on the arithmetic, so its capacity is above its base's (session 6:
 * toy Qwen2.5-Math-7B from base-d64 @ 2,000 steps computes three operations in one step 43-47% of
 * the time, its base 24-27%), and a fit on the base's table misses by 20+ points. Stored and reused
 * like a base's.
 */
export async function familyCapacity(family: FamilyId, opts: { world: World; problems?: number; quiet?: boolean }): Promise<StoredCapacity> {
  const world = opts.world;
  if (world === 1) throw new Error("capacity tables by step size are world 2's");
  const ck = checkpointPath(family, world);
  if (!fs.existsSync(ck)) throw new Error(`no world-${world} ${family} checkpoint (${ck}); pretrain it first: npm run pretrain -- --family ${family} --world ${world}`);
  const parent = readCheckpointHeader(ck).meta.parent;
  const parentHeader = parent && fs.existsSync(String(parent)) ? readCheckpointHeader(String(parent)) : null;
  const parentMeta = parentHeader?.meta as { train?: { steps?: number }; corpus?: { mode?: { mean?: number } } } | undefined;
  const mode = ownBaseMode(parentMeta?.corpus?.mode?.mean);
  return storedCapacity(family, ck, { ...opts, about: { base: getFamilyV2(family).base, steps: parentMeta?.train?.steps, ...(mode === undefined ? {} : { mode }), family, parent: parent ? path.basename(String(parent)) : undefined } });
}

async function storedCapacity(name: string, ck: string, opts: { world: World; problems?: number; quiet?: boolean; about: Pick<StoredCapacity, "base" | "steps" | "mode" | "family" | "parent"> }): Promise<StoredCapacity> {
  const world = opts.world;
  const sha = checkpointSha(ck, world);
  const file = capacityPath(name, sha, world);
  const all = getSplit("test");
  const n = opts.problems ?? all.length;
  if (!(Number.isInteger(n) && n >= 1 && n <= all.length)) throw new Error(`problems must be an integer in [1, ${all.length}], got ${n}`);
  const smoke = n < all.length;
  if (!smoke && fs.existsSync(file)) {
    const stored = readJson(file, "move it away to measure again") as StoredCapacity;
    checkWorld(`capacity table ${file}`, storedWorld(stored, file), world, "capacity tables are stored per world (data/calibration/world<N>/); move it away to measure again");
    return stored;
  }
  await initBackend({ quiet: opts.quiet });
  const t0 = Date.now();
  const { params, header } = loadCheckpoint(ck, { world });
  let cells: MeasuredCell[];
  try {
    cells = measureCapacity(params, header.config, all.slice(0, n), `[capacity ${name}]`);
  } finally {
    disposeParams(params);
  }
  const table: StoredCapacity = { world: parseWorld(world, "capacity"), ...opts.about, checkpointSha: sha, problems: n, backend: backendInfo().name, seconds: (Date.now() - t0) / 1000, cells };
  if (!smoke) writeFileAtomic(file, JSON.stringify(table, null, 1));
  return table;
}
