/**
 * GRPO as the paper's code (OpenRLHF / TTRL fork) runs it, scaled to the toy.
 *
 * Per step: P prompts x G samples at temperature 1; rewards; group advantages
 * (r - mean) / (std + 1e-9); the rollout batch is shuffled and split into mini-batches with one
 * Adam step each, for `ppoEpochs` passes. pi_old log-probabilities are computed once per step,
 * mini-batch by mini-batch with exactly the shapes the first update uses, so on the first
 * mini-batch the ratio is exactly 1; from the second on the policy has moved, rho != 1, and the
 * clip acts. That is the mechanism the paper's explanation rests on, so every step logs how
 * often it acts and on which side.
 *
 * A step is four small functions: `rollout` (sample, reward, advantages), `oldPolicyPass` (pi_old,
 * entropy, p(code), the reference), `updateOnce` (one optimizer step on one mini-batch) and
 * `stepRecord` (the step's metrics), plus `driftDiagnostics` (KL to the pre-step policy and to the
 * start, parameter distance), which reads the model after the updates and changes nothing.
 *
 * Simplifications, stated up front: no entropy bonus (the paper has none), no value model,
 * no dynamic sampling or over-long filtering; KL to a frozen reference is available (k3), off by
 * default as in the paper.
 */
import * as tf from "@tensorflow/tfjs";
import { packSequences, responseValuesToGrid, gridToResponseValues, type SequenceRow } from "../model/batch";
import { isCodeResponse, hasBoxed, isCorrect } from "../world/grader";
import { ADVANTAGE_MODES, aggregateLoss, meanK3, clipStats, groupAdvantages, k3, LOSS_AGGREGATIONS, policyLoss, POLD_BUCKETS, type AdvantageMode, type ClipStats, type LossAggregation } from "./grpo-math";
import { impl } from "../model/impl";
import { entropyAndProbe, nextTokenLogSoftmax, paramGrads, tidyKeep, tokenLogProbs, tokenLogProbsAndEntropy, type ModelConfig, type Params } from "../model/model";
import { adamStep, OPTIMIZERS, sgdStep, type AdamState, type OptimizerKind } from "../model/optim";
import type { Problem } from "../world/problems";
import type { RewardFn } from "./rewards";
import type { Rng } from "../util/rng";
import { promptIds, sampleResponses, type Sample } from "../model/sampling";
import { encode } from "../world/tokens";
import { CODE_OPENING } from "../world/traces";

export interface GrpoConfig {
  /** P: prompts per rollout step (paper: 64). */
  promptsPerStep: number;
  /** G: samples per prompt, the group (paper: 16). */
  samplesPerPrompt: number;
  /** Rollouts per optimizer step. P*G / miniBatchSize updates per step (paper: 1024/128 = 8). */
  miniBatchSize: number;
  /** Passes over the rollout batch (paper: 1). */
  ppoEpochs: number;
  /** Clip range [1 - epsLow, 1 + epsHigh] (paper: 0.2 both). */
  epsLow: number;
  epsHigh: number;
  /** false removes the clip from the loss (one of the paper's three ablations). */
  clip: boolean;
  /** "std" divides by the group std (paper); "no_std" is Dr. GRPO's (and REINFORCE's group-mean baseline); "rloo" the leave-one-out baseline. */
  advantage: AdvantageMode;
  /** How token losses reduce to a scalar (paper: seq-mean-token-mean). */
  lossAggregation: LossAggregation;
  /**
   * token-mean only: rows per token-mean group, the paper's packed micro-batch (its code: 4); the
   * loss is the mean over groups. 0 = the whole mini-batch is one group.
   */
  tokenMeanGroup: number;
  /** Dr. GRPO's constant normaliser (tokens) for seq-mean-token-sum-norm; follows maxResponseTokens unless set. */
  lossNorm: number;
  /** KL weight against the frozen starting model, k3 estimator (paper: 0). */
  klCoef: number;
  /** Constant learning rate (paper: 5e-7 for 7B models; ours is chosen for the toy, see README). */
  lr: number;
  beta1: number;
  beta2: number;
  /** Global gradient-norm clip (paper: 1.0). */
  gradClip: number;
  /** Sampling temperature of rollouts (paper: 1.0). */
  temperature: number;
  /** Response token limit (EOS included). */
  maxResponseTokens: number;
  /** Rollout steps. */
  steps: number;
  /** "adam" (the paper's) or "sgd" (the regime study's control: a signal-free update no longer has Adam's full size). */
  optimizer: OptimizerKind;
  /** SGD's heavy-ball momentum in [0, 1) (0 = plain SGD); Adam's momentum is beta1, so adam requires 0. */
  momentum: number;
  /** A named policy-gradient algorithm (ALGORITHMS): the settings it fixes, applied under any explicit override. */
  algorithm: AlgorithmName;
}

