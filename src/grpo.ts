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
 * Simplifications, stated up front: no entropy bonus (the paper has none), no value model,
 * no dynamic sampling or over-long filtering; KL to a frozen reference is available (k3), off by
 * default as in the paper.
 */
import * as tf from "@tensorflow/tfjs";
import { packSequences, responseValuesToGrid, gridToResponseValues, type SequenceRow } from "./batch";
import { isCodeResponse, hasBoxed, isCorrect } from "./grader";
import { aggregateLoss, clippedTokenLoss, clipStats, groupAdvantages, k3, LOSS_AGGREGATIONS, type AdvantageMode, type LossAggregation } from "./grpo-math";
import { paramGrads, tokenLogProbs, tokenLogProbsAndEntropy, type ModelConfig, type Params } from "./model";
import { adamStep, type AdamConfig, type AdamState } from "./optim";
import type { Problem } from "./problems";
import type { RewardFn } from "./rewards";
import type { Rng } from "./rng";
import { promptIds, sampleResponses } from "./sampling";
import { encode } from "./tokens";
import { CODE_OPENING } from "./traces";

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
  /** "std" divides by the group std (paper); "no_std" is Dr. GRPO. */
  advantage: AdvantageMode;
  /** How token losses reduce to a scalar (paper: seq-mean-token-mean). */
  lossAggregation: LossAggregation;
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
}

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
};

const KINDS: Record<keyof GrpoConfig, "posint" | "nonneg" | "pos" | "bool" | "unit" | string[]> = {
  promptsPerStep: "posint", samplesPerPrompt: "posint", miniBatchSize: "posint", ppoEpochs: "posint",
  epsLow: "unit", epsHigh: "nonneg", clip: "bool", advantage: ["std", "no_std"], lossAggregation: [...LOSS_AGGREGATIONS],
  lossNorm: "pos", klCoef: "nonneg", lr: "pos", beta1: "unit", beta2: "unit", gradClip: "pos", temperature: "pos",
  maxResponseTokens: "posint", steps: "nonneg",
};

/** Defaults + overrides, validated: unknown keys and bad values are errors naming the key. */
export function resolveGrpoConfig(overrides: Partial<Record<string, unknown>> = {}): GrpoConfig {
  const out: Record<string, unknown> = { ...DEFAULT_GRPO };
  if (overrides.maxResponseTokens !== undefined && overrides.lossNorm === undefined) out.lossNorm = overrides.maxResponseTokens;
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in KINDS)) throw new Error(`unknown GRPO setting "${k}"; valid: ${Object.keys(KINDS).join(", ")}`);
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
      if (k === "steps" && !Number.isInteger(v)) throw bad("an integer");
    }
  }
  const c = out as unknown as GrpoConfig;
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
  /** Frozen reference for the KL term (null when klCoef = 0). */
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
  /** Shares of response tokens clipped on the low side (rho < 1-eps, A < 0) and high side. */
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
function firstResponseIndex(row: SequenceRow, b: number, T: number): number {
  return b * (T - 1) + row.prompt.length - 1;
}

