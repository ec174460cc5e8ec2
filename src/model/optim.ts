/**
 * Adam with decoupled weight decay and global gradient-norm clipping, written out because tfjs
 * core has neither AdamW nor clipping, and SGD with (heavy-ball) momentum for the regime study.
 * State is explicit (moments + step), so it checkpoints; SGD keeps its momentum buffer in `m` and
 * leaves `v` at zero, so one state shape (and one checkpoint layout) serves both.
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "./model";

export interface AdamConfig {
  /** Step size (constant unless the caller passes a schedule value per step). */
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay on matrices only (not gains/biases); 0 = plain Adam. */
  weightDecay: number;
  /** Clip the global gradient norm to this value; 0 or Infinity = no clipping. */
  gradClip: number;
}

export const DEFAULT_ADAM: AdamConfig = { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, gradClip: 1.0 };

export const OPTIMIZERS = ["adam", "sgd"] as const;
export type OptimizerKind = (typeof OPTIMIZERS)[number];

export interface SgdConfig {
  lr: number;
  /** Heavy-ball momentum in [0, 1): buf = momentum * buf + g; p -= lr * buf (PyTorch's SGD). 0 = plain SGD. */
  momentum: number;
  /** Clip the global gradient norm to this value; 0 or Infinity = no clipping. */
  gradClip: number;
}

/** Optimizer state: Adam's moments and step; SGD uses `m` as its momentum buffer. */
export interface AdamState {
  step: number;
  m: Record<string, tf.Variable>;
  v: Record<string, tf.Variable>;
}

export function initAdam(params: Params): AdamState {
  const m: Record<string, tf.Variable> = {};
  const v: Record<string, tf.Variable> = {};
  for (const [k, p] of Object.entries(params)) {
    // tidy frees the zerosLike temporaries; variables survive it
    m[k] = tf.tidy(() => tf.variable(tf.zerosLike(p), false));
    v[k] = tf.tidy(() => tf.variable(tf.zerosLike(p), false));
  }
  return { step: 0, m, v };
}

export function disposeAdam(s: AdamState): void {
  for (const t of [...Object.values(s.m), ...Object.values(s.v)]) t.dispose();
}

/** Global L2 norm of the gradients (a number; synchronous read). */
export function globalNorm(grads: Record<string, tf.Tensor>): number {
  return tf.tidy(() => {
    const sq = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    return Math.sqrt(tf.addN(sq).dataSync()[0]);
  });
}

/** The factor that brings a gradient of global norm `norm` down to `gradClip` (1 when within it or clipping is off). */
function clipScale(norm: number, gradClip: number): number {
  return gradClip > 0 && Number.isFinite(gradClip) && norm > gradClip ? gradClip / norm : 1;
}

/**
 * One Adam update in place. Returns the gradient norm before clipping.
 * `lr` overrides cfg.lr for this step (schedules). Grads are not disposed here.
 */
export function adamStep(params: Params, grads: Record<string, tf.Tensor>, state: AdamState, cfg: AdamConfig, lr = cfg.lr): number {
  const norm = globalNorm(grads);
  const scale = clipScale(norm, cfg.gradClip);
  state.step += 1;
  const bc1 = 1 - Math.pow(cfg.beta1, state.step);
  const bc2 = 1 - Math.pow(cfg.beta2, state.step);
  tf.tidy(() => {
    for (const [k, p] of Object.entries(params)) {
      const g0 = grads[k];
      if (!g0) continue;
      const g = scale === 1 ? g0 : g0.mul(scale);
      const m = state.m[k].mul(cfg.beta1).add(g.mul(1 - cfg.beta1));
      const v = state.v[k].mul(cfg.beta2).add(g.square().mul(1 - cfg.beta2));
      state.m[k].assign(m);
      state.v[k].assign(v);
      let update = m.div(bc1).div(v.div(bc2).sqrt().add(cfg.eps)).mul(lr);
      if (cfg.weightDecay > 0 && p.rank === 2) update = update.add(p.mul(lr * cfg.weightDecay));
      p.assign(p.sub(update));
    }
  });
  return norm;
}

/**
 * One SGD update in place (momentum buffer in state.m). Returns the gradient norm before clipping.
 * With zero-initialised state the first step's buffer is the gradient itself, as in PyTorch.
 */
export function sgdStep(params: Params, grads: Record<string, tf.Tensor>, state: AdamState, cfg: SgdConfig): number {
  const norm = globalNorm(grads);
  const scale = clipScale(norm, cfg.gradClip);
  state.step += 1;
  tf.tidy(() => {
    for (const [k, p] of Object.entries(params)) {
      const g0 = grads[k];
      if (!g0) continue;
      const g = scale === 1 ? g0 : g0.mul(scale);
      let update = g;
      if (cfg.momentum > 0) {
        update = state.m[k].mul(cfg.momentum).add(g);
        state.m[k].assign(update);
      }
      p.assign(p.sub(update.mul(cfg.lr)));
    }
  });
  return norm;
}