/**
 * Policy-gradient algorithms as named settings of this config (issue 12), each the paper's GRPO
 * with what the algorithm changes and nothing else (same sampling, mini-batches, optimizer):
 *   grpo          the paper's: std-normalised group advantage, PPO clip 0.2 both sides
 *   reinforce     REINFORCE with the group mean as baseline (r - mean), no clip
 *   rloo          REINFORCE leave-one-out (Ahmadian et al. 2024): baseline the mean of the other
 *                 G - 1 rewards, no clip
 *   dr-grpo       Dr. GRPO (Liu et al. 2025): no std division, each response's token losses summed
 *                 and divided by a constant (lossNorm, the response budget), clip kept
 *   clip-higher   DAPO's clip-higher (Yu et al. 2025): the clip's upper side at 1 + 0.28
 * REINFORCE and RLOO still divide rho = pi / pi_old on the later mini-batches of a step
 * (importance weighting, unclipped), as an off-policy update must.
 */
export const ALGORITHMS = {
  grpo: {},
  reinforce: { advantage: "no_std", clip: false },
  rloo: { advantage: "rloo", clip: false },
  "dr-grpo": { advantage: "no_std", lossAggregation: "seq-mean-token-sum-norm" },
  "clip-higher": { epsHigh: 0.28 },
} as const satisfies Record<string, Partial<GrpoConfig>>;
export type AlgorithmName = keyof typeof ALGORITHMS;
export const ALGORITHM_NAMES = Object.keys(ALGORITHMS) as AlgorithmName[];

export const DEFAULT_GRPO: GrpoConfig = {
  promptsPerStep: 16,
  samplesPerPrompt: 8,
  miniBatchSize: 16,
  ppoEpochs: 1,
  epsLow: 0.2,
  epsHigh: 0.2,
  clip: true,
  advantage: "std",
  lossAggregation: "seq-mean-token-mean",
  lossNorm: 62,
  klCoef: 0,
  lr: 1e-4,
  beta1: 0.9,
  beta2: 0.95,
  gradClip: 1.0,
  temperature: 1.0,
  maxResponseTokens: 62,
  steps: 60,
  optimizer: "adam",
  momentum: 0,
  tokenMeanGroup: 0,
  algorithm: "grpo",
};

/**
 * Knobs added after runs were stored, at the value every earlier run had in effect. Run names hash
 * the resolved spec, so these are left out of the hash at their defaults (hashedGrpoConfig) and
 * every stored run keeps its name. A knob added later goes here too, never into the hash as is.
 */
const LATER_KNOB_DEFAULTS: Partial<GrpoConfig> = { optimizer: "adam", momentum: 0, tokenMeanGroup: 0, algorithm: "grpo" };

/** The config as run names hash it: knobs added later are dropped where they equal their defaults. */
export function hashedGrpoConfig(c: GrpoConfig): Partial<GrpoConfig> {
  const out: Partial<GrpoConfig> = { ...c };
  for (const [k, v] of Object.entries(LATER_KNOB_DEFAULTS) as [keyof GrpoConfig, unknown][]) if (out[k] === v) delete out[k];
  return out;
}

const KINDS: Record<keyof GrpoConfig, "posint" | "nonneg" | "pos" | "bool" | "unit" | string[]> = {
  promptsPerStep: "posint", samplesPerPrompt: "posint", miniBatchSize: "posint", ppoEpochs: "posint",
  epsLow: "unit", epsHigh: "unit", clip: "bool", advantage: [...ADVANTAGE_MODES], lossAggregation: [...LOSS_AGGREGATIONS],
  lossNorm: "pos", klCoef: "nonneg", lr: "pos", beta1: "unit", beta2: "unit", gradClip: "pos", temperature: "pos",
  maxResponseTokens: "posint", steps: "nonneg", optimizer: [...OPTIMIZERS], momentum: "unit", tokenMeanGroup: "nonneg",
  algorithm: ALGORITHM_NAMES,
};

