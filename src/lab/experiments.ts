/**
 * Experiments: a typed spec in, one stored result out.
 *
 * `runOrLoad(spec)` returns the stored result for the spec or runs it. Results live in
 * data/runs/<family>-<reward>-<variant>-s<seed>-<scale>-<hash>.json, the hash covering the fully
 * resolved spec and the starting checkpoint's bytes, so a retrained family never reuses stale runs.
 * A run saves a resumable state every few steps; killed and started again it ends with the same
 * numbers (all randomness is keyed by step). The store (src/util/store.ts) makes writes atomic, keeps two
 * processes from computing the same run at once and clears what a killed run left; a corrupt run
 * file is reported by name and left alone. Smoke-scale runs never go into the shipped data/runs/.
 *
 * A spec names its world (src/world/worlds.ts; default 1). World 1 is left out of the hash and the
 * name, so every run stored before world versions existed keeps its name; a run of world N > 1 is
 * named w<N>-<family>-..., its hash covers the world, and it starts from world N's checkpoint.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { backendInfo, initBackend } from "../model/backend";
import { checkpointSha, loadCheckpoint, saveCheckpoint } from "../model/checkpoint";
import { buildDataset, VARIANTS, type Variant } from "../rl/datasets";
import { evaluateAvgAtK, evaluateGreedy, type EvalRecord, type EvalSummary } from "./evaluate";
import { getFamily } from "../world/families";
import { familyNotInWorld } from "../world/families-v2";
import { grpoStep, hashedGrpoConfig, resolveGrpoConfig, type GrpoConfig, type StepMetrics } from "../rl/grpo";
import { cloneParams, disposeParams, type ModelConfig, type Params } from "../model/model";
import { disposeAdam, initAdam, type AdamState } from "../model/optim";
import { checkpointPath, ROOT, runsDir, SHIPPED_RUNS } from "../util/paths";
import { getSplit, type Problem } from "../world/problems";
import { makeProgress } from "../util/progress";
import { canonicalReward, parseReward } from "../rl/rewards";
import { makeRng } from "../util/rng";
import { acquireLock, readJson, removeDebris, writeFileAtomic } from "../util/store";
import { checkWorld, DEFAULT_WORLD, parseWorld, storedWorld, type World } from "../world/worlds";

export const SCALES = ["smoke", "default", "full"] as const;
export type Scale = (typeof SCALES)[number];
export const RUN_FORMAT = 1;

export interface EvalSchedule {
  /** Greedy evaluation on the first `testSize` test problems every `testEvery` steps (and at 0 and the end). */
  testSize: number;
  testEvery: number;
  /** avg@hardK at hardTemperature on the first `hardSize` hard problems, at 0 and the end. */
  hardSize: number;
  hardK: number;
  hardTemperature: number;
  /** Save a resumable state every this many steps. */
  saveEvery: number;
  /**
   * Greedy on the first `freshSize` fresh problems (never in any corpus) at 0 and the end: the
   * uncontaminated benchmark beside `test` (issue 12). Absent = not measured (every run stored
   * before it existed), so their names do not change.
   */
  freshSize?: number;
}

interface ScalePreset {
  grpo: Partial<GrpoConfig>;
  eval: EvalSchedule;
}

/** smoke: seconds, for tests. default: what the figures use. full: closer to the paper's step counts. */
export const SCALE_PRESETS: Record<Scale, ScalePreset> = {
  smoke: { grpo: { steps: 2, promptsPerStep: 4, samplesPerPrompt: 4, miniBatchSize: 8 }, eval: { testSize: 32, testEvery: 2, hardSize: 8, hardK: 2, hardTemperature: 0.6, saveEvery: 1 } },
  default: { grpo: { steps: 60 }, eval: { testSize: 500, testEvery: 10, hardSize: 200, hardK: 8, hardTemperature: 0.6, saveEvery: 5 } },
  full: { grpo: { steps: 200 }, eval: { testSize: 500, testEvery: 20, hardSize: 200, hardK: 8, hardTemperature: 0.6, saveEvery: 5 } },
};

