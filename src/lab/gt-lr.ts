/**
 * The decision rules of the pre-registered investigation "v2-gt-lr" (data/investigations/README.md,
 * issue 11 item 6): does a smaller step let ground truth raise greedy accuracy in world 2? As code, so
 * that notebook 02, the summary and the tests read the same verdict; the thresholds are the
 * pre-registered ones.
 *
 *   S (step size)  supported for a family if at some lr <= 3e-5 the ground-truth run ends above the
 *                  base in >= 2 of 3 seeds.
 *   O (direction)  supported if no lr meets S's criterion and the accuracy-vs-distance curves
 *                  overlap: each smaller lr's mean final accuracy lies within one seed-SD of the lr
 *                  1e-4 runs' accuracy interpolated at that lr's mean final parameter distance.
 */
import { mean, std } from "./analysis";
import type { RunResult } from "./experiments";

/** The largest lr whose runs are the reference of O (the default regime's). */
export const REFERENCE_LR = 1e-4;
/** S reads the lrs at or below this. */
export const SMALL_LR = 3e-5;

/** A run's test accuracy at each evaluation against its parameter distance from the start then. */
export function accuracyByDistance(run: RunResult): { step: number; distance: number; accuracy: number }[] {
  // An evaluation at step s follows s updates; the metrics of update s - 1 carry the distance after it.
  return run.evals.map((e) => {
    const m = e.step === 0 ? null : run.metrics.find((x) => x.step === e.step - 1);
    return { step: e.step, distance: e.step === 0 ? 0 : m?.paramDistance ?? NaN, accuracy: e.test.accuracy };
  });
}

type Curve = ReturnType<typeof accuracyByDistance>;

/** A run's accuracy interpolated at a parameter distance (null beyond the distance it reached). */
export function accuracyAtDistance(run: RunResult, distance: number): number | null {
  return interpolate(accuracyByDistance(run), distance);
}

function interpolate(curve: Curve, distance: number): number | null {
  const pts = curve.filter((p) => Number.isFinite(p.distance));
  for (let i = 1; i < pts.length; i++) {
    const [a, b] = [pts[i - 1], pts[i]];
    if (distance >= a.distance && distance <= b.distance) {
      const t = b.distance === a.distance ? 0 : (distance - a.distance) / (b.distance - a.distance);
      return a.accuracy + t * (b.accuracy - a.accuracy);
    }
  }
  return null;
}

const lrOf = (r: RunResult) => r.spec.grpo.lr;
const finalOf = (r: RunResult) => r.evals[r.evals.length - 1].test.accuracy;

export interface LrRow {
  lr: number;
  finals: number[];
  /** Seeds that end above the family's base. */
  above: number;
  meanGain: number;
  /** Mean parameter distance from the start at the end. */
  distance: number;
  /** O's check at this lr (smaller lrs only): the reference runs interpolated at `distance`. */
  reference?: { mean: number; sd: number; overlaps: boolean } | null;
}

export interface GtLrVerdict {
  family: string;
  base: number;
  rows: LrRow[];
  /** The largest lr <= SMALL_LR meeting S's criterion, or null. */
  sLr: number | null;
  S: boolean;
  O: boolean;
}

/** The verdict for one family's ground-truth runs (every lr, every seed; one base checkpoint). */
export function gtLrVerdict(runs: readonly RunResult[]): GtLrVerdict {
  if (runs.length === 0) throw new Error("gtLrVerdict: no runs");
  const family = runs[0].spec.family;
  if (runs.some((r) => r.spec.family !== family)) throw new Error("gtLrVerdict: the runs are of more than one family; one family at a time");
  const base = runs[0].evals[0].test.accuracy;
  const lrs = [...new Set(runs.map(lrOf))].sort((a, b) => b - a);
  // Each run's accuracy-by-distance curve, built once: the reference curves are read at every smaller lr.
  const curves = new Map(runs.map((r) => [r, accuracyByDistance(r)]));
  const reference = runs.filter((r) => lrOf(r) === REFERENCE_LR).map((r) => curves.get(r)!);
  const rows: LrRow[] = lrs.map((lr) => {
    const rs = runs.filter((r) => lrOf(r) === lr);
    const finals = rs.map(finalOf);
    const distance = mean(rs.map((r) => curves.get(r)!.at(-1)!.distance));
    let ref: LrRow["reference"];
    if (lr < REFERENCE_LR && reference.length) {
      const at = reference.map((c) => interpolate(c, distance)).filter((v): v is number => v !== null);
      ref = at.length === reference.length ? { mean: mean(at), sd: std(at), overlaps: Math.abs(mean(finals) - mean(at)) <= std(at) } : null;
    }
    return { lr, finals, above: finals.filter((f) => f > base).length, meanGain: mean(finals) - base, distance, ...(ref === undefined ? {} : { reference: ref }) };
  });
  const sRows = rows.filter((r) => r.lr <= SMALL_LR && r.above >= 2);
  const sLr = sRows.length ? Math.max(...sRows.map((r) => r.lr)) : null;
  const smaller = rows.filter((r) => r.lr < REFERENCE_LR);
  const O = sLr === null && smaller.length > 0 && smaller.every((r) => r.reference?.overlaps === true);
  return { family, base, rows, sLr, S: sLr !== null, O };
}