/** Defaults + overrides, validated: unknown keys and bad values are errors naming the key. */
export function resolveGrpoConfig(overrides: Partial<Record<string, unknown>> = {}): GrpoConfig {
  const out: Record<string, unknown> = { ...DEFAULT_GRPO };
  if (overrides.maxResponseTokens !== undefined && overrides.lossNorm === undefined) out.lossNorm = overrides.maxResponseTokens;
  const algorithm = overrides.algorithm ?? DEFAULT_GRPO.algorithm;
  if (!(ALGORITHM_NAMES as readonly unknown[]).includes(algorithm)) throw new Error(`unknown algorithm ${JSON.stringify(algorithm)}; valid: ${ALGORITHM_NAMES.join(", ")}`);
  const fixed: Partial<GrpoConfig> = ALGORITHMS[algorithm as AlgorithmName];
  Object.assign(out, fixed);
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in KINDS)) throw new Error(`unknown GRPO setting "${k}"; valid: ${Object.keys(KINDS).join(", ")}`);
    const own = fixed[k as keyof GrpoConfig];
    if (own !== undefined && own !== v) throw new Error(`GRPO setting ${k} ${JSON.stringify(v)} contradicts algorithm "${algorithm}", which sets it to ${JSON.stringify(own)}; drop one of the two`);
    out[k] = v;
  }
  for (const [k, kind] of Object.entries(KINDS)) {
    const v = out[k];
    const bad = (want: string) => new Error(`GRPO setting ${k} must be ${want}, got ${JSON.stringify(v)}`);
    if (Array.isArray(kind)) {
      if (!kind.includes(v as string)) throw bad(`one of ${kind.join(", ")}`);
    } else if (kind === "bool") {
      if (typeof v !== "boolean") throw bad("true or false");
    } else {
      if (typeof v !== "number" || !Number.isFinite(v)) throw bad("a finite number");
      if (kind === "posint" && !(Number.isInteger(v) && v > 0)) throw bad("a positive integer");
      if (kind === "pos" && !(v > 0)) throw bad("> 0");
      if (kind === "nonneg" && !(v >= 0)) throw bad(">= 0");
      if (kind === "unit" && !(v >= 0 && v < 1)) throw bad("in [0, 1)");
      if ((k === "steps" || k === "tokenMeanGroup") && !Number.isInteger(v)) throw bad("an integer");
    }
  }
  const c = out as unknown as GrpoConfig;
  if (c.tokenMeanGroup > 0 && c.lossAggregation !== "token-mean") throw new Error(`GRPO setting tokenMeanGroup applies to lossAggregation "token-mean" only; got tokenMeanGroup ${c.tokenMeanGroup} with "${c.lossAggregation}"`);
  if (c.tokenMeanGroup > 0 && c.miniBatchSize % c.tokenMeanGroup !== 0) throw new Error(`GRPO setting tokenMeanGroup ${c.tokenMeanGroup} must divide miniBatchSize ${c.miniBatchSize}`);
  if (c.optimizer !== "sgd" && c.momentum !== 0) throw new Error(`GRPO setting momentum applies to optimizer "sgd" only (Adam's momentum is beta1); got momentum ${c.momentum} with optimizer "${c.optimizer}"`);
  const rollouts = c.promptsPerStep * c.samplesPerPrompt;
  if (rollouts % c.miniBatchSize !== 0) throw new Error(`miniBatchSize ${c.miniBatchSize} does not divide the rollout batch ${c.promptsPerStep} x ${c.samplesPerPrompt} = ${rollouts}`);
  return c;
}

/** Everything a step needs that does not change during a run. */
export interface GrpoContext {
  config: GrpoConfig;
  model: ModelConfig;
  /** Training prompts with their dataset labels. */
  dataset: readonly { problem: Problem; label: number }[];
  reward: RewardFn;
  /** Run seed (random rewards are seeded by it). */
  seed: string | number;
  rng: Rng;
  /**
   * The frozen starting model: the KL term's reference (required when klCoef > 0) and the start
   * that klStart and paramDistance measure from. null skips those two diagnostics.
   */
  ref: Params | null;
}