export interface ExperimentSpec {
  family: string;
  reward: string;
  variant: Variant;
  seed: number;
  scale: Scale;
  /** GRPO settings that differ from the scale's preset (validated by name and type). */
  overrides: Partial<Record<keyof GrpoConfig, unknown>>;
  /** The world whose checkpoint the run starts from (default 1). */
  world: World;
  /** Also evaluate on `fresh` at the start and the end (default false): the split no corpus held. */
  fresh: boolean;
}

export interface ResolvedSpec {
  family: string;
  reward: string;
  variant: Variant;
  seed: number;
  scale: Scale;
  grpo: GrpoConfig;
  eval: EvalSchedule;
  /** Absent in runs stored before world versions existed (world 1); readRun fills it in. */
  world: World;
}

export interface EvalPoint {
  step: number;
  test: EvalSummary;
  hard?: EvalSummary;
  /** Greedy on `fresh`, at 0 and the end of a run that asks for it. */
  fresh?: EvalSummary;
}

/** Per-problem outcome on the test problems, compact: one character per problem. */
export interface RecordSet {
  step: number;
  /** "1" where the response contains "python". */
  code: string;
  /** "1" where the answer is correct. */
  correct: string;
  answers: (number | null)[];
  /** A few responses, for reading. */
  examples: { problem: string; response: string }[];
}

export interface RunResult {
  format: number;
  name: string;
  spec: ResolvedSpec;
  checkpointSha: string;
  codeVersion: string;
  backend: string;
  status: "partial" | "complete";
  metrics: StepMetrics[];
  evals: EvalPoint[];
  records: { initial: RecordSet | null; final: RecordSet | null };
  host: string;
  wallSeconds: number;
}

