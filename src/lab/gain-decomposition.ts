/**
 * Where a run's accuracy gain comes from: did the reasoning mode move, or did the arithmetic
 * within a mode get better or worse? (The regime study's question: drift moves p(code); diffusion
 * decays the answers within each mode.)
 *
 * Accuracy is a mixture, acc = p * accCode + (1 - p) * accLang, with p the share of code-mode
 * responses. Between a start (0) and an end (1), with bars for the midpoint of the two,
 *
 *   acc1 - acc0 = dp * (mean accCode - mean accLang)        mode shift
 *               + mean p * d accCode                        change within code mode
 *               + (1 - mean p) * d accLang                  change within language mode
 *
 * exactly (the midpoint split leaves no interaction term). A mode with no responses at one end
 * has no accuracy there; its weight at that end is 0, so any value keeps the identity, and the
 * other end's value is used (the mode's whole contribution counts as a mode shift). A mode absent
 * at both ends contributes nothing. Everything is in percentage points, as evaluations store it.
 */
import type { EvalSummary } from "./evaluate";

export interface GainDecomposition {
  /** End minus start accuracy (points). */
  total: number;
  modeShift: number;
  withinCode: number;
  withinLanguage: number;
  /** Code-mode share at start and end (0-100). */
  codeStart: number;
  codeEnd: number;
}

type ModeAccuracies = Pick<EvalSummary, "accuracy" | "codeFrequency" | "accuracyCode" | "accuracyLanguage">;

/** Fill a missing per-mode accuracy from the other end (0 when absent at both). */
function pair(a: number | null, b: number | null): [number, number] {
  return [a ?? b ?? 0, b ?? a ?? 0];
}

/** Decompose the change from `start` to `end` (two evaluation summaries of the same problems). */
export function decomposeGain(start: ModeAccuracies, end: ModeAccuracies): GainDecomposition {
  const p0 = start.codeFrequency / 100;
  const p1 = end.codeFrequency / 100;
  const [c0, c1] = pair(start.accuracyCode, end.accuracyCode);
  const [l0, l1] = pair(start.accuracyLanguage, end.accuracyLanguage);
  const pMid = (p0 + p1) / 2;
  return {
    total: end.accuracy - start.accuracy,
    modeShift: (p1 - p0) * ((c0 + c1) / 2 - (l0 + l1) / 2),
    withinCode: pMid * (c1 - c0),
    withinLanguage: (1 - pMid) * (l1 - l0),
    codeStart: start.codeFrequency,
    codeEnd: end.codeFrequency,
  };
}

/** A stored run's gain on the test problems, first evaluation to last. */
export function decomposeRunGain(run: { evals: readonly { test: ModeAccuracies }[] }): GainDecomposition {
  if (run.evals.length < 2) throw new Error(`a run needs two evaluations to decompose its gain, has ${run.evals.length}`);
  return decomposeGain(run.evals[0].test, run.evals[run.evals.length - 1].test);
}
