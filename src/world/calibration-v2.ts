/**
 * World 2's calibration (issue 11; the plan is the doc comment of corpus-v2.ts, steps 2-3): predict
 * a family's greedy Table 1 row from its corpus spec and a measured capacity table, and fit the
 * corpus's logit means to the paper's row. Pure: no model, no files.
 *
 * The capacity table (measured on a shared v2 base by src/lab/capacity.ts) says, per mode, step size
 * and number of operations k of a `test` problem, how often the base's free-running greedy answer is
 * right when its first written step is forced at that size (and, as a diagnostic, how often that
 * first value is). A step size larger than k writes the same text as size k, so cells exist for
 * size <= k only.
 *
 * The prediction follows world 1's (calibration.ts): a well-trained network follows each problem's
 * more likely branch of its corpus. A greedy response is written token by token, so the branches
 * are the decisions the tokens make, in order:
 *   mode        the first token: code iff p(code | problem) > th.mode
 *   step size   the token after the first operation closes the step (size 1) or writes the next
 *               operator: size 1 iff p(1) > th.size; else, when a third operation exists, the token
 *               after the second: size 2 iff p(2) / (p(2) + p(3)) > th.size, else size 3
 * (so p = 0.4 / 0.35 / 0.25 writes size 2, not the single likeliest size 1), and the problem is right
 * with the capacity of its (mode, size, k) cell. The fit searches mode.mean for the code frequency,
 * then, per mode, the two means steps[mode].two / .three for the mode's accuracy; among the grid
 * points whose error is within `tolerance` of the best, the one nearest the starting means wins, so
 * a spec's hand-set character (e.g. "bad code" of mostly two-operation statements) moves as little
 * as the target allows. Spreads, formats and slips are never fitted.
 */
import { behaviourOfV2, STEP_SIZES, type CorpusSpecV2, type StepSize } from "./corpus-v2";
import type { Table1Target } from "./families";
import { getSplit, type Problem } from "./problems";
import { MODES, type Mode } from "./traces";

export interface CapacityCell {
  mode: Mode;
  /** Operations the forced first step combines (at most `ops`). */
  size: StepSize;
  /** Operations of the problems in this cell. */
  ops: number;
  /** Problems measured. */
  n: number;
  /** Percent of final answers right, free-running greedy after the forced first step. */
  accuracy: number;
  /** Percent of first written values right (src/lab/step-probe.ts), a diagnostic. */
  firstStep: number;
}

export interface CapacityTable {
  cells: CapacityCell[];
}

/** The capacity (0..1) of a mode at a step size on a k-operation problem; a missing cell is an error naming it. */
export function capacityOf(table: CapacityTable, mode: Mode, size: StepSize, ops: number): number {
  const eff = Math.min(size, ops);
  const cell = table.cells.find((c) => c.mode === mode && c.size === eff && c.ops === ops);
  if (!cell || cell.n === 0) throw new Error(`capacity table: no measured cell for ${mode} mode, step size ${eff}, ${ops}-operation problems; measure it with npm run calibrate -- --world 2 on all test problems`);
  return cell.accuracy / 100;
}

/** Greedy decisions flip at these probabilities (0.5: the more likely token). */
export interface ThresholdsV2 {
  mode: number;
  size: number;
}
export const DEFAULT_THRESHOLDS_V2: ThresholdsV2 = { mode: 0.5, size: 0.5 };

/** The step size greedy decoding writes, given p(size 1, 2, 3) and the problem's operation count. */
export function greedySize(probs: readonly [number, number, number], ops: number, th: ThresholdsV2 = DEFAULT_THRESHOLDS_V2): StepSize {
  const [p1, p2, p3] = probs;
  if (ops < 2 || p1 > th.size) return 1;
  if (ops < 3 || p2 / (p2 + p3) > th.size) return 2;
  return 3;
}

export interface PredictionV2 {
  codeFrequency: number;
  accuracyCode: number | null;
  accuracyLanguage: number | null;
  accuracy: number;
  /** Accuracy with the mode forced on every problem (Table 3's "use python" for code), null when the corpus never writes that mode. */
  forced: Record<Mode, number | null>;
  /** Percent of the mode's problems greedy writes at step size 1, 2, 3 (sizes as decided, before capping at k). */
  sizeShares: Record<Mode, [number, number, number]>;
}

/**
 * Per-problem logits with every mean at 0 (the topic and operand effects alone), so that a logit
 * for any means is mean + offset: the fit moves only the means, and reads behaviourOfV2 once.
 */
interface Offsets {
  mode: number[];
  two: Record<Mode, number[]>;
  three: Record<Mode, number[]>;
}

const ZERO_MEANS = (c: CorpusSpecV2): CorpusSpecV2 => {
  const z = (l: CorpusSpecV2["mode"]) => ({ ...l, mean: 0 });
  return { ...c, mode: z(c.mode), steps: { code: { two: z(c.steps.code.two), three: z(c.steps.code.three) }, language: { two: z(c.steps.language.two), three: z(c.steps.language.three) } } };
};