export function resolveSpec(spec: Partial<ExperimentSpec> & { family: string; reward: string }): ResolvedSpec {
  const known = ["family", "reward", "variant", "seed", "scale", "overrides", "world", "fresh"];
  for (const k of Object.keys(spec)) if (!known.includes(k)) throw new Error(`unknown experiment field "${k}"; valid: ${known.join(", ")}`);
  const fam = getFamily(spec.family);
  // One run name per reward: "random0.50" and "random00.5" are stored as "random0.5".
  const reward = canonicalReward(spec.reward);
  const variant = spec.variant ?? "gt";
  if (!(VARIANTS as readonly string[]).includes(variant)) throw new Error(`unknown dataset variant "${variant}"; valid: ${VARIANTS.join(", ")}`);
  const seed = spec.seed ?? 0;
  // Above 2^53 neighbouring integers share one double, so two seeds would share one run name.
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got ${seed}`);
  const scale = spec.scale ?? "default";
  if (!(SCALES as readonly string[]).includes(scale)) throw new Error(`unknown scale "${scale}"; valid: ${SCALES.join(", ")}`);
  const preset = SCALE_PRESETS[scale];
  const grpo = resolveGrpoConfig({ ...preset.grpo, ...(spec.overrides ?? {}) });
  const world = parseWorld(spec.world ?? DEFAULT_WORLD, "experiment field world");
  const notHere = familyNotInWorld(fam.id, world);
  if (notHere) throw new Error(notHere);
  if (spec.fresh !== undefined && typeof spec.fresh !== "boolean") throw new Error(`experiment field fresh must be true or false, got ${JSON.stringify(spec.fresh)}`);
  const evalSchedule = spec.fresh ? { ...preset.eval, freshSize: preset.eval.testSize } : preset.eval;
  return { family: fam.id, reward, variant, seed, scale, grpo, eval: evalSchedule, world };
}

function sha(data: string | Buffer): string {
  return crypto.createHash("sha256").update(data).digest("hex");
}

/** A hash of src/ (what computed a result), for provenance. */
export function codeVersion(): string {
  const dir = path.join(ROOT, "src");
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith(".ts")) files.push(path.join(d, e.name));
    }
  };
  walk(dir);
  return sha(files.map((f) => path.relative(dir, f) + "\n" + fs.readFileSync(f, "utf8")).join("\n")).slice(0, 12);
}

/** The resolved spec as run names hash it: knobs at their later-added defaults and world 1 left out (so v1's names stay). */
function hashedSpec(r: ResolvedSpec): object {
  const { world, ...rest } = r;
  return { ...rest, grpo: hashedGrpoConfig(r.grpo), ...(world === DEFAULT_WORLD ? {} : { world }) };
}

export function runName(r: ResolvedSpec): string {
  const hash = sha(JSON.stringify(hashedSpec(r)) + checkpointSha(checkpointPath(r.family, r.world), r.world)).slice(0, 10);
  return `${r.world === DEFAULT_WORLD ? "" : `w${r.world}-`}${r.family}-${r.reward}-${r.variant}-s${r.seed}-${r.scale}-${hash}`;
}

export function runPath(name: string): string {
  return path.join(runsDir(), `${name}.json`);
}

/** What to do with a damaged resume state: it only saves time, so the run can start over without it. */
const STATE_REMEDY = "move it away to restart the run from step 0";

/** The resumable state saved next to a run's JSON. */
function statePathOf(file: string): string {
  return `${file.replace(/\.json$/, "")}.state.ckpt`;
}

/** A stored result is missing and may not be computed (loadOnly). */
export class MissingRunError extends Error {}

/** Read a stored run; a corrupt file is an error naming it (never replaced). */
export function readRun(file: string): RunResult {
  const remedy = "move it away to recompute";
  let r: RunResult;
  try {
    r = readJson(file, remedy) as RunResult;
  } catch (e) {
    throw new Error(`run file ${(e as Error).message.replace(/ is not valid JSON/, " is corrupt")}`);
  }
  if (r === null || typeof r !== "object" || r.format !== RUN_FORMAT || !r.spec || !Array.isArray(r.metrics)) {
    throw new Error(`run file ${file} is not a run of format ${RUN_FORMAT} (it holds ${r === null ? "null" : typeof r !== "object" ? `a ${typeof r}` : Array.isArray(r) ? "an array" : `format ${r.format}`}); ${remedy}`);
  }
  r.spec.world = storedWorld(r.spec, `run file ${file}`);
  return r;
}

function toRecordSet(step: number, records: EvalRecord[]): RecordSet {
  return {
    step,
    code: records.map((r) => (r.code ? "1" : "0")).join(""),
    correct: records.map((r) => (r.correct ? "1" : "0")).join(""),
    answers: records.map((r) => r.answer),
    examples: records.slice(0, 4).map((r) => ({ problem: r.problem, response: r.response })),
  };
}

function evaluateAt(params: Params, r: ResolvedSpec, step: number, withHard: boolean, model: ModelConfig): { point: EvalPoint; records: EvalRecord[] } {
  const test: Problem[] = getSplit("test").slice(0, r.eval.testSize);
  const { summary, records } = evaluateGreedy(params, model, test);
  const point: EvalPoint = { step, test: summary };
  if (withHard) {
    point.hard = evaluateAvgAtK(params, model, getSplit("hard").slice(0, r.eval.hardSize), { k: r.eval.hardK, temperature: r.eval.hardTemperature, rng: makeRng(r.seed, "hard-eval", step) });
    if (r.eval.freshSize) point.fresh = evaluateGreedy(params, model, getSplit("fresh").slice(0, r.eval.freshSize)).summary;
  }
  return { point, records };
}

export interface RunOptions {
  quiet?: boolean;
  /** Never compute: a missing result is an error (for figure building from shipped results). */
  loadOnly?: boolean;
  /** Stop after this many steps (testing resumption); the state stays resumable. */
  stopAfter?: number;
}

/** Return the stored result of a spec, computing (or resuming) it when needed. */
export async function runOrLoad(spec: Partial<ExperimentSpec> & { family: string; reward: string }, opts: RunOptions = {}): Promise<RunResult> {
  const r = resolveSpec(spec);
  const name = runName(r);
  const file = runPath(name);
  const stored = loadComplete(file, r.world);
  if (stored) return stored;
  if (opts.loadOnly) throw new MissingRunError(`no stored result for ${name} (${file}); run it with npm run experiment or set the notebook's RECOMPUTE`);
  if (r.scale === "smoke" && path.resolve(runsDir()) === SHIPPED_RUNS) {
    throw new Error(`smoke-scale runs are not stored in the shipped ${SHIPPED_RUNS} (their numbers are meaningless); set SPURIOUS_RUNS to a scratch folder, e.g. SPURIOUS_RUNS=$(mktemp -d)`);
  }
  await initBackend({ quiet: opts.quiet });
  const release = await acquireLock(`${file}.lock`, { quiet: opts.quiet });
  try {
    const done = loadComplete(file, r.world);
    if (done) return done;
    // This run starts again: what an earlier, killed attempt left half-written goes first.
    removeDebris(path.dirname(file), name);
    return execute(r, name, file, opts);
  } finally {
    release();
  }
}