export interface StepMetrics {
  step: number;
  rewardMean: number;
  rewardStd: number;
  /** Ground-truth accuracy of the rollouts, whatever the training reward. */
  accuracy: number;
  codeFrequency: number;
  boxedRate: number;
  responseLength: number;
  /** Mean probability pi_old of the sampled tokens. */
  tokenProb: number;
  entropy: number;
  /** Shares of response tokens clipped on the low side (rho < 1-eps, A < 0) and high side (rho > 1+eps, A > 0). */
  clipLow: number;
  clipHigh: number;
  /** The same at the first response token alone, where the reasoning mode is chosen. */
  firstClipLow: number;
  firstClipHigh: number;
  /** Mean pi_old probability of code mode's first token at the first response position: the policy's p(code). */
  codeProb: number;
  ratioMean: number;
  gradNorm: number;
  zeroVarianceGroups: number;
  loss: number;
  kl: number;
  seconds: number;
  // The regime study's diagnostics (absent in runs stored before they were logged). Rounded to
  // 5 significant digits: run files stay compact and nothing downstream needs more.
  /** Shares of response tokens outside the clip range but not clipped: rho < 1-epsLow with A > 0, rho > 1+epsHigh with A < 0. */
  outLowPos?: number;
  outHighNeg?: number;
  /** Counts over the step's updates per pi_old bucket (bucket k: pi_old in [k/10, (k+1)/10)): tokens, low-side clips, high-side clips. */
  pOldBuckets?: { tokens: number[]; low: number[]; high: number[] };
  /** KL(pi_old || pi_after) per response token (k3 on the step's first DIAGNOSTIC_ROLLOUTS rollouts, after all the step's updates). */
  klPrev?: number;
  /** KL(pi_old || pi_start) per response token (k3 on the same rollouts): how far the policy the step sampled from is from the start. */
  klStart?: number;
  /** L2 distance of all parameters from the start, after the step's updates. */
  paramDistance?: number;
}

/** The prompts of a step: P distinct dataset indices (with repeats only when the dataset is smaller). */
export function stepPrompts(n: number, P: number, rng: Rng): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return Array.from({ length: P }, (_, i) => idx[i % n]);
}

/** Index, in a packed (B, T-1) next-token grid, of row b's first response token (predicted from the prompt's last). */
export function firstResponseIndex(row: SequenceRow, b: number, T: number): number {
  return b * (T - 1) + row.prompt.length - 1;
}

/** A step's rollouts: who was asked, what they answered, how it was rewarded. */
export interface Rollout {
  step: number;
  items: { problem: Problem; label: number }[];
  samples: Sample[];
  rewards: number[];
  adv: number[];
  rows: SequenceRow[];
}

/** Sample G responses for each of the step's P prompts, reward them, and compute group advantages. */
export function rollout(params: Params, ctx: GrpoContext, step: number): Rollout {
  const c = ctx.config;
  const G = c.samplesPerPrompt;
  const picks = stepPrompts(ctx.dataset.length, c.promptsPerStep, ctx.rng.fork("prompts", step));
  const items = picks.flatMap((i) => Array.from({ length: G }, () => ctx.dataset[i]));
  const samples = sampleResponses(params, ctx.model, items.map((x) => x.problem.prompt), {
    temperature: c.temperature, maxNewTokens: c.maxResponseTokens, rng: ctx.rng.fork("rollout", step),
  });
  const rewards = samples.map((s, i) => ctx.reward({ response: s.text, label: items[i].label, seed: ctx.seed, step, rollout: i }).reward);
  const adv = groupAdvantages(rewards, G, c.advantage);
  const rows: SequenceRow[] = items.map((x, i) => ({ prompt: promptIds(x.problem.prompt), response: samples[i].tokens }));
  return { step, items, samples, rewards, adv, rows };
}

/** The mini-batches (rollout indices) of one epoch: the rollouts shuffled by (step, epoch), cut in order. */
export function miniBatches(ctx: GrpoContext, ro: Rollout, epoch: number): number[][] {
  const n = ro.rows.length;
  const order = stepPrompts(n, n, ctx.rng.fork("shuffle", ro.step, epoch));
  const size = ctx.config.miniBatchSize;
  return Array.from({ length: n / size }, (_, m) => order.slice(m * size, (m + 1) * size));
}

/** What the policy that sampled the step (pi_old) says about its rollouts. */
export interface OldPass {
  /** Per rollout: log pi_old of each response token. */
  oldLogp: Float32Array[];
  /** Per rollout: log-probs of the frozen reference (null without one). */
  refLogp: Float32Array[] | null;
  tokenProb: number;
  entropy: number;
  codeProb: number;
}

