/**
 * The regime study (issue 10; pre-registered in data/investigations/README.md, "regime"): which
 * cells exist, and the two decision rules, as pure functions over per-seed outcomes. The rules are
 * code so that the notebook, the summary and the tests read the same verdict; their thresholds are
 * the pre-registered ones and must never be tuned after a run.
 *
 *   Rule A  the informative lr: the largest lr at which the unclipped arm and the one-update arm are
 *           both flat (mean gain within ±FLAT_POINTS); none flat -> the smallest lr, said as such.
 *   Rule B  the paper's regime: the cheapest cell where, with 6 seeds per arm, the clipped arm ends
 *           above the base in >= 4 of 6 seeds with a positive mean gain, the unclipped arm in <= 2 of
 *           6, and the paired clip effect C = G_clipped - G_unclipped is > 0 in >= 4 of 6 seed pairs.
 *           Cells are screened with 3 seeds; a clipped arm above the base in >= 2 of 3 earns seeds 3-5.
 */
import { mean } from "./analysis";

/** One run's outcome, as the rules read it. */
export interface SeedOutcome {
  seed: number;
  /** Final test accuracy (%). */
  final: number;
  /** Final minus initial test accuracy (points). */
  gain: number;
  wallSeconds: number;
}

/** A cell of the grid: its arms, each a list of seeds. */
export interface CellOutcome {
  id: string;
  /** Learning rate of the cell (rule A orders by it; rule B breaks ties on it). */
  lr: number;
  clipped: SeedOutcome[];
  unclipped: SeedOutcome[];
  /** Mini-batch = rollout batch, clipped (stage 1 only). */
  oneUpdate?: SeedOutcome[];
}

export const FLAT_POINTS = 3;
export const SCREEN_SEEDS = [0, 1, 2];
export const CONFIRM_SEEDS = [0, 1, 2, 3, 4, 5];


export function isFlat(arm: readonly SeedOutcome[]): boolean {
  return arm.length > 0 && Math.abs(mean(arm.map((s) => s.gain))) <= FLAT_POINTS;
}

export interface RuleAResult {
  lr: number;
  /** False when no lr had both arms flat and the rule fell back to the smallest lr. */
  found: boolean;
  reason: string;
}

export function ruleA(cells: readonly CellOutcome[]): RuleAResult {
  if (cells.length === 0) throw new Error("rule A needs at least one learning-rate cell");
  const byLr = [...cells].sort((a, b) => b.lr - a.lr);
  for (const c of byLr) {
    if (!c.oneUpdate) throw new Error(`rule A: cell ${c.id} has no one-update arm`);
    if (isFlat(c.unclipped) && isFlat(c.oneUpdate)) {
      return { lr: c.lr, found: true, reason: `lr ${c.lr}: the unclipped and the one-update arms are both within ±${FLAT_POINTS} points` };
    }
  }
  const smallest = byLr[byLr.length - 1];
  return { lr: smallest.lr, found: false, reason: `no lr has both arms within ±${FLAT_POINTS} points; the centre falls back to the smallest lr, ${smallest.lr}` };
}

/** Seeds of one arm, matched to the other arm by seed (pairs lacking a partner are dropped). */
function pairs(a: readonly SeedOutcome[], b: readonly SeedOutcome[]): [SeedOutcome, SeedOutcome][] {
  const bySeed = new Map(b.map((s) => [s.seed, s]));
  return a.filter((s) => bySeed.has(s.seed)).map((s) => [s, bySeed.get(s.seed)!]);
}

export type CellStatus = "qualifies" | "fails" | "needs seeds 3-5" | "incomplete";

export interface CellVerdict {
  id: string;
  status: CellStatus;
  /** Clipped seeds above the base / seeds. */
  clippedAbove: string;
  unclippedAbove: string;
  /** Seed pairs with C > 0 / pairs. */
  clipEffectPositive: string;
  clippedMeanGain: number;
  meanClipEffect: number;
  /** Median wall time of the cell's runs (s): the cost rule B orders by. */
  cost: number;
}

