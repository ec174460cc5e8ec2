/**
 * The building blocks of GRPO's loss, each small and testable alone (after tiny-grpo).
 */
import * as tf from "@tensorflow/tfjs";

export type AdvantageMode = "std" | "no_std" | "rloo";
export const ADVANTAGE_MODES: readonly AdvantageMode[] = ["std", "no_std", "rloo"];
export type LossAggregation = "seq-mean-token-mean" | "token-mean" | "seq-mean-token-sum-norm";
export const LOSS_AGGREGATIONS: readonly LossAggregation[] = ["seq-mean-token-mean", "token-mean", "seq-mean-token-sum-norm"];

/**
 * Group-relative advantages: (r - mean) / (std + 1e-9) within each group of `groupSize`
 * consecutive rewards, std unbiased (n - 1), as the paper's code; "no_std" (Dr. GRPO, REINFORCE
 * with a group-mean baseline) drops the division; "rloo" takes the mean of the other G - 1 rewards
 * as the baseline, r - (sum - r) / (G - 1) = G / (G - 1) (r - mean). An all-equal group gives zeros.
 */
export function groupAdvantages(rewards: readonly number[], groupSize: number, mode: AdvantageMode = "std"): number[] {
  if (!Number.isInteger(groupSize) || groupSize < 1 || rewards.length % groupSize !== 0) {
    throw new Error(`rewards (${rewards.length}) must split into groups of ${groupSize}`);
  }
  if (mode === "rloo" && groupSize < 2) throw new Error("the rloo advantage needs groups of at least 2 (a leave-one-out baseline of no other reward is undefined)");
  const out = new Array<number>(rewards.length);
  for (let g = 0; g < rewards.length; g += groupSize) {
    const rs = rewards.slice(g, g + groupSize);
    const mean = rs.reduce((a, b) => a + b, 0) / groupSize;
    const varU = groupSize > 1 ? rs.reduce((a, b) => a + (b - mean) ** 2, 0) / (groupSize - 1) : 0;
    const std = Math.sqrt(varU);
    for (let i = 0; i < groupSize; i++) {
      out[g + i] = mode === "std" ? (rs[i] - mean) / (std + 1e-9) : mode === "rloo" ? ((rs[i] - mean) * groupSize) / (groupSize - 1) : rs[i] - mean;
    }
  }
  return out;
}

export interface ClipConfig {
  epsLow: number;
  epsHigh: number;
  /** false: the plain policy-gradient surrogate rho * A. */
  clip: boolean;
}

/**
 * Per-token PPO/GRPO surrogate loss: -min(rho A, clip(rho, 1 - epsLow, 1 + epsHigh) A) with
 * rho = exp(logp - oldLogp). Shapes (B, T); adv broadcasts as (B, 1).
 */
export function clippedTokenLoss(logp: tf.Tensor, oldLogp: tf.Tensor, adv: tf.Tensor, cfg: ClipConfig): tf.Tensor {
  const ratio = tf.exp(logp.sub(oldLogp));
  const unclipped = ratio.mul(adv);
  if (!cfg.clip) return unclipped.neg();
  const clipped = tf.clipByValue(ratio, 1 - cfg.epsLow, 1 + cfg.epsHigh).mul(adv);
  return tf.minimum(unclipped, clipped).neg();
}

/** The settings the policy loss reads. */
export interface PolicyLossConfig extends ClipConfig {
  lossAggregation: LossAggregation;
  lossNorm: number;
  tokenMeanGroup: number;
}

/**
 * The policy-gradient loss of a mini-batch: per-token surrogate (clipped or not), reduced to a
 * scalar. `adv` (B, 1) holds each row's advantage (groupAdvantages); logp, oldLogp, mask are (B, T).
 * Every named algorithm (grpo.ts's ALGORITHMS) is this function under other settings.
 */
export function policyLoss(logp: tf.Tensor, oldLogp: tf.Tensor, adv: tf.Tensor, mask: tf.Tensor, c: PolicyLossConfig): tf.Scalar {
  return aggregateLoss(clippedTokenLoss(logp, oldLogp, adv, c), mask, c.lossAggregation, c.lossNorm, c.tokenMeanGroup);
}

/** k3 estimator of KL(pi || ref) per token: exp(ref - logp) - (ref - logp) - 1 (>= 0). */
export function k3(logp: tf.Tensor, refLogp: tf.Tensor): tf.Tensor {
  const d = refLogp.sub(logp);
  return tf.exp(d).sub(d).sub(1);
}

/** Mean k3 estimate of KL(p || q) over response tokens sampled from p, from per-row log-probs. */
export function meanK3(logP: readonly Float32Array[], logQ: readonly Float32Array[]): number {
  let sum = 0;
  let count = 0;
  logP.forEach((lp, i) => {
    for (let t = 0; t < lp.length; t++) {
      const d = logQ[i][t] - lp[t];
      sum += Math.exp(d) - d - 1;
      count++;
    }
  });
  return sum / Math.max(count, 1);
}