function offsetsOf(corpus: CorpusSpecV2, problems: readonly Problem[]): Offsets {
  const b = behaviourOfV2(ZERO_MEANS(corpus));
  const logit = (p: number) => Math.log(p / (1 - p));
  const two = { code: [] as number[], language: [] as number[] };
  const three = { code: [] as number[], language: [] as number[] };
  for (const p of problems) for (const m of MODES) {
    const [p1, p2, p3] = b.stepProbs(p, m);
    two[m].push(Math.log(p2 / p1));
    three[m].push(Math.log(p3 / p1));
  }
  return { mode: problems.map((p) => logit(b.pCode(p))), two, three };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function stepProbs(c: CorpusSpecV2, o: Offsets, m: Mode, i: number): [number, number, number] {
  const e2 = Math.exp(c.steps[m].two.mean + o.two[m][i]);
  const e3 = Math.exp(c.steps[m].three.mean + o.three[m][i]);
  const z = 1 + e2 + e3;
  return [1 / z, e2 / z, e3 / z];
}

function predictWith(c: CorpusSpecV2, o: Offsets, problems: readonly Problem[], capacity: CapacityTable, th: ThresholdsV2): PredictionV2 {
  const ok: Record<Mode, number> = { code: 0, language: 0 };
  const n: Record<Mode, number> = { code: 0, language: 0 };
  const forcedOk: Record<Mode, number> = { code: 0, language: 0 };
  const shares: Record<Mode, [number, number, number]> = { code: [0, 0, 0], language: [0, 0, 0] };
  const writes: Record<Mode, boolean> = { code: false, language: false };
  problems.forEach((p, i) => {
    const pCode = sigmoid(c.mode.mean + o.mode[i]);
    // a mode the corpus (almost) never writes has no habits of its own to predict from
    if (pCode > 1e-3) writes.code = true;
    if (pCode < 1 - 1e-3) writes.language = true;
    const mode: Mode = pCode > th.mode ? "code" : "language";
    for (const m of MODES) {
      const size = greedySize(stepProbs(c, o, m, i), p.ops.length, th);
      const cap = capacityOf(capacity, m, size, p.ops.length);
      forcedOk[m] += cap;
      if (m === mode) {
        n[m]++;
        ok[m] += cap;
        shares[m][size - 1]++;
      }
    }
  });
  const pct = (a: number, b: number) => (b === 0 ? null : (100 * a) / b);
  const total = problems.length;
  return {
    codeFrequency: pct(n.code, total)!,
    accuracyCode: pct(ok.code, n.code),
    accuracyLanguage: pct(ok.language, n.language),
    accuracy: pct(ok.code + ok.language, total)!,
    forced: { code: writes.code ? pct(forcedOk.code, total) : null, language: writes.language ? pct(forcedOk.language, total) : null },
    sizeShares: { code: shares.code.map((x) => pct(x, n.code) ?? 0) as [number, number, number], language: shares.language.map((x) => pct(x, n.language) ?? 0) as [number, number, number] },
  };
}

/** The predicted greedy Table 1 row of a world-2 corpus on `problems` (default: the test split). */
export function predictTableV2(corpus: CorpusSpecV2, capacity: CapacityTable, problems: readonly Problem[] = getSplit("test"), th: ThresholdsV2 = DEFAULT_THRESHOLDS_V2): PredictionV2 {
  return predictWith(corpus, offsetsOf(corpus, problems), problems, capacity, th);
}

export interface FitOptionsV2 {
  problems?: readonly Problem[];
  th?: ThresholdsV2;
  /** Range and step of the means searched (logits). */
  grid?: { lo: number; hi: number; step: number };
  /** Points whose error is within this many percentage points of the best count as equally good. */
  tolerance?: number;
  /**
   * Which parts to fit (default all): the mode mean, and each mode's step means. A part left out keeps
   * the spec's means (a second pass leaves a measured cell that is already close alone: refitting a
   * mode whose accuracy barely depends on its step sizes would change its character for nothing).
   */
  fit?: FitParts;
}

export interface FitParts {
  mode: boolean;
  code: boolean;
  language: boolean;
}

/** A second pass refits only the cells measured more than this many points off the paper's row. */
export const REFIT_THRESHOLD = 3;

/**
 * The parts a second pass refits: the mode mean when the measured code frequency is more than
 * REFIT_THRESHOLD points off the target, a mode's step means when its accuracy is.
 */
export function refitParts(target: Table1Target, measured: { codeFrequency: number; accuracyCode: number | null; accuracyLanguage: number | null }): FitParts {
  const off = (want: number | null, got: number | null) => want !== null && got !== null && Math.abs(want - got) > REFIT_THRESHOLD;
  return { mode: off(target.codeFrequency, measured.codeFrequency), code: off(target.accuracyCode, measured.accuracyCode), language: off(target.accuracyLanguage, measured.accuracyLanguage) };
}

export interface FitV2 {
  corpus: CorpusSpecV2;
  prediction: PredictionV2;
  /** Largest |predicted - target| over code frequency and the per-mode accuracies (points). */
  error: number;
  /** Per mode, the lowest and highest accuracy any searched means reach (null: the mode has no target or no problems). */
  reachable: Record<Mode, [number, number] | null>;
}

export const DEFAULT_FIT_GRID = { lo: -8, hi: 8, step: 0.1 };

/** The largest gap between a prediction and a Table 1 row, over the cells the row has. */
export function rowError(p: { codeFrequency: number; accuracyCode: number | null; accuracyLanguage: number | null }, t: Table1Target): number {
  const gap = (a: number | null, b: number | null) => (a === null || b === null ? 0 : Math.abs(a - b));
  return Math.max(gap(p.codeFrequency, t.codeFrequency), gap(p.accuracyCode, t.accuracyCode), gap(p.accuracyLanguage, t.accuracyLanguage));
}

/** Fit mode.mean, then steps[mode].two/.three per mode, to the target row (see the module comment). */
export function calibrateV2(corpus: CorpusSpecV2, target: Table1Target, capacity: CapacityTable, opts: FitOptionsV2 = {}): FitV2 {
  const problems = opts.problems ?? getSplit("test");
  const th = opts.th ?? DEFAULT_THRESHOLDS_V2;
  const g = opts.grid ?? DEFAULT_FIT_GRID;
  const tol = opts.tolerance ?? 0.25;
  const o = offsetsOf(corpus, problems);
  const grid = Array.from({ length: Math.round((g.hi - g.lo) / g.step) + 1 }, (_, i) => +(g.lo + i * g.step).toFixed(6));
  const predict = (c: CorpusSpecV2) => predictWith(c, o, problems, capacity, th);

  /** The candidate with the least error, ties (within tol) going to the one nearest the start; the start itself is a candidate. */
  function best<T>(candidates: T[], error: (x: T) => number, distance: (x: T) => number): T {
    const errs = candidates.map(error);
    const min = Math.min(...errs);
    let pick = -1;
    candidates.forEach((x, i) => {
      if (errs[i] <= min + tol && (pick < 0 || distance(x) < distance(candidates[pick]))) pick = i;
    });
    return candidates[pick];
  }

  const parts = opts.fit ?? { mode: true, code: true, language: true };
  let c = corpus;
  if (target.codeFrequency > 0 && parts.mode) {
    const m = best([corpus.mode.mean, ...grid], (x) => Math.abs(predictWith({ ...c, mode: { ...c.mode, mean: x } }, o, problems, capacity, th).codeFrequency - target.codeFrequency), (x) => Math.abs(x - corpus.mode.mean));
    c = { ...c, mode: { ...c.mode, mean: m } };
  }
  const reachable: FitV2["reachable"] = { code: null, language: null };
  const inMode = predict(c);
  for (const mode of MODES) {
    const want = mode === "code" ? target.accuracyCode : target.accuracyLanguage;
    const has = mode === "code" ? inMode.accuracyCode : inMode.accuracyLanguage;
    if (want === null || has === null) continue;
    const start: [number, number] = [corpus.steps[mode].two.mean, corpus.steps[mode].three.mean];
    const points: [number, number][] = [start];
    for (const a of grid) for (const b of grid) points.push([a, b]);
    // the mode's accuracy at means (a, b), read off precomputed per-problem capacities (the grid has ~26,000 points)
    const idx = problems.map((p, i) => i).filter((i) => (sigmoid(c.mode.mean + o.mode[i]) > th.mode) === (mode === "code"));
    const caps = idx.map((i) => STEP_SIZES.map((s) => capacityOf(capacity, mode, s, problems[i].ops.length)));
    const accAt = ([a, b]: [number, number]) => {
      let sum = 0;
      idx.forEach((i, j) => {
        const e2 = Math.exp(a + o.two[mode][i]), e3 = Math.exp(b + o.three[mode][i]);
        sum += caps[j][greedySize([1 / (1 + e2 + e3), e2 / (1 + e2 + e3), e3 / (1 + e2 + e3)], problems[i].ops.length, th) - 1];
      });
      return (100 * sum) / idx.length;
    };
    const acc = points.map(accAt);
    reachable[mode] = [Math.min(...acc), Math.max(...acc)];
    if (!parts[mode]) continue;
    const pick = best(points.map((pt, i) => ({ pt, acc: acc[i] })), (x) => Math.abs(x.acc - want), (x) => Math.hypot(x.pt[0] - start[0], x.pt[1] - start[1]));
    c = { ...c, steps: { ...c.steps, [mode]: { two: { ...c.steps[mode].two, mean: pick.pt[0] }, three: { ...c.steps[mode].three, mean: pick.pt[1] } } } };
  }
  const prediction = predict(c);
  return { corpus: c, prediction, error: rowError(prediction, target), reachable };
}
