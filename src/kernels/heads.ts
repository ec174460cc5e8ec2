/**
 * Attention's head layout changes as one copy each: the fused q/k/v projection (B*T, S*C) into
 * S tensors of heads (B*H, T, hd), and heads back into a (B*T, C) matrix. A WebAssembly kernel for
 * the wasm backend, with a gradient that is the opposite copy.
 *
 * Why: the op-by-op path (model.ts splitHeads/mergeHeads) is a SplitV (the backend slices each
 * part out with a generic strided loop), then a reshape, a 4-D transpose and another reshape per
 * part, and the same again transposed in the backward pass; at the paper's shape these copies
 * were ~8% of a GRPO step's kernel time.
 *
 * Exactness: pure data movement (no arithmetic), so every value and gradient keeps its bits; the
 * gradient of a split is the merge of the parts' gradients (tf.js's is a concat, also a copy).
 */
import * as tf from "@tensorflow/tfjs";
import { assemble, get, i32c, I32, inc, set, V128, whileNot } from "./wasm-emit";
import { wasmApi } from "./bmm-wasm";
import type { WasmBackend } from "./elementwise";

// parameters: the matrix, the heads tensor (byte addresses), B, T, H, hd, the matrix's width W
// and the column where this part starts (floats)
const MAT = 0, HEADS = 1, B = 2, T = 3, H = 4, HD = 5, W = 6, COL0 = 7;
// i32 locals: b, t, h, pointers into the matrix and the heads, end of one head's row
const BI = 8, TI = 9, HI = 10, PM = 11, PH = 12, PEND = 13;

/** Copy between matrix[(b*T + t), col0 + h*hd + d] and heads[(b*H + h), t, d] (toHeads: matrix -> heads). hd % 4 == 0. */
function copyBody(toHeads: boolean): number[] {
  const bytes = (code: number[]) => [...code, ...i32c(4), I32.mul];
  const [from, to] = toHeads ? [PM, PH] : [PH, PM];
  const row = [
    // pm = mat + ((b*T + t)*W + col0 + h*hd)*4; ph = heads + (((b*H + h)*T + t)*hd)*4
    ...get(MAT), ...bytes([...get(BI), ...get(T), I32.mul, ...get(TI), I32.add, ...get(W), I32.mul, ...get(COL0), I32.add, ...get(HI), ...get(HD), I32.mul, I32.add]), I32.add, ...set(PM),
    ...get(HEADS), ...bytes([...get(BI), ...get(H), I32.mul, ...get(HI), I32.add, ...get(T), I32.mul, ...get(TI), I32.add, ...get(HD), I32.mul]), I32.add, ...set(PH),
    ...get(PH), ...bytes(get(HD)), I32.add, ...set(PEND),
    ...whileNot([...get(PH), ...get(PEND), I32.geS], [
      ...get(to), ...get(from), ...V128.load(), ...V128.store(),
      ...inc(PM, i32c(16)),
      ...inc(PH, i32c(16)),
    ]),
  ];
  const loop = (i: number, n: number, body: number[]) => [...i32c(0), ...set(i), ...whileNot([...get(i), ...get(n), I32.geS], [...body, ...inc(i, i32c(1))])];
  return loop(BI, B, loop(TI, T, loop(HI, H, row)));
}

type CopyFn = (mat: number, heads: number, b: number, t: number, h: number, hd: number, w: number, col0: number) => void;
interface Copies { toHeads: CopyFn; fromHeads: CopyFn }

const instances = new WeakMap<object, Copies>();
function copiesFor(backend: WasmBackend): Copies {
  let c = instances.get(backend);
  if (!c) {
    const memory = backend.wasm?.asm?.memory;
    if (!(memory instanceof wasmApi.Memory)) throw new Error("heads kernel: the wasm backend does not expose its memory");
    const fn = (name: string, toHeads: boolean) => ({ name, params: 8, locals: { i32: 6, v128: 0 }, body: copyBody(toHeads) });
    const e = new wasmApi.Instance(new wasmApi.Module(assemble([fn("toHeads", true), fn("fromHeads", false)])), { env: { memory } }).exports;
    c = { toHeads: e.toHeads as CopyFn, fromHeads: e.fromHeads as CopyFn };
    instances.set(backend, c);
  }
  return c;
}