/**
 * Rollouts the drift diagnostics read each step: the step's first mini-batches (a random subset,
 * since mini-batches are shuffled) until at least this many. The KL estimates need two extra forward
 * passes; on every rollout they cost about 30% of a default step, on this subset 4-8x less, and a
 * mean over 32+ responses (~1,000 tokens) is precise enough for a per-step curve.
 */
export const DIAGNOSTIC_ROLLOUTS = 32;

export function diagnosticBatches(batches: readonly number[][]): number[][] {
  const out: number[][] = [];
  let n = 0;
  for (const b of batches) {
    if (n >= DIAGNOSTIC_ROLLOUTS) break;
    out.push(b);
    n += b.length;
  }
  return out;
}

/** pi_old on one mini-batch: (B, T-1) grids of token log-prob, entropy and p(code). */
export interface OldGrids {
  lp: Float32Array;
  ent: Float32Array;
  pp: Float32Array;
}

/** pi_old's grids read from log softmax `all` (B, T-1, V) and the targets' log-probs `logp` (as tokenLogProbsAndEntropy computes them). */
function oldGridsFrom(all: tf.Tensor3D, logp: tf.Tensor2D, probe: number): OldGrids {
  return tidyKeep(() => {
    const { entropy, probeProb } = entropyAndProbe(all, probe);
    return { lp: logp.dataSync() as Float32Array, ent: entropy.dataSync() as Float32Array, pp: probeProb.dataSync() as Float32Array };
  });
}

const codeToken = () => encode(CODE_OPENING)[0];

/**
 * pi_old (+ entropy, p(code) and the reference), computed mini-batch by mini-batch with exactly
 * the shapes the first update uses, so that on the first mini-batch the ratio is exactly 1.
 * `known[bi]`, when given, holds batch bi's grids already computed (the first update's forward,
 * see grpoStep): the policy's forward is skipped there, the reference's is not. Every sum runs in
 * batch order whichever batches were known, so the metrics are the same bits either way.
 */
export function oldPolicyPass(params: Params, ctx: GrpoContext, ro: Rollout, batches: number[][], known: readonly (OldGrids | undefined)[] = []): OldPass {
  const c = ctx.config;
  const n = ro.rows.length;
  const oldLogp: Float32Array[] = new Array(n);
  const refLogp: Float32Array[] | null = ctx.ref ? new Array(n) : null;
  let entropySum = 0;
  let probSum = 0;
  let tokenCount = 0;
  let codeProbSum = 0;
  // The reference's log-probs: every row when the loss has a KL term, else the diagnostic rows only.
  const refBatches = c.klCoef > 0 ? batches.length : diagnosticBatches(batches).length;
  for (const [bi, members] of batches.entries()) {
    const mrows = members.map((i) => ro.rows[i]);
    const pb = packSequences(mrows);
    try {
      const { lp, ent, pp } = known[bi] ?? tidyKeep(() => {
        const r = tokenLogProbsAndEntropy(params, pb.ids, ctx.model, c.temperature, codeToken());
        return { lp: r.logp.dataSync() as Float32Array, ent: r.entropy.dataSync() as Float32Array, pp: r.probeProb.dataSync() as Float32Array };
      });
      mrows.forEach((r, b) => (codeProbSum += pp[firstResponseIndex(r, b, pb.T)]));
      const lpRows = gridToResponseValues(mrows, pb.T, lp);
      const entRows = gridToResponseValues(mrows, pb.T, ent);
      members.forEach((i, j) => {
        oldLogp[i] = lpRows[j];
        for (let t = 0; t < lpRows[j].length; t++) {
          probSum += Math.exp(lpRows[j][t]);
          entropySum += entRows[j][t];
          tokenCount++;
        }
      });
      if (ctx.ref && refLogp && bi < refBatches) {
        const rl = tf.tidy(() => tokenLogProbs(ctx.ref!, pb.ids, ctx.model, c.temperature).dataSync() as Float32Array);
        gridToResponseValues(mrows, pb.T, rl).forEach((v, j) => (refLogp[members[j]] = v));
      }
    } finally {
      tf.dispose([pb.ids, pb.mask]);
    }
  }
  return { oldLogp, refLogp, tokenProb: probSum / Math.max(tokenCount, 1), entropy: entropySum / Math.max(tokenCount, 1), codeProb: codeProbSum / n };
}

