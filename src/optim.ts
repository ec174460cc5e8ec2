/**
 * Adam with decoupled weight decay and global gradient-norm clipping, written out because tfjs
 * core has neither AdamW nor clipping. State is explicit (moments + step), so it checkpoints.
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

/**
 * One Adam update in place. Returns the gradient norm before clipping.
 * `lr` overrides cfg.lr for this step (schedules). Grads are not disposed here.
 */
export function adamStep(params: Params, grads: Record<string, tf.Tensor>, state: AdamState, cfg: AdamConfig, lr = cfg.lr): number {
  const norm = globalNorm(grads);
  const scale = cfg.gradClip > 0 && Number.isFinite(cfg.gradClip) && norm > cfg.gradClip ? cfg.gradClip / norm : 1;
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
