/**
 * Issue 12's pre-registered rules as code (data/investigations/README.md: v2-contamination and
 * v2-algorithms; written before their runs). Pure functions of stored runs; notebook 07 prints them.
 *
 * Per run: the gain on `test` and on `fresh` (final greedy accuracy − initial), and window means over
 * the first and last WINDOW steps of the policy's p(code) at the first response token and of the
 * rollouts' per-token entropy (single steps are noisy: session 7 read entropy from single steps once
 * and had to correct it).
 */
import type { AlgorithmName } from "../rl/grpo";
import { mean } from "./analysis";
import type { RunResult } from "./experiments";
import { CONTAMINATION_FAMILIES, FIG1_REWARDS } from "./plans";

/** Steps averaged at each end of a run for p(code) and entropy drift. */
export const WINDOW = 10;

const first = (r: RunResult) => r.evals[0];
const last = (r: RunResult) => r.evals[r.evals.length - 1];

export function testGain(r: RunResult): number {
  return last(r).test.accuracy - first(r).test.accuracy;
}

/** The gain on `fresh`; an error naming the run when it was not evaluated there. */
export function freshGain(r: RunResult): number {
  const a = first(r).fresh;
  const b = last(r).fresh;
  if (!a || !b) throw new Error(`run ${r.name} was not evaluated on fresh (its spec needs fresh: true)`);
  return b.accuracy - a.accuracy;
}

/** Mean of a per-step metric over the last WINDOW steps minus the first WINDOW (a run shorter than 2 × WINDOW, e.g. smoke scale: its halves). */
export function drift(r: RunResult, metric: (m: RunResult["metrics"][number]) => number): number {
  const xs = r.metrics.map(metric);
  if (xs.length < 2) throw new Error(`run ${r.name} has ${xs.length} steps; drift needs at least 2`);
  const w = Math.min(WINDOW, Math.floor(xs.length / 2));
  return mean(xs.slice(-w)) - mean(xs.slice(0, w));
}

export const pCodeDrift = (r: RunResult) => drift(r, (m) => m.codeProb);
export const entropyDrift = (r: RunResult) => drift(r, (m) => m.entropy);
/** Greedy code frequency on test, end minus start (points). */
export const codeShift = (r: RunResult) => last(r).test.codeFrequency - first(r).test.codeFrequency;

const atLeastTwoOfThree = (xs: readonly boolean[]) => xs.filter(Boolean).length >= Math.min(2, xs.length);

// ---------------------------------------------------------------------------------------------
// v2-contamination

export interface ContaminationCell {
  family: string;
  testGains: number[];
  freshGains: number[];
  /** test gain − fresh gain per seed. */
  gaps: number[];
  codeShifts: number[];
  entropyDrifts: number[];
}

export function contaminationCell(runs: readonly RunResult[]): ContaminationCell {
  return {
    family: runs[0].spec.family,
    testGains: runs.map(testGain),
    freshGains: runs.map(freshGain),
    gaps: runs.map((r) => testGain(r) - freshGain(r)),
    codeShifts: runs.map(codeShift),
    entropyDrifts: runs.map(entropyDrift),
  };
}

export interface ContaminationVerdict {
  /** C: the contaminated family gains more on test than on fresh, beyond the clean family's gap. */
  surfaces: boolean;
  /** C, and that surfacing is a gain on test the fresh split does not share. */
  explainsGain: boolean;
  /** D: both families gain on both splits with code frequency up. */
  drift: boolean;
  /** F: both families lose on both splits with entropy up. */
  diffusion: boolean;
}

/** The rule for one reward in one regime (the cells hold the runs of each family, seeds paired). */
export function contaminationVerdict(clean: ContaminationCell, dirty: ContaminationCell): ContaminationVerdict {
  const cleanGap = mean(clean.gaps);
  const surfaces = mean(dirty.gaps) >= 3 && mean(dirty.gaps) - cleanGap >= 3 && atLeastTwoOfThree(dirty.gaps.map((g) => g > cleanGap));
  const explainsGain = surfaces && atLeastTwoOfThree(dirty.testGains.map((g) => g > 0)) && atLeastTwoOfThree(dirty.freshGains.map((g) => g <= 0));
  const both = (pred: (c: ContaminationCell, i: number) => boolean) => [clean, dirty].every((c) => atLeastTwoOfThree(c.testGains.map((_, i) => pred(c, i))));
  return {
    surfaces,
    explainsGain,
    drift: both((c, i) => c.testGains[i] > 0 && c.freshGains[i] > 0 && c.codeShifts[i] > 0),
    diffusion: both((c, i) => c.testGains[i] < 0 && c.freshGains[i] < 0) && [clean, dirty].every((c) => atLeastTwoOfThree(c.entropyDrifts.map((e) => e > 0))),
  };
}

/** The verdict of every reward both families ran, in FIG1_REWARDS order (runs of one regime). */
export function contaminationVerdicts(runs: readonly RunResult[]): { reward: string; verdict: ContaminationVerdict }[] {
  return FIG1_REWARDS.flatMap((w) => {
    const [clean, dirty] = CONTAMINATION_FAMILIES.map((f) => runs.filter((x) => x.spec.family === f && x.spec.reward === w.reward && x.spec.variant === w.variant));
    return clean.length && dirty.length ? [{ reward: w.label, verdict: contaminationVerdict(contaminationCell(clean), contaminationCell(dirty)) }] : [];
  });
}

// ---------------------------------------------------------------------------------------------
// v2-algorithms

/** The algorithm a run used ("grpo" for runs stored before algorithms were named). */
export function algorithmOf(r: RunResult): AlgorithmName {
  return (r.spec.grpo.algorithm as AlgorithmName | undefined) ?? "grpo";
}

/** p(code) must rise at least this much (window means) for a run to count as drifting toward code. */
export const P_CODE_RISE = 0.05;

export type AlgorithmClass = "amplifies" | "drifts without paying" | "diffuses" | "mixed";

export interface AlgorithmCell {
  gains: number[];
  pCodeDrifts: number[];
  entropyDrifts: number[];
  codeShifts: number[];
  verdict: AlgorithmClass;
}

export function algorithmCell(runs: readonly RunResult[]): AlgorithmCell {
  const gains = runs.map(testGain);
  const pCodeDrifts = runs.map(pCodeDrift);
  const rises = pCodeDrifts.map((d) => d >= P_CODE_RISE);
  let verdict: AlgorithmClass = "mixed";
  if (atLeastTwoOfThree(gains.map((g, i) => g > 0 && rises[i]))) verdict = "amplifies";
  else if (atLeastTwoOfThree(rises) && atLeastTwoOfThree(gains.map((g) => g <= 0))) verdict = "drifts without paying";
  else if (atLeastTwoOfThree(gains.map((g) => g < 0)) && atLeastTwoOfThree(rises.map((x) => !x))) verdict = "diffuses";
  return { gains, pCodeDrifts, entropyDrifts: runs.map(entropyDrift), codeShifts: runs.map(codeShift), verdict };
}
