/**
 * Sums over a tensor's leading axes (the bias and gain gradients: dy (B*T, C) summed over rows)
 * as a WebAssembly SIMD kernel, bit-identical to the wasm backend's Sum.
 *
 * Why: the backend reduces only over trailing axes, so a sum over axis 0 first transposes the
 * whole (9216, 256) gradient, then sums each row; in a paper-shape GRPO update these transposes
 * and sums were ~10% of the kernel time.
 *
 * Exactness: the backend's Sum adds each output's values from 0 in order (checked value by value
 * against a float32 loop in the tests), and after its transpose that order is the leading index
 * r = 0, 1, ... R-1. This kernel keeps exactly that order per output and vectorises across 4
 * neighbouring outputs (columns of the (R, C) view), whose lanes are independent.
 */
import * as tf from "@tensorflow/tfjs";
import { impl } from "../model/impl";
import { assemble, get, i32c, I32, inc, set, V128, whileNot } from "./wasm-emit";
import { wasmApi, type WasmMemory } from "./bmm-wasm";

// parameters: x, out (byte addresses), R rows, C columns (a multiple of 4)
const X = 0, OUT = 1, R = 2, C = 3;
// i32 locals: row r, pointer p into x, pointer q into out, end of the output row
const RI = 4, P = 5, Q = 6, QEND = 7;

/**
 * colsum(x, out, R, C): out[j] = sum over r = 0 .. R-1, in order, of x[r, j] (C % 4 == 0).
 * Rows outermost, so x streams through once; each output accumulates in place in `out` (zeroed
 * first: 0 + x[0, j], then + x[1, j], ... exactly the backend's order).
 */
function colsumBody(): number[] {
  const qEnd = [...get(OUT), ...get(C), ...i32c(4), I32.mul, I32.add, ...set(QEND)];
  return [
    ...qEnd,
    ...get(OUT), ...set(Q),
    ...whileNot([...get(Q), ...get(QEND), I32.geS], [...get(Q), ...V128.zero, ...V128.store(), ...inc(Q, i32c(16))]),
    ...get(X), ...set(P),
    ...i32c(0), ...set(RI),
    ...whileNot([...get(RI), ...get(R), I32.geS], [
      ...get(OUT), ...set(Q),
      ...whileNot([...get(Q), ...get(QEND), I32.geS], [
        ...get(Q), ...get(Q), ...V128.load(), ...get(P), ...V128.load(), ...V128.f32x4Add, ...V128.store(),
        ...inc(Q, i32c(16)),
        ...inc(P, i32c(16)),
      ]),
      ...inc(RI, i32c(1)),
    ]),
  ];
}

type ColsumFn = (x: number, out: number, rows: number, cols: number) => void;

interface WasmBackend {
  wasm: { asm?: { memory?: WasmMemory } };
  dataIdMap: { get(id: unknown): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
}

const instances = new WeakMap<object, ColsumFn>();

function colsumFor(backend: WasmBackend): ColsumFn | null {
  let fn = instances.get(backend);
  if (!fn) {
    const memory = backend.wasm?.asm?.memory;
    if (!(memory instanceof wasmApi.Memory) || (typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer)) return null;
    const mod = new wasmApi.Module(assemble([{ name: "colsum", params: 4, locals: { i32: 4, v128: 0 }, body: colsumBody() }]));
    fn = new wasmApi.Instance(mod, { env: { memory } }).exports.colsum as ColsumFn;
    instances.set(backend, fn);
  }
  return fn;
}

/** The (R, C) view of a sum over `axes`, when they are the leading axes and C suits the kernel; else null. */
export function leadingSplit(shape: readonly number[], axis: number | number[]): { rows: number; cols: number; keep: number } | null {
  // in the order given: the backend sums over the reduced axes flattened in that order, so [1, 0]
  // is another order than [0, 1] (left to the backend)
  const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + shape.length : a));
  if (axes.length === 0 || axes.length >= shape.length || axes.some((a, i) => a !== i)) return null;
  const rows = shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
  const cols = shape.slice(axes.length).reduce((a, b) => a * b, 1);
  return cols % 4 === 0 && rows > 0 && cols > 0 ? { rows, cols, keep: axes.length } : null;
}

let installed = false;

/** Route wasm's Sum over leading axes (float32) through the kernel, under impl().columnSum (idempotent). */
export function installColumnSum(): void {
  const sum = tf.getKernel("Sum", "wasm");
  if (installed || !sum) return;
  installed = true;
  tf.unregisterKernel("Sum", "wasm");
  tf.registerKernel({
    ...sum,
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
      const split = impl().columnSum && x.dtype === "float32" ? leadingSplit(x.shape, axis) : null;
      const backend = args.backend as unknown as WasmBackend;
      const colsum = split ? colsumFor(backend) : null;
      if (!split || !colsum) return sum.kernelFunc(args);
      const outShape = keepDims ? [...new Array<number>(split.keep).fill(1), ...x.shape.slice(split.keep)] : x.shape.slice(split.keep);
      const out = backend.makeOutput(outShape, "float32");
      const off = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
      colsum(off(x), off(out), split.rows, split.cols);
      return out;
    },
  });
}
