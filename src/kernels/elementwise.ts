/**
 * Element-wise WebAssembly SIMD kernels for the wasm backend: a function over n floats, 4 lanes at
 * a time, written as straight-line code over v128 locals (`Lanes`), and registered with tf.js as
 * kernels that work in place in the backend's memory.
 *
 * Lanes are independent and every f32x4 operation rounds each lane exactly as the scalar f32
 * operation does (IEEE, no FMA in wasm), so a kernel that performs a chain's operations in the
 * chain's order gives the chain's bits.
 */
import * as tf from "@tensorflow/tfjs";
import { assemble, get, i32c, I32, inc, set, V128, whileNot, type WasmFunction } from "./wasm-emit";
import { wasmApi, type WasmMemory } from "./bmm-wasm";

/** Straight-line code over v128 values: `let` stores an expression in a fresh local and returns the code that reads it. */
export class Lanes {
  readonly code: number[] = [];
  constructor(private next: number) {}
  let(expr: number[]): number[] {
    const local = this.next++;
    this.code.push(...expr, ...set(local));
    return get(local);
  }
  /** The first local not used yet. */
  get end(): number {
    return this.next;
  }
}

/** Binary v128 operation: (a, b) -> code for `a op b`. */
export const op2 = (code: number[]) => (a: number[], b: number[]) => [...a, ...b, ...code];
/** `mask ? a : b`, lane by lane (mask lanes all ones or all zeros). */
export const select = (mask: number[], a: number[], b: number[]) => [...a, ...b, ...mask, ...V128.bitselect];

/** An element-wise kernel: its tf.js name, and how many float32 inputs and outputs (all of one shape). */
export interface ElementwiseSpec {
  kernelName: string;
  inputs: number;
  outputs: number;
  /** Code for 4 lanes of each output from 4 lanes of each input. */
  build: (l: Lanes, xs: number[][]) => number[][];
}

/** The function f(in_0 .. in_{I-1}, out_0 .. out_{O-1}, groups): byte addresses, then n / 4. */
function elementwiseFunction(name: string, s: ElementwiseSpec): WasmFunction {
  const n = s.inputs + s.outputs;
  const IDX = n + 1, END = n + 2, V0 = n + 3;
  const l = new Lanes(V0 + s.inputs);
  const outs = s.build(l, Array.from({ length: s.inputs }, (_, i) => get(V0 + i)));
  if (outs.length !== s.outputs) throw new Error(`${s.kernelName}: built ${outs.length} outputs, declared ${s.outputs}`);
  return {
    name,
    params: n + 1,
    locals: { i32: 2, v128: l.end - V0 },
    body: [
      ...get(n), ...i32c(16), I32.mul, ...set(END),
      ...i32c(0), ...set(IDX),
      ...whileNot([...get(IDX), ...get(END), I32.geS], [
        ...Array.from({ length: s.inputs }, (_, i) => [...get(i), ...get(IDX), I32.add, ...V128.load(), ...set(V0 + i)]).flat(),
        ...l.code,
        ...outs.flatMap((o, j) => [...get(s.inputs + j), ...get(IDX), I32.add, ...o, ...V128.store()]),
        ...inc(IDX, i32c(16)),
      ]),
    ],
  };
}

/** The slice of tfjs-backend-wasm's BackendWasm our kernels use. */
export interface WasmBackend {
  wasm: { asm?: { memory?: WasmMemory } };
  dataIdMap: { get(id: unknown): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
}

/**
 * Register the kernels of `specs` (one module, instantiated once per backend on its memory) for
 * the wasm backend. Each takes float32 inputs of one shape whose size is a multiple of 4 and
 * returns its output(s) of that shape.
 */
export function registerElementwise(module: string, specs: readonly ElementwiseSpec[]): void {
  const instances = new WeakMap<object, ((...addrs: number[]) => void)[]>();
  const fnsFor = (backend: WasmBackend) => {
    let fns = instances.get(backend);
    if (!fns) {
      const memory = backend.wasm?.asm?.memory;
      if (!(memory instanceof wasmApi.Memory)) throw new Error(`${module}: the wasm backend does not expose its memory`);
      const bytes = assemble(specs.map((s, i) => elementwiseFunction(`f${i}`, s)));
      const exported = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } }).exports;
      fns = specs.map((_, i) => exported[`f${i}`] as (...addrs: number[]) => void);
      instances.set(backend, fns);
    }
    return fns;
  };
  specs.forEach((s, i) => {
    tf.registerKernel({
      kernelName: s.kernelName,
      backendName: "wasm",
      kernelFunc: (({ inputs, backend: be }: { inputs: tf.NamedTensorInfoMap; backend: unknown }) => {
        const backend = be as WasmBackend;
        const ins = Object.values(inputs) as tf.TensorInfo[];
        const n = ins[0].shape.reduce((a, b) => a * b, 1);
        if (ins.length !== s.inputs || n % 4 !== 0 || ins.some((t) => t.dtype !== "float32" || t.shape.reduce((a, b) => a * b, 1) !== n)) {
          throw new Error(`${s.kernelName}: wants ${s.inputs} float32 input(s) of one size, a multiple of 4; got ${ins.map((t) => `${t.dtype}[${t.shape}]`).join(", ")}`);
        }
        const outs = Array.from({ length: s.outputs }, () => backend.makeOutput(ins[0].shape, "float32"));
        const off = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
        fnsFor(backend)[i](...ins.map(off), ...outs.map(off), n / 4);
        return s.outputs === 1 ? outs[0] : outs;
      }) as unknown as tf.KernelFunc,
    });
  });
}