export const SPLIT_KERNEL = "SpuriousSplitHeads";
export const MERGE_KERNEL = "SpuriousMergeHeads";

interface HeadAttrs { B: number; T: number; H: number }

const off = (backend: WasmBackend, t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;

tf.registerKernel({
  kernelName: SPLIT_KERNEL,
  backendName: "wasm",
  kernelFunc: (({ inputs, backend: be, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: HeadAttrs & { parts: number } }) => {
    const backend = be as WasmBackend;
    const x = inputs.x as tf.TensorInfo;
    const { B, T, H, parts } = attrs;
    const W = x.shape[1]!;
    const hd = W / parts / H;
    const outs = Array.from({ length: parts }, () => backend.makeOutput([B * H, T, hd], "float32"));
    outs.forEach((o, s) => copiesFor(backend).toHeads(off(backend, x), off(backend, o), B, T, H, hd, W, s * H * hd));
    return outs;
  }) as unknown as tf.KernelFunc,
});

tf.registerKernel({
  kernelName: MERGE_KERNEL,
  backendName: "wasm",
  kernelFunc: (({ inputs, backend: be, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: HeadAttrs }) => {
    const backend = be as WasmBackend;
    const parts = Object.values(inputs) as tf.TensorInfo[];
    const { B, T, H } = attrs;
    const hd = parts[0].shape[2]!;
    const W = parts.length * H * hd;
    const out = backend.makeOutput([B * T, W], "float32");
    parts.forEach((p, s) => copiesFor(backend).fromHeads(off(backend, out), off(backend, p), B, T, H, hd, W, s * H * hd));
    return out;
  }) as unknown as tf.KernelFunc,
});

const runSplit = (x: tf.Tensor, a: HeadAttrs, parts: number) => tf.engine().runKernel(SPLIT_KERNEL, { x }, { B: a.B, T: a.T, H: a.H, parts } as unknown as tf.NamedAttrMap) as unknown as tf.Tensor3D[];
// the merge records how many parts it joined: its gradient splits into as many
const runMerge = (xs: tf.Tensor[], a: HeadAttrs) => tf.engine().runKernel(MERGE_KERNEL, Object.fromEntries(xs.map((x, i) => [`x${i}`, x])), { B: a.B, T: a.T, H: a.H, parts: xs.length } as unknown as tf.NamedAttrMap) as tf.Tensor2D;

/** Whether the kernels can run here: wasm, float32, heads of whole 4-lane groups. */
export function headsKernelFits(x: tf.Tensor, headDim: number): boolean {
  return tf.getBackend() === "wasm" && x.dtype === "float32" && headDim % 4 === 0;
}

// Gradients: each copy's is the opposite copy (tf.js's of split is a concat, of transpose a transpose).
tf.registerGradient({
  kernelName: SPLIT_KERNEL,
  gradFunc: (dys, _saved, attrs) => {
    const merged = runMerge(dys as tf.Tensor[], attrs as unknown as HeadAttrs);
    return { x: () => merged };
  },
});
tf.registerGradient({
  kernelName: MERGE_KERNEL,
  gradFunc: (dy, _saved, attrs) => {
    const a = attrs as unknown as HeadAttrs & { parts: number };
    const parts = runSplit(dy as tf.Tensor, a, a.parts);
    return Object.fromEntries(parts.map((p, i) => [`x${i}`, () => p]));
  },
});

/** (B*T, S*C) -> S tensors (B*H, T, C/H): part s is columns s*C .. (s+1)*C - 1, split into heads. */
export function splitHeadsKernel(x: tf.Tensor, B: number, T: number, H: number, parts: number): tf.Tensor3D[] {
  return runSplit(x, { B, T, H }, parts);
}

/** (B*H, T, hd) -> (B*T, H*hd): heads back side by side. */
export function mergeHeadsKernel(x: tf.Tensor3D, B: number, T: number, H: number): tf.Tensor2D {
  return runMerge([x], { B, T, H });
}