/** What one update reports. */
export interface UpdateStats {
  clip: ClipStats;
  /** Clip counts at the first response token only. */
  first: ClipStats;
  loss: number;
  /** The KL term's value (null when klCoef = 0). */
  kl: number | null;
  gradNorm: number;
}

/** One optimizer step in place on one mini-batch (rollout indices `members`). */
export function updateOnce(params: Params, opt: AdamState, ctx: GrpoContext, ro: Rollout, old: OldPass, members: number[]): UpdateStats {
  return applyUpdate(params, opt, ctx, updateGradients(params, ctx, ro, old, members));
}

/** A mini-batch's loss and gradients at the current parameters, before the optimizer step (tensors owned until applyUpdate). */
interface PendingUpdate {
  value: tf.Scalar;
  grads: Record<string, tf.Tensor>;
  logp: tf.Tensor;
  kl: tf.Tensor | null;
  oldT: tf.Tensor;
  oldGrid: Float32Array;
  advT: tf.Tensor;
  ref: tf.Tensor | null;
  pb: ReturnType<typeof packSequences>;
  rows: SequenceRow[];
  /** pi_old's grids on this mini-batch, read off this forward (old = null only). */
  grids: OldGrids | null;
}

/**
 * The loss and gradients of one mini-batch. With `old` null (the step's first mini-batch, before
 * any update: impl sharedFirstPass), pi_old is the current policy, and its grids are read off this
 * very forward instead of a separate identical one: the same kernels on the same parameters and
 * ids give the same bits, so rho = 1 exactly as with a separate pass. Needs no KL term (whose
 * reference log-probs come from the pi_old pass).
 */
function updateGradients(params: Params, ctx: GrpoContext, ro: Rollout, old: OldPass | null, members: number[]): PendingUpdate {
  const c = ctx.config;
  const rows = members.map((i) => ro.rows[i]);
  const withKl = c.klCoef > 0;
  if (withKl && !old?.refLogp) throw new Error(`GRPO setting klCoef ${c.klCoef} > 0 needs the frozen reference model (ctx.ref)`);
  const pb = packSequences(rows);
  // Every tensor made here is released if anything throws; on success the pending update owns them.
  const held: tf.Tensor[] = [pb.ids, pb.mask];
  try {
    const ref = withKl ? tf.tensor2d(responseValuesToGrid(rows, pb.T, members.map((i) => old!.refLogp![i])), [rows.length, pb.T - 1]) : null;
    if (ref) held.push(ref);
    const advT = tf.tensor2d(members.map((i) => ro.adv[i]), [rows.length, 1]);
    held.push(advT);
    // pi_old's log-probs as the loss reads them: response tokens only, zeros elsewhere
    const oldGridOf = (values: Float32Array[]) => responseValuesToGrid(rows, pb.T, values);
    let oldGrid: Float32Array | null = old ? oldGridOf(members.map((i) => old.oldLogp[i])) : null;
    let oldT: tf.Tensor | null = oldGrid ? tf.tensor2d(oldGrid, [rows.length, pb.T - 1]) : null;
    if (oldT) held.push(oldT);
    let grids: OldGrids | null = null;
    let logpKept: tf.Tensor | null = null;
    let klKept: tf.Tensor | null = null;
    const { value, grads } = paramGrads(params, () => {
      let logp: tf.Tensor2D;
      if (old) logp = tokenLogProbs(params, pb.ids, ctx.model, c.temperature);
      else {
        const r = nextTokenLogSoftmax(params, pb.ids, ctx.model, c.temperature);
        logp = r.logp;
        grids = oldGridsFrom(r.all, logp, codeToken());
        oldGrid = oldGridOf(gridToResponseValues(rows, pb.T, grids.lp));
        oldT = tf.keep(tf.tensor2d(oldGrid, [rows.length, pb.T - 1]));
        held.push(oldT);
      }
      logpKept = tf.keep(logp);
      held.push(logpKept);
      let loss = policyLoss(logp, oldT!, advT, pb.mask, c);
      if (ref) {
        const kl = aggregateLoss(k3(logp, ref), pb.mask, c.lossAggregation, c.lossNorm, c.tokenMeanGroup);
        klKept = tf.keep(kl);
        held.push(klKept);
        loss = loss.add(kl.mul(c.klCoef));
      }
      return loss;
    });
    return { value, grads, logp: logpKept!, kl: klKept, oldT: oldT!, oldGrid: oldGrid!, advT, ref, pb, rows, grids };
  } catch (e) {
    tf.dispose(held);
    throw e;
  }
}

