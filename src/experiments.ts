/**
 * Experiments: a typed spec in, one stored result out.
 *
 * `runOrLoad(spec)` returns the stored result for the spec or runs it. Results live in
 * data/runs/<family>-<reward>-<variant>-s<seed>-<scale>-<hash>.json, the hash covering the fully
 * resolved spec and the starting checkpoint's bytes, so a retrained family never reuses stale runs.
 * A run saves a resumable state every few steps; killed and started again it ends with the same
 * numbers (all randomness is keyed by step). Writes are atomic; a lock file keeps two processes
 * from computing the same run at once; a corrupt run file is reported by name and left alone.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeFileAtomic } from "./atomic";
import { backendInfo, initBackend } from "./backend";
import { checkpointSha, loadCheckpoint, saveCheckpoint } from "./checkpoint";
import { buildDataset, VARIANTS, type Variant } from "./datasets";
import { evaluateAvgAtK, evaluateGreedy, type EvalRecord, type EvalSummary } from "./evaluate";
import { getFamily } from "./families";
import { grpoStep, hashedGrpoConfig, resolveGrpoConfig, type GrpoConfig, type StepMetrics } from "./grpo";
import { cloneParams, disposeParams, type ModelConfig, type Params } from "./model";
import { disposeAdam, initAdam } from "./optim";
import { checkpointPath, ROOT, runsDir } from "./paths";
import { getSplit, type Problem } from "./problems";
import { makeProgress } from "./progress";
import { parseReward } from "./rewards";
import { makeRng } from "./rng";

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
}

export interface ResolvedSpec {
  family: string;
  reward: string;
  variant: Variant;
  seed: number;
  scale: Scale;
  grpo: GrpoConfig;
  eval: EvalSchedule;
}

export interface EvalPoint {
  step: number;
  test: EvalSummary;
  hard?: EvalSummary;
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
  const known = ["family", "reward", "variant", "seed", "scale", "overrides"];
  for (const k of Object.keys(spec)) if (!known.includes(k)) throw new Error(`unknown experiment field "${k}"; valid: ${known.join(", ")}`);
  const fam = getFamily(spec.family);
  parseReward(spec.reward);
  const variant = spec.variant ?? "gt";
  if (!(VARIANTS as readonly string[]).includes(variant)) throw new Error(`unknown dataset variant "${variant}"; valid: ${VARIANTS.join(", ")}`);
  const seed = spec.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer, got ${seed}`);
  const scale = spec.scale ?? "default";
  if (!(SCALES as readonly string[]).includes(scale)) throw new Error(`unknown scale "${scale}"; valid: ${SCALES.join(", ")}`);
  const preset = SCALE_PRESETS[scale];
  const grpo = resolveGrpoConfig({ ...preset.grpo, ...(spec.overrides ?? {}) });
  return { family: fam.id, reward: spec.reward, variant, seed, scale, grpo, eval: preset.eval };
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

export function runName(r: ResolvedSpec): string {
  const hash = sha(JSON.stringify({ ...r, grpo: hashedGrpoConfig(r.grpo) }) + checkpointSha(checkpointPath(r.family))).slice(0, 10);
  return `${r.family}-${r.reward}-${r.variant}-s${r.seed}-${r.scale}-${hash}`;
}

export function runPath(name: string): string {
  return path.join(runsDir(), `${name}.json`);
}

/** Read a stored run; a corrupt file is an error naming it (never replaced). */
export function readRun(file: string): RunResult {
  let r: RunResult;
  try {
    r = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`run file ${file} is corrupt (${(e as Error).message}); move it away to recompute`);
  }
  if (r.format !== RUN_FORMAT || !r.spec || !Array.isArray(r.metrics)) throw new Error(`run file ${file} is not a run of format ${RUN_FORMAT}`);
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
  }
  return { point, records };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Take the run's lock, or wait while a live process holds it. Returns a release function. */
