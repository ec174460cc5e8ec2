/**
 * Calibrating a family's priors to Table 1 before any RL (the only calibration the project does).
 *
 * Under greedy decoding a well-trained model follows the more likely branch of its corpus, so the
 * expected greedy table of a corpus spec can be predicted without training:
 *   a test problem is answered in code     iff p(code | topic) > 0.5
 *   its answer is wrong by a slip          iff p(slip | topic, mode) > 0.5
 *   otherwise it is right with probability capacity[mode], the accuracy the network reaches on
 *   clean traces of that mode (measured on the shared base, not assumed).
 * `calibrate` searches the logit means so that the prediction lands on the targets; the trained
 * family is then measured, and that measurement is what REPRODUCTION.md reports.
 */
import { behaviourOf, type CorpusSpec, type Table1Target } from "./families";
import { getSplit } from "./problems";
import type { Mode } from "./traces";

export interface Prediction {
  codeFrequency: number;
  accuracyCode: number | null;
  accuracyLanguage: number | null;
  accuracy: number;
}

/**
 * Greedy decisions flip at these probabilities. In principle 0.5; measured on the first trained
 * family (qwen-math-1.5b, first pass), the network wrote a slip only where p(slip) > about 0.6.
 */
export interface Thresholds {
  mode: number;
  slip: number;
}
export const DEFAULT_THRESHOLDS: Thresholds = { mode: 0.5, slip: 0.6 };

export function predictTable(corpus: CorpusSpec, capacity: Record<Mode, number>, th: Thresholds = DEFAULT_THRESHOLDS): Prediction {
  const b = behaviourOf(corpus);
  const test = getSplit("test");
  let nCode = 0, okCode = 0, okLang = 0;
  for (const p of test) {
    const mode: Mode = b.pCode(p) > th.mode ? "code" : "language";
    const ok = b.pSlip(p, mode) > th.slip ? 0 : capacity[mode];
    if (mode === "code") {
      nCode++;
      okCode += ok;
    } else okLang += ok;
  }
  const n = test.length;
  return {
    codeFrequency: (100 * nCode) / n,
    accuracyCode: nCode ? (100 * okCode) / nCode : null,
    accuracyLanguage: n - nCode ? (100 * okLang) / (n - nCode) : null,
    accuracy: (100 * (okCode + okLang)) / n,
  };
}

/** Grid-search mode.mean, slip.code.mean and slip.language.mean (spreads fixed) to fit the targets. */
export function calibrate(corpus: CorpusSpec, target: Table1Target, capacity: Record<Mode, number>): { corpus: CorpusSpec; prediction: Prediction; error: number } {
  const grid = (lo: number, hi: number, step: number) => Array.from({ length: Math.round((hi - lo) / step) + 1 }, (_, i) => lo + i * step);
  const noCode = target.codeFrequency === 0;
  let best = { corpus, prediction: predictTable(corpus, capacity), error: Infinity };
  const modeMeans = noCode ? [corpus.mode.mean] : grid(-4, 5, 0.05);
  // mode first (it alone sets code frequency), then each slip mean on its own
  for (const m of modeMeans) {
    const c = { ...corpus, mode: { ...corpus.mode, mean: m } };
    const e = Math.abs(predictTable(c, capacity).codeFrequency - target.codeFrequency);
    if (e < best.error) best = { corpus: c, prediction: predictTable(c, capacity), error: e };
  }
  for (const mode of ["code", "language"] as const) {
    const want = mode === "code" ? target.accuracyCode : target.accuracyLanguage;
    if (want === null) continue;
    let bestErr = Infinity;
    let bestCorpus = best.corpus;
    for (const s of grid(-5, 5, 0.05)) {
      const c = { ...best.corpus, slip: { ...best.corpus.slip, [mode]: { ...best.corpus.slip[mode], mean: s } } };
      const p = predictTable(c, capacity);
      const got = mode === "code" ? p.accuracyCode : p.accuracyLanguage;
      if (got === null) continue;
      const e = Math.abs(got - want);
      if (e < bestErr - 1e-9) {
        bestErr = e;
        bestCorpus = c;
      }
    }
    best = { ...best, corpus: bestCorpus };
  }
  const prediction = predictTable(best.corpus, capacity);
  const error = Math.max(
    Math.abs(prediction.codeFrequency - target.codeFrequency),
    target.accuracyCode === null || prediction.accuracyCode === null ? 0 : Math.abs(prediction.accuracyCode - target.accuracyCode),
    prediction.accuracyLanguage === null ? 0 : Math.abs(prediction.accuracyLanguage - target.accuracyLanguage),
  );
  return { corpus: best.corpus, prediction, error };
}

/** A Table 1 row's cells as predicted or measured (world 1's or world 2's prediction, or an evaluation). */
export interface RowCells {
  codeFrequency: number;
  accuracyCode: number | null;
  accuracyLanguage: number | null;
}

/** A measured row with the responses behind each accuracy (an evaluation's summary). */
export interface MeasuredRow extends RowCells {
  nCode: number;
  nLanguage: number;
}

/** The tolerance: 5 points per cell, 10 where fewer than this many responses back an accuracy. */
export const ROW_TOLERANCE = { points: 5, fewResponses: 40, pointsFew: 10 };

/**
 * Whether a measured row lands on the paper's: every cell within 5 points (10 where fewer than 40
 * responses back it). `off` names the cells that miss, with the gap and the tolerance.
 */
export function rowWithinTolerance(target: Table1Target, m: MeasuredRow): { ok: boolean; off: string[] } {
  const off: string[] = [];
  const check = (name: string, want: number | null, got: number | null, n: number) => {
    if (want === null || got === null) return;
    const tol = n < ROW_TOLERANCE.fewResponses ? ROW_TOLERANCE.pointsFew : ROW_TOLERANCE.points;
    const gap = got - want;
    if (Math.abs(gap) > tol) off.push(`${name} ${got.toFixed(1)} vs ${want.toFixed(1)} (${gap > 0 ? "+" : ""}${gap.toFixed(1)}, tolerance ${tol})`);
  };
  check("code frequency", target.codeFrequency, m.codeFrequency, Infinity);
  check("acc. code", target.accuracyCode, m.accuracyCode, m.nCode);
  check("acc. language", target.accuracyLanguage, m.accuracyLanguage, m.nLanguage);
  return { ok: off.length === 0, off };
}

/**
 * The second pass's target (both worlds): the network does not follow its corpus exactly, so aim
 * off by the gap between the measured and the predicted row of the current means. A family
 * without code keeps a code frequency of 0.
 */
export function shiftedTarget(target: Table1Target, measured: RowCells, predicted: RowCells): Table1Target {
  const shift = (want: number | null, got: number | null, pred: number | null) => (want === null || got === null || pred === null ? want : want - (got - pred));
  return {
    ...target,
    codeFrequency: target.codeFrequency === 0 ? 0 : shift(target.codeFrequency, measured.codeFrequency, predicted.codeFrequency)!,
    accuracyCode: shift(target.accuracyCode, measured.accuracyCode, predicted.accuracyCode),
    accuracyLanguage: shift(target.accuracyLanguage, measured.accuracyLanguage, predicted.accuracyLanguage)!,
  };
}

/** "code/acc code/acc language" of a row, for one-line reports. */
export const rowText = (r: RowCells) => `${r.codeFrequency.toFixed(1)}/${r.accuracyCode?.toFixed(1) ?? "-"}/${r.accuracyLanguage?.toFixed(1) ?? "-"}`;