/** Every tensor a pending update holds. */
function pendingTensors(u: PendingUpdate): tf.Tensor[] {
  return [u.value, ...Object.values(u.grads), u.logp, ...(u.kl ? [u.kl] : []), u.oldT, u.advT, u.pb.ids, u.pb.mask, ...(u.ref ? [u.ref] : [])];
}

/** Clip statistics of a pending update, then its optimizer step in place; frees the update's tensors. */
function applyUpdate(params: Params, opt: AdamState, ctx: GrpoContext, u: PendingUpdate): UpdateStats {
  const c = ctx.config;
  const clipCfg = { epsLow: c.epsLow, epsHigh: c.epsHigh, clip: c.clip };
  try {
    const ratio = tf.tidy(() => tf.exp(u.logp.sub(u.oldT)).dataSync() as Float32Array);
    const advV = u.advT.dataSync() as Float32Array;
    const clip = clipStats(ratio, advV, u.pb.mask.dataSync() as Float32Array, u.pb.T - 1, clipCfg, u.oldGrid);
    const firstMask = new Float32Array(ratio.length);
    u.rows.forEach((r, b) => (firstMask[firstResponseIndex(r, b, u.pb.T)] = 1));
    const first = clipStats(ratio, advV, firstMask, u.pb.T - 1, clipCfg);
    const loss = u.value.dataSync()[0];
    const kl = u.kl ? u.kl.dataSync()[0] : null;
    const gradNorm = c.optimizer === "sgd"
      ? sgdStep(params, u.grads, opt, { lr: c.lr, momentum: c.momentum, gradClip: c.gradClip })
      : adamStep(params, u.grads, opt, { lr: c.lr, beta1: c.beta1, beta2: c.beta2, eps: 1e-8, weightDecay: 0, gradClip: c.gradClip });
    return { clip, first, loss, kl, gradNorm };
  } finally {
    tf.dispose(pendingTensors(u));
  }
}

/** How far the step moved the policy: read-only, after the step's updates. */
export interface Drift {
  klPrev: number;
  klStart: number | null;
  paramDistance: number | null;
}

/**
 * KL to the pre-step policy (pi_old, on the step's own rollouts, after all its updates), KL of
 * pi_old to the start, and the parameters' L2 distance from the start. Reads, never writes.
 */
export function driftDiagnostics(params: Params, ctx: GrpoContext, ro: Rollout, old: OldPass, batches: number[][]): Drift {
  const newLogp: Float32Array[] = new Array(ro.rows.length);
  const rows: number[] = [];
  for (const members of diagnosticBatches(batches)) {
    rows.push(...members);
    const mrows = members.map((i) => ro.rows[i]);
    const pb = packSequences(mrows);
    const lp = tf.tidy(() => tokenLogProbs(params, pb.ids, ctx.model, ctx.config.temperature).dataSync() as Float32Array);
    gridToResponseValues(mrows, pb.T, lp).forEach((v, j) => (newLogp[members[j]] = v));
    tf.dispose([pb.ids, pb.mask]);
  }
  const start = ctx.ref;
  const paramDistance = start
    ? tf.tidy(() => Math.sqrt(tf.addN(Object.entries(params).map(([k, p]) => tf.sum(tf.square(p.sub(start[k]))))).dataSync()[0]))
    : null;
  const on = (xs: Float32Array[]) => rows.map((i) => xs[i]);
  return { klPrev: meanK3(on(old.oldLogp), on(newLogp)), klStart: old.refLogp ? meanK3(on(old.oldLogp), on(old.refLogp)) : null, paramDistance };
}

/** 5 significant digits: enough for every diagnostic, and run files stay small. */
const round5 = (x: number) => Number(x.toPrecision(5));

