/**
 * `batchMatMul`: attention's rank-3 products through our own kernel where the backend has one
 * (wasm: bmm-wasm.ts, bit-identical to tf.matMul there), tf.matMul elsewhere.
 *
 * The kernel is registered with tf.js under its own name, with a gradient that mirrors tf.js's
 * BatchMatMul gradient product for product (same operands, same transposes), so losses and
 * gradients stay bit-identical too. A backend without the kernel (cpu, tensorflow: the native
 * backend's own matMul is already fast) falls back to tf.matMul and says so once.
 */
import * as tf from "@tensorflow/tfjs";
import { impl } from "../model/impl";
import { instantiateBmm, wasmApi, type BmmFn, type WasmMemory } from "./bmm-wasm";

export const KERNEL_NAME = "SpuriousBatchMatMul";

interface Attrs {
  transposeA: boolean;
  transposeB: boolean;
}

/** The slice of tfjs-backend-wasm's BackendWasm the kernel uses. */
interface WasmBackend {
  wasm: { asm?: { memory?: WasmMemory }; HEAPF32: Float32Array };
  dataIdMap: { get(id: unknown): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
  disposeData(id: unknown): boolean;
}

const kernels = new WeakMap<object, BmmFn>();

/** Why the wasm backend instance cannot run the kernel, or null when it can. */
function wasmProblem(backend: WasmBackend): string | null {
  const memory = backend.wasm?.asm?.memory;
  if (!(memory instanceof wasmApi.Memory)) return "the wasm backend does not expose its memory";
  if (typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer) return "the threaded wasm build (shared memory) is not supported";
  return null;
}

function bmmFor(backend: WasmBackend): BmmFn {
  let fn = kernels.get(backend);
  if (!fn) {
    const problem = wasmProblem(backend);
    if (problem) throw new Error(`${KERNEL_NAME}: ${problem}`);
    fn = instantiateBmm(backend.wasm.asm!.memory!);
    kernels.set(backend, fn);
  }
  return fn;
}

function wasmKernel({ inputs, backend: be, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown }): tf.TensorInfo {
  const backend = be as WasmBackend;
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = attrs as Attrs;
  if (a.shape.length !== 3 || b.shape.length !== 3 || a.shape[0] !== b.shape[0]) throw new Error(`${KERNEL_NAME}: wants two rank-3 tensors with the same batch, got ${a.shape} and ${b.shape}`);
  if (a.dtype !== "float32" || b.dtype !== "float32") throw new Error(`${KERNEL_NAME}: float32 only`);
  const batch = a.shape[0];
  const [M, K] = transposeA ? [a.shape[2], a.shape[1]] : [a.shape[1], a.shape[2]];
  const [Kb, N] = transposeB ? [b.shape[2], b.shape[1]] : [b.shape[1], b.shape[2]];
  if (K !== Kb) throw new Error(`${KERNEL_NAME}: inner sizes ${K} and ${Kb} differ (shapes ${a.shape} and ${b.shape}, transposeA ${transposeA}, transposeB ${transposeB})`);
  const bmm = bmmFor(backend);
  const out = backend.makeOutput([batch, M, N], "float32");
  // B must have contiguous columns and whole 4-lane groups: pack it (transposing if asked) otherwise.
  const pack = transposeB || N % 4 !== 0;
  const Np = Math.ceil(N / 4) * 4;
  const packed = pack ? backend.makeOutput([batch, K, Np], "float32") : null;
  const off = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
  if (packed) {
    const heap = backend.wasm.HEAPF32; // read after the allocations (they may grow the memory)
    const src = off(b) / 4;
    const dst = off(packed) / 4;
    const [sr, sc] = transposeB ? [1, K] : [N, 1]; // strides of B[k, j] in floats, per batch K * N
    for (let bi = 0; bi < batch; bi++) {
      for (let k = 0; k < K; k++) {
        const s = src + bi * K * N + k * sr;
        const d = dst + (bi * K + k) * Np;
        for (let j = 0; j < N; j++) heap[d + j] = heap[s + j * sc];
      }
    }
  }
  const [aR, aC] = transposeA ? [4, 4 * M] : [4 * K, 4];
  const bRow = 4 * (pack ? Np : N);
  bmm(off(a), packed ? off(packed) : off(b), off(out), batch, M, K, N, 4 * M * K, aR, aC, bRow * K, bRow, 4 * M * N);
  if (packed) backend.disposeData(packed.dataId);
  return out;
}

tf.registerKernel({ kernelName: KERNEL_NAME, backendName: "wasm", kernelFunc: wasmKernel as unknown as tf.KernelFunc });

// tf.js's BatchMatMul gradient (tfjs-core gradients/BatchMatMul_grad.ts), with our product.
tf.registerGradient({
  kernelName: KERNEL_NAME,
  inputsToSave: ["a", "b"],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved as tf.Tensor3D[];
    const d = dy as tf.Tensor3D;
    const { transposeA, transposeB } = attrs as unknown as Attrs;
    if (!transposeA && !transposeB) return { a: () => batchMatMul(d, b, false, true), b: () => batchMatMul(a, d, true, false) };
    if (!transposeA && transposeB) return { a: () => batchMatMul(d, b, false, false), b: () => batchMatMul(d, a, true, false) };
    if (transposeA && !transposeB) return { a: () => batchMatMul(b, d, false, true), b: () => batchMatMul(a, d, false, false) };
    return { a: () => batchMatMul(b, d, true, true), b: () => batchMatMul(d, a, true, true) };
  },
});

/** Below this many output rows a product whose B must be packed stays on tf.matMul (same result). */
const MIN_ROWS_TO_PACK = 8;

const told = new Set<string>();

/** Whether the current backend runs the kernel; prints once per backend why not when it does not. */
export function kernelAvailable(): boolean {
  const name = tf.getBackend();
  let why: string | null = null;
  if (!tf.getKernel(KERNEL_NAME, name)) why = `no ${KERNEL_NAME} kernel for the "${name}" backend (only wasm has one)`;
  else why = wasmProblem(tf.backend() as unknown as WasmBackend);
  if (why && !told.has(name)) {
    told.add(name);
    console.error(`[spurious] attention products: ${why}; falling back to tf.matMul`);
  }
  return why === null;
}

/** Rank-3 product with tf.matMul's semantics (equal batch sizes, optional transposes). */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D, transposeA = false, transposeB = false): tf.Tensor3D {
  // A single untransposed product is the one case tf.matMul sends to XNNPACK (fast already, and
  // summed in another order): keep it there so the results stay bit-identical.
  const xnnpack = a.shape[0] === 1 && !transposeA && !transposeB;
  // Packing B costs as much as a product with a few rows: decoding's single query row against the
  // cached keys (transposed) is faster on tf.matMul (measured: 10 vs 19 ms at 2,048 x 1 x 75).
  const M = transposeA ? a.shape[2] : a.shape[1];
  const N = transposeB ? b.shape[1] : b.shape[2];
  const packTooDear = (transposeB || N % 4 !== 0) && M < MIN_ROWS_TO_PACK;
  if (xnnpack || packTooDear || !impl().attentionKernel || !kernelAvailable()) return tf.matMul(a, b, transposeA, transposeB);
  const attrs: Attrs = { transposeA, transposeB };
  return tf.engine().runKernel(KERNEL_NAME, { a, b }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor3D;
}