export function cellVerdict(c: CellOutcome, base: number): CellVerdict {
  const above = (arm: readonly SeedOutcome[]) => arm.filter((s) => s.final > base).length;
  const ps = pairs(c.clipped, c.unclipped);
  const effects = ps.map(([cl, un]) => cl.gain - un.gain);
  const walls = [...c.clipped, ...c.unclipped].map((s) => s.wallSeconds).sort((a, b) => a - b);
  const v: CellVerdict = {
    id: c.id,
    status: "incomplete",
    clippedAbove: `${above(c.clipped)}/${c.clipped.length}`,
    unclippedAbove: `${above(c.unclipped)}/${c.unclipped.length}`,
    clipEffectPositive: `${effects.filter((e) => e > 0).length}/${effects.length}`,
    clippedMeanGain: c.clipped.length ? mean(c.clipped.map((s) => s.gain)) : NaN,
    meanClipEffect: effects.length ? mean(effects) : NaN,
    cost: walls.length ? walls[Math.floor((walls.length - 1) / 2)] : NaN,
  };
  const full = (arm: readonly SeedOutcome[], seeds: readonly number[]) => seeds.every((s) => arm.some((x) => x.seed === s));
  if (full(c.clipped, CONFIRM_SEEDS) && full(c.unclipped, CONFIRM_SEEDS)) {
    const six = (arm: readonly SeedOutcome[]) => arm.filter((s) => CONFIRM_SEEDS.includes(s.seed));
    const cl = six(c.clipped), un = six(c.unclipped);
    const e = pairs(cl, un).map(([a, b]) => a.gain - b.gain);
    const ok = above(cl) >= 4 && mean(cl.map((s) => s.gain)) > 0 && above(un) <= 2 && e.filter((x) => x > 0).length >= 4;
    v.status = ok ? "qualifies" : "fails";
  } else if (full(c.clipped, SCREEN_SEEDS)) {
    // The screen reads the clipped arm only: below 2 of 3 above the base, the cell can neither earn
    // seeds 3-5 nor qualify, whatever its unclipped arm does (that arm is still reported when it lands).
    const three = c.clipped.filter((s) => SCREEN_SEEDS.includes(s.seed));
    if (above(three) < 2) v.status = "fails";
    else if (full(c.unclipped, SCREEN_SEEDS)) v.status = "needs seeds 3-5";
  }
  return v;
}

export interface RuleBResult {
  verdicts: CellVerdict[];
  /** The cheapest qualifying cell, or null. */
  chosen: string | null;
  /** Where none qualifies: the cell with the highest clipped-arm mean gain, shown as the closest. */
  closest: string | null;
  /** False while any cell is incomplete or awaits seeds 3-5: the rule cannot be applied yet. */
  final: boolean;
}

export function ruleB(cells: readonly CellOutcome[], base: number): RuleBResult {
  const verdicts = cells.map((c) => cellVerdict(c, base));
  const lrOf = new Map(cells.map((c) => [c.id, c.lr]));
  const final = verdicts.every((v) => v.status === "qualifies" || v.status === "fails");
  const qualifying = verdicts.filter((v) => v.status === "qualifies").sort((a, b) => a.cost - b.cost || lrOf.get(a.id)! - lrOf.get(b.id)!);
  const ranked = verdicts.filter((v) => Number.isFinite(v.clippedMeanGain)).sort((a, b) => b.clippedMeanGain - a.clippedMeanGain);
  return {
    verdicts,
    chosen: qualifying[0]?.id ?? null,
    closest: qualifying.length ? null : ranked[0]?.id ?? null,
    final,
  };
}

/** A ground-truth run of the SGD lr choice: its lr and test accuracy after the first steps. */
export interface LrTrial {
  lr: number;
  accuracy: number;
}

/**
 * SGD's learning rate for the optimizer axis (pre-registered): the lr whose ground-truth test
 * accuracy after 10 steps is closest to Adam's ground-truth run at the centre; ties go to the
 * smaller lr. It reads ground-truth runs only, so no spurious-reward result can steer it.
 */
export function chooseSgdLr(adamAccuracy: number, trials: readonly LrTrial[]): LrTrial {
  if (trials.length === 0) throw new Error("choosing SGD's lr needs at least one SGD ground-truth run");
  return [...trials].sort((a, b) => Math.abs(a.accuracy - adamAccuracy) - Math.abs(b.accuracy - adamAccuracy) || a.lr - b.lr)[0];
}