async function acquireLock(lock: string, quiet: boolean): Promise<() => void> {
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const me = JSON.stringify({ pid: process.pid, host: os.hostname() });
  let warned = false;
  for (;;) {
    try {
      const fd = fs.openSync(lock, "wx");
      fs.writeSync(fd, me);
      fs.closeSync(fd);
      // Release only a lock that is still ours.
      return () => {
        try {
          if (fs.readFileSync(lock, "utf8") === me) fs.rmSync(lock, { force: true });
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let holder: { pid: number; host: string } | null = null;
      try {
        holder = JSON.parse(fs.readFileSync(lock, "utf8"));
      } catch {
        holder = null;
      }
      if (holder && holder.host === os.hostname() && !isAlive(holder.pid)) {
        // Break a stale lock by renaming it away: of two waiters only one rename succeeds, so
        // neither can delete a lock the other has just taken.
        try {
          fs.renameSync(lock, `${lock}.stale-${process.pid}`);
          fs.rmSync(`${lock}.stale-${process.pid}`, { force: true });
        } catch {
          /* someone else broke it first */
        }
        continue;
      }
      if (!warned && !quiet) console.error(`[run] ${path.basename(lock)} is held by pid ${holder?.pid}; waiting for it`);
      warned = true;
      await new Promise((res) => setTimeout(res, 2000));
    }
  }
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
  if (fs.existsSync(file)) {
    const stored = readRun(file);
    if (stored.status === "complete") return stored;
  }
  if (opts.loadOnly) throw new Error(`no stored result for ${name} (${file}); run it with npm run experiment or set the notebook's RECOMPUTE`);
  await initBackend({ quiet: opts.quiet });
  const release = await acquireLock(`${file}.lock`, !!opts.quiet);
  try {
    if (fs.existsSync(file)) {
      const stored = readRun(file);
      if (stored.status === "complete") return stored;
    }
    return execute(r, name, file, opts);
  } finally {
    release();
  }
}

function execute(r: ResolvedSpec, name: string, file: string, opts: RunOptions): RunResult {
  const ckFile = checkpointPath(r.family);
  const statePath = `${file.replace(/\.json$/, "")}.state.ckpt`;
  const t0 = Date.now();
  let result: RunResult;
  let params: Params;
  let opt;
  const base = loadCheckpoint(ckFile);
  const model = base.header.config;
  if (fs.existsSync(statePath)) {
    // The state file carries the run's record at the same step, in one atomic write, so a kill
    // between writing it and the run's JSON can never leave the two out of step.
    const st = loadCheckpoint(statePath, { withOptimizer: true, expectConfig: model });
    const saved = st.header.meta.result as RunResult | undefined;
    if (!saved || saved.name !== name || saved.metrics.length !== st.header.step || !st.optimizer) throw new Error(`resume state ${statePath} is not a state of ${name} at a consistent step; move it away to restart`);
    result = saved;
    params = st.params;
    opt = st.optimizer;
    if (!opts.quiet) console.error(`[run] resuming ${name} at step ${result.metrics.length}`);
  } else {
    if (fs.existsSync(file) && !opts.quiet) console.error(`[run] ${file} is a partial run without a resume state: starting it again`);
    params = cloneParams(base.params, true);
    opt = initAdam(params);
    result = {
      format: RUN_FORMAT, name, spec: r, checkpointSha: checkpointSha(ckFile), codeVersion: codeVersion(), backend: backendInfo().name,
      status: "partial", metrics: [], evals: [], records: { initial: null, final: null }, host: os.hostname(), wallSeconds: 0,
    };
  }
  const ref = cloneParams(base.params, false); // the KL reference (klCoef > 0) and the start the drift diagnostics measure from
  disposeParams(base.params);
  const dataset = buildDataset(r.variant, r.family, { smoke: r.scale === "smoke" });
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
      disposeParams(params);
      disposeAdam(opt);
      if (ref) disposeParams(ref);
      return result;
    }
  }
  result.status = "complete";
  result.wallSeconds = wall0 + (Date.now() - t0) / 1000;
  writeFileAtomic(file, JSON.stringify(result));
  fs.rmSync(statePath, { force: true });
  progress?.finish(`test acc ${result.evals[0].test.accuracy.toFixed(1)}% -> ${result.evals[result.evals.length - 1].test.accuracy.toFixed(1)}%`);
  disposeParams(params);
  disposeAdam(opt);
  if (ref) disposeParams(ref);
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
