/**
 * The model's GELU (tanh approximation) with its chain of element-wise kernels fused, bit-identical
 * to the op-by-op chain it replaces (model.ts `geluChain`).
 *
 * Why: the chain is 8 element-wise kernels plus tanh forward and ~16 backward, each a full pass
 * over (tokens x dMlp) values; in a paper-shape update that is ~10% of the time.
 *
 * Exactness: every kernel of the chain rounds to float32, and so does every step here, in the same
 * order (wasm f32 arithmetic is IEEE; lanes are independent). tanh itself stays the backend's
 * kernel (between the two forward pieces). The backward replays tf.js's gradients of the chain
 * (Mul: dy * other operand; Tanh: (1 - y*y) * dy; Add: dy) and adds x's five contributions in the
 * order tf.js's backprop does (reverse creation order: the x + D node first, x * 0.5 last).
 * Tests compare values and gradients bit for bit with the chain.
 */
import * as tf from "@tensorflow/tfjs";
import { assemble, get, i32c, I32, inc, set, V128, whileNot } from "./wasm-emit";
import { wasmApi, type WasmMemory } from "./bmm-wasm";

/** The chain's constants, as float32 (tf.js makes float32 scalars of them). */
export const GELU_K1 = 0.044715;
export const GELU_K2 = Math.sqrt(2 / Math.PI);

const k = V128.f32x4Const;
const { f32x4Add: ADD, f32x4Sub: SUB, f32x4Mul: MUL } = V128;

/** An element-wise function over n floats (n % 4 == 0): params are byte addresses, then n; `expr` computes one 4-lane result from the loaded inputs (locals). */
function elementwise(name: string, inputs: number, expr: (x: (i: number) => number[]) => number[], temps: number): { name: string; params: number; locals: { i32: number; v128: number }; body: number[] } {
  // params: in_0 .. in_{inputs-1}, out, n (groups of 4); i32 locals: byte offset, end; v128: inputs, temporaries
  const OUT = inputs, n = inputs + 1, IDX = inputs + 2, END = inputs + 3, V0 = inputs + 4;
  const load = (i: number) => get(V0 + i);
  return {
    name,
    params: inputs + 2,
    locals: { i32: 2, v128: inputs + temps },
    body: [
      ...get(n), ...i32c(16), I32.mul, ...set(END),
      ...i32c(0), ...set(IDX),
      ...whileNot([...get(IDX), ...get(END), I32.geS], [
        ...Array.from({ length: inputs }, (_, i) => [...get(i), ...get(IDX), I32.add, ...V128.load(), ...set(V0 + i)]).flat(),
        ...get(OUT), ...get(IDX), I32.add, ...expr(load), ...V128.store(),
        ...inc(IDX, i32c(16)),
      ]),
    ],
  };
}

// temporaries are v128 locals after the inputs: t(j)
function fns() {
  // pre(x) = ((x + ((x*x)*x)*k1) * k2)
  const pre = elementwise("pre", 1, (v) => [...v(0), ...v(0), ...v(0), ...MUL, ...v(0), ...MUL, ...k(GELU_K1), ...MUL, ...ADD, ...k(GELU_K2), ...MUL], 0);
  // post(x, g) = (x*0.5) * (g + 1)
  const post = elementwise("post", 2, (v) => [...v(0), ...k(0.5), ...MUL, ...v(1), ...k(1), ...ADD, ...MUL], 0);
  // grad(x, g, dy): see the header; temporaries dE (t0), dC (t1), dB (t2)
  const grad = elementwise("grad", 3, (v) => {
    const t = (j: number) => 10 + j; // params x, g, dy, out, n (0-4), i32 locals 5-6, inputs 7-9, temporaries 10-12
    const x = v(0), g = v(1), dy = v(2);
    const A = [...x, ...k(0.5), ...MUL];
    const B = [...x, ...x, ...MUL];
    const H = [...g, ...k(1), ...ADD];
    const dA = [...dy, ...H, ...MUL];
    const dH = [...dy, ...A, ...MUL];
    const dF = [...k(1), ...g, ...g, ...MUL, ...SUB, ...dH, ...MUL];
    return [
      ...dF, ...k(GELU_K2), ...MUL, ...set(t(0)), // dE = dF * k2
      ...get(t(0)), ...k(GELU_K1), ...MUL, ...set(t(1)), // dC = dE * k1
      ...get(t(1)), ...x, ...MUL, ...set(t(2)), // dB = dC * x
      // (((dE + dC*B) + dB*x) + dB*x) + dA*0.5
      ...get(t(0)), ...get(t(1)), ...B, ...MUL, ...ADD, ...get(t(2)), ...x, ...MUL, ...ADD, ...get(t(2)), ...x, ...MUL, ...ADD, ...dA, ...k(0.5), ...MUL, ...ADD,
    ];
  }, 3);
  return [pre, post, grad];
}

type Fn = (...addrs: number[]) => void;
interface Kernels { pre: Fn; post: Fn; grad: Fn }

interface WasmBackend {
  wasm: { asm?: { memory?: WasmMemory } };
  dataIdMap: { get(id: unknown): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
}

const instances = new WeakMap<object, Kernels>();

function kernelsFor(backend: WasmBackend): Kernels {
  let ks = instances.get(backend);
  if (!ks) {
    const memory = backend.wasm?.asm?.memory;
    if (!(memory instanceof wasmApi.Memory)) throw new Error("fused GELU: the wasm backend does not expose its memory");
    const e = new wasmApi.Instance(new wasmApi.Module(assemble(fns())), { env: { memory } }).exports as unknown as Kernels;
    ks = { pre: e.pre, post: e.post, grad: e.grad };
    instances.set(backend, ks);
  }
  return ks;
}

const NAMES = { pre: "SpuriousGeluPre", post: "SpuriousGeluPost", grad: "SpuriousGeluGrad" } as const;
for (const [which, kernelName] of Object.entries(NAMES) as [keyof Kernels, string][]) {
  tf.registerKernel({
    kernelName,
    backendName: "wasm",
    kernelFunc: (({ inputs, backend: be }: { inputs: tf.NamedTensorInfoMap; backend: unknown }) => {
      const backend = be as WasmBackend;
      const ins = Object.values(inputs) as tf.TensorInfo[];
      const out = backend.makeOutput(ins[0].shape, "float32");
      const off = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
      const n = ins[0].shape.reduce((a, b) => a * b, 1);
      kernelsFor(backend)[which](...ins.map(off), off(out), n / 4);
      return out;
    }) as unknown as tf.KernelFunc,
  });
}

/** Whether the fused GELU can run on x here (wasm, float32, whole 4-lane groups). */
export function fusedGeluFits(x: tf.Tensor): boolean {
  return tf.getBackend() === "wasm" && x.dtype === "float32" && x.size % 4 === 0;
}

const run = (name: string, inputs: tf.NamedTensorMap) => tf.engine().runKernel(name, inputs) as tf.Tensor;

/** GELU as model.ts's chain computes it, fused (forward: 2 kernels + tanh; backward: 1). */
export const fusedGelu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const g = tf.tanh(run(NAMES.pre, { x }));
  save([x, g]);
  return {
    value: run(NAMES.post, { x, g }),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(NAMES.grad, { x: saved[0], g: saved[1], dy }),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