/** One GRPO step in place on params/opt. Deterministic given (ctx, step). */
export function grpoStep(params: Params, opt: AdamState, ctx: GrpoContext, step: number): StepMetrics {
  const t0 = Date.now();
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

  // Mini-batches of epoch 0, and pi_old (+ entropy, ref) computed with their exact shapes.
  const order = (epoch: number) => stepPrompts(rows.length, rows.length, ctx.rng.fork("shuffle", step, epoch));
  const nMini = rows.length / c.miniBatchSize;
  const oldLogp: Float32Array[] = new Array(rows.length);
  const refLogp: Float32Array[] = new Array(rows.length);
  let entropySum = 0;
  let probSum = 0;
  let tokenCount = 0;
  let codeProbSum = 0;
  const codeToken = encode(CODE_OPENING)[0];
  const first = order(0);
  for (let m = 0; m < nMini; m++) {
    const members = first.slice(m * c.miniBatchSize, (m + 1) * c.miniBatchSize);
    const mrows = members.map((i) => rows[i]);
    const pb = packSequences(mrows);
    const [lp, ent, pp] = tf.tidy(() => {
      const r = tokenLogProbsAndEntropy(params, pb.ids, ctx.model, c.temperature, codeToken);
      return [r.logp.dataSync() as Float32Array, r.entropy.dataSync() as Float32Array, r.probeProb.dataSync() as Float32Array];
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
    if (ctx.ref) {
      const rl = tf.tidy(() => tokenLogProbs(ctx.ref!, pb.ids, ctx.model, c.temperature).dataSync() as Float32Array);
      gridToResponseValues(mrows, pb.T, rl).forEach((v, j) => (refLogp[members[j]] = v));
    }
    tf.dispose([pb.ids, pb.mask]);
  }

  const adam: AdamConfig = { lr: c.lr, beta1: c.beta1, beta2: c.beta2, eps: 1e-8, weightDecay: 0, gradClip: c.gradClip };
  const clipCfg = { epsLow: c.epsLow, epsHigh: c.epsHigh, clip: c.clip };
  let low = 0, high = 0, clipTokens = 0, ratioSum = 0, normSum = 0, lossSum = 0, klSum = 0, updates = 0;
  let firstLow = 0, firstHigh = 0, firstTokens = 0;
  for (let epoch = 0; epoch < c.ppoEpochs; epoch++) {
    const ord = epoch === 0 ? first : order(epoch);
    for (let m = 0; m < nMini; m++) {
      const members = ord.slice(m * c.miniBatchSize, (m + 1) * c.miniBatchSize);
      const mrows = members.map((i) => rows[i]);
      const pb = packSequences(mrows);
      const old = tf.tensor2d(responseValuesToGrid(mrows, pb.T, members.map((i) => oldLogp[i])), [mrows.length, pb.T - 1]);
      const ref = ctx.ref ? tf.tensor2d(responseValuesToGrid(mrows, pb.T, members.map((i) => refLogp[i])), [mrows.length, pb.T - 1]) : null;
      const advT = tf.tensor2d(members.map((i) => adv[i]), [mrows.length, 1]);
      let logpKept: tf.Tensor | null = null;
      let klKept: tf.Tensor | null = null;
      const { value, grads } = paramGrads(params, () => {
        const logp = tokenLogProbs(params, pb.ids, ctx.model, c.temperature);
        logpKept = tf.keep(logp);
        let loss = aggregateLoss(clippedTokenLoss(logp, old, advT, clipCfg), pb.mask, c.lossAggregation, c.lossNorm);
        if (ref && c.klCoef > 0) {
          const kl = aggregateLoss(k3(logp, ref), pb.mask, c.lossAggregation, c.lossNorm);
          klKept = tf.keep(kl);
          loss = loss.add(kl.mul(c.klCoef));
        }
        return loss;
      });
      const ratio = tf.tidy(() => tf.exp(logpKept!.sub(old)).dataSync() as Float32Array);
      const advV = advT.dataSync() as Float32Array;
      const st = clipStats(ratio, advV, pb.mask.dataSync() as Float32Array, pb.T - 1, clipCfg);
      const firstMask = new Float32Array(ratio.length);
      mrows.forEach((r, b) => (firstMask[firstResponseIndex(r, b, pb.T)] = 1));
      const fst = clipStats(ratio, advV, firstMask, pb.T - 1, clipCfg);
      firstLow += fst.lowClipped;
      firstHigh += fst.highClipped;
      firstTokens += fst.tokens;
      low += st.lowClipped;
      high += st.highClipped;
      clipTokens += st.tokens;
      ratioSum += st.ratioSum;
      lossSum += value.dataSync()[0];
      if (klKept) klSum += (klKept as tf.Tensor).dataSync()[0];
      normSum += adamStep(params, grads, opt, adam);
      updates++;
      tf.dispose([value, ...Object.values(grads), logpKept!, ...(klKept ? [klKept] : []), old, advT, pb.ids, pb.mask, ...(ref ? [ref] : [])]);
    }
  }

  const n = samples.length;
  const mean = rewards.reduce((a, b) => a + b, 0) / n;
  let zeroVar = 0;
  for (let g = 0; g < n; g += G) if (rewards.slice(g, g + G).every((r) => r === rewards[g])) zeroVar++;
  return {
    step,
    rewardMean: mean,
    rewardStd: Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / n),
    accuracy: items.filter((x, i) => isCorrect(samples[i].text, x.problem.answer)).length / n,
    codeFrequency: samples.filter((s) => isCodeResponse(s.text)).length / n,
    boxedRate: samples.filter((s) => hasBoxed(s.text)).length / n,
    responseLength: samples.reduce((a, s) => a + s.tokens.length, 0) / n,
    tokenProb: probSum / Math.max(tokenCount, 1),
    entropy: entropySum / Math.max(tokenCount, 1),
    clipLow: low / Math.max(clipTokens, 1),
    clipHigh: high / Math.max(clipTokens, 1),
    firstClipLow: firstLow / Math.max(firstTokens, 1),
    firstClipHigh: firstHigh / Math.max(firstTokens, 1),
    codeProb: codeProbSum / n,
    ratioMean: ratioSum / Math.max(clipTokens, 1),
    gradNorm: normSum / Math.max(updates, 1),
    zeroVarianceGroups: zeroVar / (n / G),
    loss: lossSum / Math.max(updates, 1),
    kl: klSum / Math.max(updates, 1),
    seconds: (Date.now() - t0) / 1000,
  };
}