/**
 * The stored run when it is complete. A kill between its final write and the removal of the
 * resume state leaves that state (and the lock) behind: the complete JSON is authoritative, so
 * they are removed here.
 */
/** A run's stored result when it is complete, else null; reads the file once and changes nothing. */
export function storedRun(name: string): RunResult | null {
  return completeIn(runPath(name));
}

function completeIn(file: string): RunResult | null {
  if (!fs.existsSync(file)) return null;
  const stored = readRun(file);
  return stored.status === "complete" ? stored : null;
}

function loadComplete(file: string, world: World): RunResult | null {
  const stored = completeIn(file);
  if (!stored) return null;
  checkWorld(`run file ${file}`, stored.spec.world, world, "its name says another world than its spec; move it away to recompute");
  if (fs.existsSync(statePathOf(file)) || fs.existsSync(`${file}.lock`)) {
    fs.rmSync(statePathOf(file), { force: true });
    removeDebris(path.dirname(file), stored.name);
  }
  return stored;
}

/** The tensors a run holds, released on every way out: finished, stopped, or thrown midway. */
interface Held {
  base?: Params;
  params?: Params;
  opt?: AdamState;
  ref?: Params;
}

function execute(r: ResolvedSpec, name: string, file: string, opts: RunOptions): RunResult {
  const held: Held = {};
  try {
    return train(r, name, file, opts, held);
  } finally {
    for (const p of [held.base, held.params, held.ref]) if (p) disposeParams(p);
    if (held.opt) disposeAdam(held.opt);
  }
}