/** The step's metrics from its parts. */
export function stepRecord(ro: Rollout, old: OldPass, updates: readonly UpdateStats[], drift: Drift | null, G: number, seconds: number): StepMetrics {
  const n = ro.samples.length;
  const rewards = ro.rewards;
  const mean = rewards.reduce((a, b) => a + b, 0) / n;
  let zeroVar = 0;
  for (let g = 0; g < n; g += G) if (rewards.slice(g, g + G).every((r) => r === rewards[g])) zeroVar++;
  const total = (f: (u: UpdateStats) => number) => updates.reduce((a, u) => a + f(u), 0);
  const clipTokens = Math.max(total((u) => u.clip.tokens), 1);
  const firstTokens = Math.max(total((u) => u.first.tokens), 1);
  const nUpdates = Math.max(updates.length, 1);
  const bucket = (f: (u: UpdateStats) => number[]) => Array.from({ length: POLD_BUCKETS }, (_, b) => total((u) => f(u)[b]));
  const m: StepMetrics = {
    step: ro.step,
    rewardMean: mean,
    rewardStd: Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / n),
    accuracy: ro.items.filter((x, i) => isCorrect(ro.samples[i].text, x.problem.answer)).length / n,
    codeFrequency: ro.samples.filter((s) => isCodeResponse(s.text)).length / n,
    boxedRate: ro.samples.filter((s) => hasBoxed(s.text)).length / n,
    responseLength: ro.samples.reduce((a, s) => a + s.tokens.length, 0) / n,
    tokenProb: old.tokenProb,
    entropy: old.entropy,
    clipLow: total((u) => u.clip.lowClipped) / clipTokens,
    clipHigh: total((u) => u.clip.highClipped) / clipTokens,
    firstClipLow: total((u) => u.first.lowClipped) / firstTokens,
    firstClipHigh: total((u) => u.first.highClipped) / firstTokens,
    codeProb: old.codeProb,
    ratioMean: total((u) => u.clip.ratioSum) / clipTokens,
    gradNorm: total((u) => u.gradNorm) / nUpdates,
    zeroVarianceGroups: zeroVar / (n / G),
    loss: total((u) => u.loss) / nUpdates,
    kl: total((u) => u.kl ?? 0) / nUpdates,
    seconds,
    outLowPos: round5(total((u) => u.clip.lowUnclipped) / clipTokens),
    outHighNeg: round5(total((u) => u.clip.highUnclipped) / clipTokens),
    pOldBuckets: { tokens: bucket((u) => u.clip.byPOld!.tokens), low: bucket((u) => u.clip.byPOld!.low), high: bucket((u) => u.clip.byPOld!.high) },
  };
  if (drift) {
    m.klPrev = round5(drift.klPrev);
    if (drift.klStart !== null) m.klStart = round5(drift.klStart);
    if (drift.paramDistance !== null) m.paramDistance = round5(drift.paramDistance);
  }
  return m;
}

/** Seconds a step spent in each phase (the benchmark's split; updates include the shared pi_old forward). */
export interface StepPhases {
  sampling: number;
  piOld: number;
  updates: number;
  diagnostics: number;
}

/** One GRPO step in place on params/opt. Deterministic given (ctx, step). `phases`, when given, receives the step's time split. */
export function grpoStep(params: Params, opt: AdamState, ctx: GrpoContext, step: number, phases?: StepPhases): StepMetrics {
  const t0 = Date.now();
  let lap = t0;
  const done = (k: keyof StepPhases) => {
    const now = Date.now();
    if (phases) phases[k] += (now - lap) / 1000;
    lap = now;
  };
  const c = ctx.config;
  const ro = rollout(params, ctx, step);
  done("sampling");
  const first = miniBatches(ctx, ro, 0);
  // The first update's forward is pi_old's on the first mini-batch (same parameters, same ids):
  // computed once, its gradient held while pi_old runs over the other mini-batches (impl.ts).
  const shared = impl().sharedFirstPass && c.klCoef === 0 ? updateGradients(params, ctx, ro, null, first[0]) : null;
  done("updates");
  let old: OldPass;
  try {
    old = oldPolicyPass(params, ctx, ro, first, shared ? [shared.grids!] : []);
  } catch (e) {
    if (shared) tf.dispose(pendingTensors(shared));
    throw e;
  }
  done("piOld");
  const updates: UpdateStats[] = [];
  for (let epoch = 0; epoch < c.ppoEpochs; epoch++) {
    for (const [bi, members] of (epoch === 0 ? first : miniBatches(ctx, ro, epoch)).entries()) {
      updates.push(shared && epoch === 0 && bi === 0 ? applyUpdate(params, opt, ctx, shared) : updateOnce(params, opt, ctx, ro, old, members));
    }
  }
  done("updates");
  const drift = driftDiagnostics(params, ctx, ro, old, first);
  done("diagnostics");
  return stepRecord(ro, old, updates, drift, c.samplesPerPrompt, (Date.now() - t0) / 1000);
}
