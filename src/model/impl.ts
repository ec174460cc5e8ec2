/**
 * Which implementation of the two speed-ups runs: the optimised paths (default) or the
 * straightforward ones they replaced. The switch exists so that tests can check that an
 * optimisation changes no result and the benchmark can time the straightforward baseline on the
 * same machine; experiments never touch it.
 *
 *   fastMatMul  2-D products whose gradient uses explicit transposes + plain matMuls (on wasm a
 *               transposed matMul leaves XNNPACK's fast path, ~10x slower) instead of tf.matMul's
 *               own gradient
 *   kvCache     batched, left-padded, KV-cached decoding instead of one prompt at a time with the
 *               whole sequence recomputed for every new token
 *   attentionKernel  attention's rank-3 products through our wasm SIMD kernel (kernels/), bit-identical
 *               to tf.matMul's scalar batched path it replaces (about 1 GFLOP/s on wasm)
 *   aliasCopies  tensors the gradient tape saves, and casts to the dtype a tensor already has, are
 *               aliases of the (immutable) data instead of copies (kernels/aliases.ts)
 *   sharedFirstPass  a GRPO step's pi_old pass on its first mini-batch and the first update's
 *               forward are one computation (grpo.ts; without a KL term)
 *   dropFinishedRows  the KV-cached sampler drops rows that finished from its batch (and cache)
 *               instead of feeding them PAD until the longest row ends (sampling.ts)
 *   columnSum   sums over leading axes (bias and gain gradients) by our wasm SIMD kernel
 *               (kernels/column-sum.ts) instead of a transpose and the backend's Sum; same order
 *   fusedGelu   the MLP's GELU as 2 fused wasm kernels + tanh forward and 1 backward
 *               (kernels/gelu.ts) instead of ~25 element-wise kernels; same rounding step by step
 *   simdTanh    the fused GELU's forward as one kernel whose tanh is a SIMD replica of the backend's
 *               scalar libm tanhf (kernels/tanh.ts), instead of two kernels around the backend's Tanh
 *   headsKernel attention's q/k/v split into heads, and the heads' merge, as one copy each
 *               (kernels/heads.ts) instead of a split, reshapes and 4-D transposes
 *
 * A process-wide switch rather than a parameter because it must reach every matMul inside the
 * model without changing any signature; `withImpl` restores the previous setting even on throw.
 */
export interface Impl {
  fastMatMul: boolean;
  kvCache: boolean;
  attentionKernel: boolean;
  aliasCopies: boolean;
  sharedFirstPass: boolean;
  dropFinishedRows: boolean;
  columnSum: boolean;
  fusedGelu: boolean;
  simdTanh: boolean;
  headsKernel: boolean;
}

const current: Impl = { fastMatMul: true, kvCache: true, attentionKernel: true, aliasCopies: true, sharedFirstPass: true, dropFinishedRows: true, columnSum: true, fusedGelu: true, simdTanh: true, headsKernel: true };

export function impl(): Readonly<Impl> {
  return current;
}

export function withImpl<T>(overrides: Partial<Impl>, fn: () => T): T {
  const saved = { ...current };
  Object.assign(current, overrides);
  try {
    return fn();
  } finally {
    Object.assign(current, saved);
  }
}

export const STRAIGHTFORWARD: Impl = { fastMatMul: false, kvCache: false, attentionKernel: false, aliasCopies: false, sharedFirstPass: false, dropFinishedRows: false, columnSum: false, fusedGelu: false, simdTanh: false, headsKernel: false };

/** The code as it was before issue 13's speed-ups: the benchmark's "previous" column. */
export const PREVIOUS: Partial<Impl> = { attentionKernel: false, aliasCopies: false, sharedFirstPass: false, dropFinishedRows: false, columnSum: false, fusedGelu: false, simdTanh: false, headsKernel: false };
