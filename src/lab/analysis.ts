/**
 * Numbers derived from stored runs: gains across seeds, smoothed curves, and the paper's strategy
 * transition analysis (Table 2 / Fig. 7). Pure functions over RunResult records.
 */
import type { RunResult } from "./experiments";
import { hashedGrpoConfig } from "../rl/grpo";

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1); 0 for a single value. */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** Trailing moving average over `window` points (the paper smooths curves over 10 steps). */
export function smooth(xs: readonly number[], window: number): number[] {
  return xs.map((_, i) => mean(xs.slice(Math.max(0, i - window + 1), i + 1)));
}

export const initialAccuracy = (r: RunResult) => r.evals[0].test.accuracy;
export const finalAccuracy = (r: RunResult) => r.evals[r.evals.length - 1].test.accuracy;
export const gain = (r: RunResult) => finalAccuracy(r) - initialAccuracy(r);

/** Runs of one condition (same world, family, reward, variant, overrides), seeds pooled. */
export function conditionKey(r: RunResult, extra = ""): string {
  return `${(r.spec.world ?? 1) === 1 ? "" : `w${r.spec.world}|`}${r.spec.family}|${r.spec.reward}|${r.spec.variant}|${JSON.stringify(hashedGrpoConfig(r.spec.grpo))}${extra}`;
}

export interface Condition {
  family: string;
  reward: string;
  variant: string;
  runs: RunResult[];
  gainMean: number;
  gainStd: number;
  initial: number;
  finalMean: number;
  seeds: number[];
}

export function conditions(runs: readonly RunResult[]): Condition[] {
  const groups = new Map<string, RunResult[]>();
  for (const r of runs) {
    const k = conditionKey(r);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((rs) => ({
    family: rs[0].spec.family,
    reward: rs[0].spec.reward,
    variant: rs[0].spec.variant,
    runs: rs,
    gainMean: mean(rs.map(gain)),
    gainStd: std(rs.map(gain)),
    initial: mean(rs.map(initialAccuracy)),
    finalMean: mean(rs.map(finalAccuracy)),
    seeds: rs.map((r) => r.spec.seed),
  }));
}

/** A metric of the test evaluations against step, averaged over runs at matching steps. */
export function evalCurve(runs: readonly RunResult[], metric: (e: RunResult["evals"][number]) => number | null): { steps: number[]; mean: number[]; std: number[] } {
  const steps = runs[0].evals.map((e) => e.step);
  const at = (i: number) => runs.map((r) => r.evals[i]).filter((e) => e !== undefined).map(metric).filter((v): v is number => v !== null);
  return { steps, mean: steps.map((_, i) => mean(at(i))), std: steps.map((_, i) => std(at(i))) };
}

/** A per-step training metric, averaged over runs and smoothed. */
export function stepCurve(runs: readonly RunResult[], metric: (m: RunResult["metrics"][number]) => number, window = 10): { steps: number[]; mean: number[] } {
  const n = Math.min(...runs.map((r) => r.metrics.length));
  // A metric an older run did not log is undefined there: average the seeds that have it.
  const raw = Array.from({ length: n }, (_, i) => {
    const vals = runs.map((r) => metric(r.metrics[i])).filter(Number.isFinite);
    return vals.length ? mean(vals) : NaN;
  });
  return { steps: Array.from({ length: n }, (_, i) => i + 1), mean: smooth(raw, window) };
}

export const TRANSITIONS = ["Code→Code", "Code→Lang", "Lang→Code", "Lang→Lang"] as const;
export type Transition = (typeof TRANSITIONS)[number];

export interface TransitionStats {
  counts: Record<Transition, number>;
  /** Accuracy (%) at step 0 and at the end within each subset. */
  accBefore: Record<Transition, number | null>;
  accAfter: Record<Transition, number | null>;
  /** Partial contribution score C_d (%): share of the net gain owed to subset d (null when the net gain is 0). */
  contribution: Record<Transition, number | null>;
  netGain: number;
  /** Change in the number of correct answers within each subset, and overall. */
  delta: Record<Transition, number>;
  net: number;
  codeBefore: number;
  codeAfter: number;
}

/**
 * The paper's transition analysis: classify each test problem by its mode at step 0 and at the end,
 * and attribute the net change in correct answers to each class:
 *   C_d = sum_{x in d} (correct_t(x) - correct_0(x)) / sum_{x in D} (correct_t(x) - correct_0(x)).
 */
export function transitions(run: RunResult): TransitionStats {
  const a = run.records.initial;
  const b = run.records.final;
  if (!a || !b) throw new Error(`run ${run.name} has no per-problem records at both ends`);
  if (a.code.length !== b.code.length) throw new Error(`run ${run.name}: records of different lengths`);
  const zero = () => ({ "Code→Code": 0, "Code→Lang": 0, "Lang→Code": 0, "Lang→Lang": 0 });
  const counts = zero(), ok0 = zero(), ok1 = zero(), delta = zero();
  for (let i = 0; i < a.code.length; i++) {
    const t = `${a.code[i] === "1" ? "Code" : "Lang"}→${b.code[i] === "1" ? "Code" : "Lang"}` as Transition;
    counts[t]++;
    ok0[t] += a.correct[i] === "1" ? 1 : 0;
    ok1[t] += b.correct[i] === "1" ? 1 : 0;
    delta[t] += (b.correct[i] === "1" ? 1 : 0) - (a.correct[i] === "1" ? 1 : 0);
  }
  const net = TRANSITIONS.reduce((s, t) => s + delta[t], 0);
  const pct = (x: number, n: number) => (n ? (100 * x) / n : null);
  const rec = <T,>(f: (t: Transition) => T) => Object.fromEntries(TRANSITIONS.map((t) => [t, f(t)])) as Record<Transition, T>;
  const n = a.code.length;
  return {
    counts,
    accBefore: rec((t) => pct(ok0[t], counts[t])),
    accAfter: rec((t) => pct(ok1[t], counts[t])),
    contribution: rec((t) => (net === 0 ? null : (100 * delta[t]) / net)),
    netGain: (100 * net) / n,
    delta,
    net,
    codeBefore: (100 * [...a.code].filter((c) => c === "1").length) / n,
    codeAfter: (100 * [...b.code].filter((c) => c === "1").length) / n,
  };
}

/**
 * The runs whose rewards "steered the strategy" and raised accuracy, as the paper selects them for
 * its summary: the code frequency of the test answers moved by at least `minShift` points and the
 * net change in correct answers is positive.
 */
export function steered(stats: readonly TransitionStats[], minShift = 5): TransitionStats[] {
  return stats.filter((t) => Math.abs(t.codeAfter - t.codeBefore) >= minShift && t.net > 0);
}

/**
 * Contribution scores pooled over several runs: sum of each subset's change over the sum of net
 * changes (averaging per-run percentages is unstable when a run's net change is near zero).
 */
export function pooledContributions(stats: readonly TransitionStats[]): Record<Transition, number | null> {
  const net = stats.reduce((s, t) => s + t.net, 0);
  return Object.fromEntries(TRANSITIONS.map((k) => [k, net === 0 ? null : (100 * stats.reduce((s, t) => s + t.delta[k], 0)) / net])) as Record<Transition, number | null>;
}