/**
 * Reduce a per-token loss (B, T) under a 0/1 mask to a scalar.
 *   seq-mean-token-mean      mean over each response's tokens, then over responses (the paper's)
 *   token-mean               sum over all tokens / number of tokens in the batch. The paper's code
 *                            (OpenRLHF with --packing_samples) packs each micro-batch of 4
 *                            responses into one row and takes this mean per micro-batch, then
 *                            averages micro-batches by gradient accumulation. `group` = 4 does
 *                            that (token mean within each 4 consecutive rows, mean over groups);
 *                            0 takes the whole batch as one group.
 *   seq-mean-token-sum-norm  sum over each response's tokens / constant `norm`, then mean (Dr. GRPO)
 */
export function aggregateLoss(tokLoss: tf.Tensor, mask: tf.Tensor, agg: LossAggregation, norm: number, group = 0): tf.Scalar {
  const masked = tokLoss.mul(mask);
  if (agg === "token-mean" && group > 0 && group < mask.shape[0]) {
    // The paper's packed micro-batches: a token mean within each `group` consecutive rows, then
    // the mean over groups (what gradient accumulation over micro-batches computes).
    const B = mask.shape[0];
    if (B % group !== 0) throw new Error(`token-mean group ${group} does not divide the batch of ${B} rows`);
    const byGroup = (t: tf.Tensor) => t.reshape([B / group, -1]).sum(1);
    return byGroup(masked).div(tf.maximum(byGroup(mask), 1)).mean() as tf.Scalar;
  }
  if (agg === "token-mean") return masked.sum().div(tf.maximum(mask.sum(), 1)) as tf.Scalar;
  const perSeq = masked.sum(1);
  if (agg === "seq-mean-token-mean") return perSeq.div(tf.maximum(mask.sum(1), 1)).mean() as tf.Scalar;
  if (agg === "seq-mean-token-sum-norm") return perSeq.div(norm).mean() as tf.Scalar;
  throw new Error(`unknown loss aggregation "${agg}"; valid: ${LOSS_AGGREGATIONS.join(", ")}`);
}

/** Buckets of pi_old for the clip diagnostics: bucket k holds tokens with pi_old in [k/10, (k+1)/10). */
export const POLD_BUCKETS = 10;

/** The pi_old bucket of a token from its log-probability (pi_old = 1 falls in the top bucket). */
export function pOldBucket(oldLogp: number): number {
  return Math.min(POLD_BUCKETS - 1, Math.max(0, Math.floor(Math.exp(oldLogp) * POLD_BUCKETS)));
}

export interface ClipStats {
  /** Tokens whose ratio fell below 1 - epsLow with A < 0: clipped (the clip stops pushing them further down). */
  lowClipped: number;
  /** Tokens whose ratio rose above 1 + epsHigh with A > 0: clipped (the clip stops pushing them further up). */
  highClipped: number;
  /** Ratio below 1 - epsLow with A > 0: outside the range but not clipped (the min keeps the unclipped branch). */
  lowUnclipped: number;
  /** Ratio above 1 + epsHigh with A < 0: outside the range, not clipped. */
  highUnclipped: number;
  tokens: number;
  ratioSum: number;
  /** Per pi_old bucket (when old log-probs are given): tokens, low-side and high-side clips. */
  byPOld: { tokens: number[]; low: number[]; high: number[] } | null;
}

/**
 * Count tokens outside the clip range by side and advantage sign (plain numbers; no gradient).
 * `ratio`, `mask` and `oldLogp` are (B, T) grids flattened row by row; `adv` has one value per row.
 */
export function clipStats(ratio: ArrayLike<number>, adv: ArrayLike<number>, mask: ArrayLike<number>, T: number, cfg: ClipConfig, oldLogp?: ArrayLike<number>): ClipStats {
  const zeros = () => new Array<number>(POLD_BUCKETS).fill(0);
  const byPOld = oldLogp ? { tokens: zeros(), low: zeros(), high: zeros() } : null;
  const s: ClipStats = { lowClipped: 0, highClipped: 0, lowUnclipped: 0, highUnclipped: 0, tokens: 0, ratioSum: 0, byPOld };
  for (let i = 0; i < ratio.length; i++) {
    if (!mask[i]) continue;
    const a = adv[Math.floor(i / T)];
    const below = ratio[i] < 1 - cfg.epsLow;
    const above = ratio[i] > 1 + cfg.epsHigh;
    s.tokens++;
    s.ratioSum += ratio[i];
    if (below && a < 0) s.lowClipped++;
    if (above && a > 0) s.highClipped++;
    if (below && a > 0) s.lowUnclipped++;
    if (above && a < 0) s.highUnclipped++;
    if (byPOld) {
      const b = pOldBucket(oldLogp![i]);
      byPOld.tokens[b]++;
      if (below && a < 0) byPOld.low[b]++;
      if (above && a > 0) byPOld.high[b]++;
    }
  }
  return s;
}
