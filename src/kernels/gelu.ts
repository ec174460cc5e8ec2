/**
 * The model's GELU (tanh approximation) with its chain of element-wise kernels fused, bit-identical
 * to the op-by-op chain it replaces (model.ts `geluChain`).
 *
 * Why: the chain is 8 element-wise kernels plus tanh forward and ~16 backward, each a full pass
 * over (tokens x dMlp) values; in a paper-shape update that is ~10% of the time.
 *
 * Exactness: every kernel of the chain rounds to float32, and so does every step here, in the same
 * order (wasm f32 arithmetic is IEEE; lanes are independent). tanh is the backend's kernel between
 * two forward pieces, or (impl simdTanh) our exact replica of it (kernels/tanh.ts) inside one
 * forward kernel. The backward replays tf.js's gradients of the chain
 * (Mul: dy * other operand; Tanh: (1 - y*y) * dy; Add: dy) and adds x's five contributions in the
 * order tf.js's backprop does (reverse creation order: the x + D node first, x * 0.5 last).
 * Tests compare values and gradients bit for bit with the chain.
 */
import * as tf from "@tensorflow/tfjs";
import { impl } from "../model/impl";
import { V128 } from "./wasm-emit";
import { op2, registerElementwise, type Lanes } from "./elementwise";
import { tanhLanes } from "./tanh";

/** The chain's constants, as float32 (tf.js makes float32 scalars of them). */
export const GELU_K1 = 0.044715;
export const GELU_K2 = Math.sqrt(2 / Math.PI);

const k = V128.f32x4Const;
const add = op2(V128.f32x4Add), sub = op2(V128.f32x4Sub), mul = op2(V128.f32x4Mul);

/** pre(x) = (x + ((x*x)*x)*k1) * k2, tanh's argument */
const pre = (x: number[]) => mul(add(x, mul(mul(mul(x, x), x), k(GELU_K1))), k(GELU_K2));
/** post(x, g) = (x*0.5) * (g + 1) */
const post = (x: number[], g: number[]) => mul(mul(x, k(0.5)), add(g, k(1)));

/** grad(x, g, dy): see the header */
function grad(l: Lanes, x: number[], g: number[], dy: number[]): number[] {
  const A = mul(x, k(0.5));
  const B = mul(x, x);
  const H = add(g, k(1));
  const dA = mul(dy, H);
  const dH = mul(dy, A);
  const dF = mul(sub(k(1), mul(g, g)), dH);
  const dE = l.let(mul(dF, k(GELU_K2)));
  const dC = l.let(mul(dE, k(GELU_K1)));
  const dB = l.let(mul(dC, x));
  // (((dE + dC*B) + dB*x) + dB*x) + dA*0.5
  return add(add(add(add(dE, mul(dC, B)), mul(dB, x)), mul(dB, x)), mul(dA, k(0.5)));
}

const NAMES = { pre: "SpuriousGeluPre", post: "SpuriousGeluPost", grad: "SpuriousGeluGrad", forward: "SpuriousGeluForward" } as const;
registerElementwise("fused GELU", [
  { kernelName: NAMES.pre, inputs: 1, outputs: 1, build: (_, [x]) => [pre(x)] },
  { kernelName: NAMES.post, inputs: 2, outputs: 1, build: (_, [x, g]) => [post(x, g)] },
  { kernelName: NAMES.grad, inputs: 3, outputs: 1, build: (l, [x, g, dy]) => [grad(l, x, g, dy)] },
  // value and tanh's output g (the gradient's input), in one pass
  {
    kernelName: NAMES.forward, inputs: 1, outputs: 2, build: (l, [x]) => {
      const g = tanhLanes(l, l.let(pre(x)));
      return [post(x, g), g];
    },
  },
]);

/** Whether the fused GELU can run on x here (wasm, float32, whole 4-lane groups). */
export function fusedGeluFits(x: tf.Tensor): boolean {
  return tf.getBackend() === "wasm" && x.dtype === "float32" && x.size % 4 === 0;
}

const run = (name: string, inputs: tf.NamedTensorMap) => tf.engine().runKernel(name, inputs) as tf.Tensor;

/** GELU as model.ts's chain computes it, fused (forward: 1 kernel, or 2 + the backend's tanh; backward: 1). */
export const fusedGelu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  let y: tf.Tensor, g: tf.Tensor;
  if (impl().simdTanh) [y, g] = tf.engine().runKernel(NAMES.forward, { x }) as unknown as tf.Tensor[];
  else {
    g = tf.tanh(run(NAMES.pre, { x }));
    y = run(NAMES.post, { x, g });
  }
  save([x, g]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(NAMES.grad, { x: saved[0], g: saved[1], dy }),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