function train(r: ResolvedSpec, name: string, file: string, opts: RunOptions, held: Held): RunResult {
  const ckFile = checkpointPath(r.family, r.world);
  const statePath = statePathOf(file);
  const t0 = Date.now();
  let result: RunResult;
  const base = loadCheckpoint(ckFile, { world: r.world });
  held.base = base.params;
  const model = base.header.config;
  if (fs.existsSync(statePath)) {
    // The state file carries the run's record at the same step, in one atomic write, so a kill
    // between writing it and the run's JSON can never leave the two out of step.
    const st = loadCheckpoint(statePath, { withOptimizer: true, expectConfig: model, remedy: STATE_REMEDY });
    held.params = st.params;
    held.opt = st.optimizer ?? undefined;
    const saved = st.header.meta.result as RunResult | undefined;
    if (!saved || saved.name !== name || saved.metrics.length !== st.header.step || !st.optimizer) throw new Error(`resume state ${statePath} is not a state of ${name} at a consistent step; ${STATE_REMEDY}`);
    result = saved;
    if (!opts.quiet) console.error(`[run] resuming ${name} at step ${result.metrics.length}`);
  } else {
    if (fs.existsSync(file) && !opts.quiet) console.error(`[run] ${file} is a partial run without a resume state: starting it again`);
    held.params = cloneParams(base.params, true);
    held.opt = initAdam(held.params);
    result = {
      format: RUN_FORMAT, name, spec: r, checkpointSha: checkpointSha(ckFile, r.world), codeVersion: codeVersion(), backend: backendInfo().name,
      status: "partial", metrics: [], evals: [], records: { initial: null, final: null }, host: os.hostname(), wallSeconds: 0,
    };
  }
  const params = held.params;
  const opt = held.opt!;
  // The KL reference (klCoef > 0) and the start the drift diagnostics measure from.
  const ref = (held.ref = cloneParams(base.params, false));
  disposeParams(base.params);
  held.base = undefined;
  const dataset = buildDataset(r.variant, r.family, { smoke: r.scale === "smoke", world: r.world });
  if (dataset.length === 0) throw new Error(`dataset variant ${r.variant} of ${r.family} is empty`);
  const ctx = { config: r.grpo, model, dataset, reward: parseReward(r.reward), seed: r.seed, rng: makeRng(r.seed, "grpo"), ref };
  const wall0 = result.wallSeconds;
  const save = (step: number) => {
    result.wallSeconds = wall0 + (Date.now() - t0) / 1000;
    saveCheckpoint(statePath, params, { name, config: model, step, meta: { run: name, result }, metrics: {} }, opt);
    writeFileAtomic(file, JSON.stringify(result));
  };

  if (result.evals.length === 0) {
    const e = evaluateAt(params, r, 0, true, model);
    result.evals.push(e.point);
    result.records.initial = toRecordSet(0, e.records);
    save(0);
  }
  const total = r.grpo.steps;
  const progress = opts.quiet ? null : makeProgress(`[run ${r.family} ${r.reward} ${r.variant} s${r.seed}]`, total, { start: result.metrics.length, everySec: process.stderr.isTTY ? 0.2 : 5 });
  let stopped = 0;
  for (let step = result.metrics.length; step < total; step++) {
    const m = grpoStep(params, opt, ctx, step);
    result.metrics.push(m);
    const done = step + 1;
    if (done % r.eval.testEvery === 0 || done === total) {
      const e = evaluateAt(params, r, done, done === total, model);
      result.evals.push(e.point);
      if (done === total) result.records.final = toRecordSet(done, e.records);
    }
    const last = result.evals[result.evals.length - 1].test;
    progress?.tick(done, `reward ${m.rewardMean.toFixed(2)} | rollout acc ${(100 * m.accuracy).toFixed(1)}% | code ${(100 * m.codeFrequency).toFixed(0)}% | clip lo/hi ${(100 * m.clipLow).toFixed(2)}/${(100 * m.clipHigh).toFixed(2)}% | test acc ${last.accuracy.toFixed(1)}%`);
    if (done === total) break;
    if (done % r.eval.saveEvery === 0) save(done);
    if (opts.stopAfter !== undefined && ++stopped >= opts.stopAfter) {
      save(done);
      return result;
    }
  }
  result.status = "complete";
  result.wallSeconds = wall0 + (Date.now() - t0) / 1000;
  writeFileAtomic(file, JSON.stringify(result));
  fs.rmSync(statePath, { force: true });
  progress?.finish(`test acc ${result.evals[0].test.accuracy.toFixed(1)}% -> ${result.evals[result.evals.length - 1].test.accuracy.toFixed(1)}%`);
  return result;
}

/** Headline numbers of a run (the CLI's --json line). */
export function runSummary(run: RunResult) {
  const first = run.evals[0].test;
  const last = run.evals[run.evals.length - 1].test;
  return {
    name: run.name, family: run.spec.family, reward: run.spec.reward, variant: run.spec.variant, seed: run.spec.seed, scale: run.spec.scale,
    steps: run.metrics.length, status: run.status, backend: run.backend,
    initialAccuracy: first.accuracy, finalAccuracy: last.accuracy,
    initialCodeFrequency: first.codeFrequency, finalCodeFrequency: last.codeFrequency,
    initialHardAccuracy: run.evals[0].hard?.accuracy ?? null, finalHardAccuracy: run.evals[run.evals.length - 1].hard?.accuracy ?? null,
    meanClipLow: mean(run.metrics.map((m) => m.clipLow)), meanClipHigh: mean(run.metrics.map((m) => m.clipHigh)),
    wallSeconds: run.wallSeconds,
  };
}

function mean(xs: number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}
