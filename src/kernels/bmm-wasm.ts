/**
 * The batched matrix product of attention as a WebAssembly SIMD kernel, bit-identical to the
 * wasm backend's own BatchMatMul.
 *
 * Why: on tfjs-backend-wasm a batched (rank-3) matMul, or one with a transposed operand, misses
 * XNNPACK and runs a scalar loop with strided loads, about 1 GFLOP/s; attention's products
 * (batch B*H of 63 x 16 by 16 x 63 and 63 x 63 by 63 x 16) then took ~40% of a training step.
 *
 * Exactness: that scalar loop (tfjs-backend-wasm batch_mat_mul_impl.cc, `slow_batch_matmul`)
 * zeroes the output and, for each block of 48 along the shared dimension, adds to it a float sum
 * accumulated from 0 in order k = k0, k0+1, ... as `sum += a * b` (no FMA in wasm). This kernel
 * keeps exactly that arithmetic per output element and vectorises across 4 neighbouring output
 * columns instead (lanes are independent, so SIMD changes no rounding), and across 4 rows at a
 * time to reuse each loaded row of B. Tests compare it bit for bit with tf.matMul on every
 * transpose combination and on shapes with tails.
 *
 * Layout the kernel wants: B with contiguous columns (row stride bR bytes, batch stride bB); A
 * anywhere (strides aB, aR, aC bytes, so a transposed A needs no copy); the output contiguous
 * (batch, M, N). A transposed B or one whose width is not a multiple of 4 is packed first by the
 * caller (a 4-lane load must never read past the packed rows).
 */
import { assemble, f32load, f32store, get, i32c, I32, inc, set, V128, when, whileNot, CTRL } from "./wasm-emit";

/** Length of the blocks along the shared dimension, as in the backend's loop. */
export const K_BLOCK = 48;

// parameters
const A = 0, B = 1, OUT = 2, BATCH = 3, M = 4, K = 5, N = 6, AB = 7, AR = 8, AC = 9, BB = 10, BR = 11, OB = 12;
// i32 locals
const BI = 13, I = 14, J = 15, K0 = 16, KEND = 17, KK = 18, PB = 19, ABASE = 20, BBASE = 21, OBASE = 22, PO = 23;
const PA = [24, 25, 26, 27];
const N_I32_LOCALS = 15;
// v128 locals: block sums S, totals T, the loaded row of B
const S = [28, 29, 30, 31];
const T = [32, 33, 34, 35];
const BV = 36;

/** R rows (i .. i+R-1) of the output, all its columns in groups of 4. */
function tile(R: number): number[] {
  const rows = Array.from({ length: R }, (_, r) => r);
  const each = (f: (r: number) => number[]) => rows.flatMap(f);
  // k loop: bv = B[k, j..j+3]; s_r += splat(A[i+r, k]) * bv
  const kLoop = whileNot([...get(KK), ...get(KEND), I32.geS], [
    ...get(PB), ...V128.load(), ...set(BV),
    ...each((r) => [...get(S[r]), ...get(PA[r]), ...f32load(), ...V128.f32x4Splat, ...get(BV), ...V128.f32x4Mul, ...V128.f32x4Add, ...set(S[r]), ...inc(PA[r], get(AC))]),
    ...inc(PB, get(BR)),
    ...inc(KK, i32c(1)),
  ]);
  const blockLoop = whileNot([...get(K0), ...get(K), I32.geS], [
    // kEnd = min(k0 + 48, K)
    ...get(K0), ...i32c(K_BLOCK), I32.add, ...get(K), ...get(K0), ...i32c(K_BLOCK), I32.add, ...get(K), I32.ltS, CTRL.select, ...set(KEND),
    ...each((r) => [...V128.zero, ...set(S[r])]),
    // pa_r = aBase + (i + r) * aR + k0 * aC; pb = bBase + k0 * bR + j * 4
    ...each((r) => [...get(ABASE), ...get(I), ...i32c(r), I32.add, ...get(AR), I32.mul, I32.add, ...get(K0), ...get(AC), I32.mul, I32.add, ...set(PA[r])]),
    ...get(BBASE), ...get(K0), ...get(BR), I32.mul, I32.add, ...get(J), ...i32c(4), I32.mul, I32.add, ...set(PB),
    ...get(K0), ...set(KK),
    ...kLoop,
    // the backend adds each block's sum to the (zeroed) output: total = total + s
    ...each((r) => [...get(T[r]), ...get(S[r]), ...V128.f32x4Add, ...set(T[r])]),
    ...get(KEND), ...set(K0),
  ]);
  // po = oBase + ((i + r) * N + j) * 4; a full group stores 4 lanes, the tail only the valid ones
  const store = (r: number) => [
    ...get(OBASE), ...get(I), ...i32c(r), I32.add, ...get(N), I32.mul, ...get(J), I32.add, ...i32c(4), I32.mul, I32.add, ...set(PO),
    ...when([...get(J), ...i32c(4), I32.add, ...get(N), I32.leS], [...get(PO), ...get(T[r]), ...V128.store()]),
    ...when([...get(J), ...i32c(4), I32.add, ...get(N), I32.gtS], [
      ...get(PO), ...get(T[r]), ...V128.f32x4ExtractLane(0), ...f32store(),
      ...when([...get(J), ...i32c(1), I32.add, ...get(N), I32.ltS], [...get(PO), ...get(T[r]), ...V128.f32x4ExtractLane(1), ...f32store(4)]),
      ...when([...get(J), ...i32c(2), I32.add, ...get(N), I32.ltS], [...get(PO), ...get(T[r]), ...V128.f32x4ExtractLane(2), ...f32store(8)]),
    ]),
  ];
  return [...i32c(0), ...set(J), ...whileNot([...get(J), ...get(N), I32.geS], [
    ...each((r) => [...V128.zero, ...set(T[r])]),
    ...i32c(0), ...set(K0),
    ...blockLoop,
    ...each(store),
    ...inc(J, i32c(4)),
  ])];
}

/** bmm(a, b, out, batch, M, K, N, aB, aR, aC, bB, bR, oB): out[b] = A[b] (M x K) . B[b] (K x N). */
function bmmBody(): number[] {
  const rowsOf = (R: number) => whileNot([...get(I), ...i32c(R), I32.add, ...get(M), I32.gtS], [...tile(R), ...inc(I, i32c(R))]);
  return [
    ...i32c(0), ...set(BI),
    ...whileNot([...get(BI), ...get(BATCH), I32.geS], [
      ...get(A), ...get(BI), ...get(AB), I32.mul, I32.add, ...set(ABASE),
      ...get(B), ...get(BI), ...get(BB), I32.mul, I32.add, ...set(BBASE),
      ...get(OUT), ...get(BI), ...get(OB), I32.mul, I32.add, ...set(OBASE),
      ...i32c(0), ...set(I),
      ...rowsOf(4),
      ...rowsOf(1),
      ...inc(BI, i32c(1)),
    ]),
  ];
}

/** The kernel module's bytes (imports the memory it works in). */
export function bmmModuleBytes(): Uint8Array {
  return assemble([{ name: "bmm", params: 13, locals: { i32: N_I32_LOCALS, v128: 9 }, body: bmmBody() }]);
}

export type BmmFn = (a: number, b: number, out: number, batch: number, m: number, k: number, n: number, aB: number, aR: number, aC: number, bB: number, bR: number, oB: number) => void;

/** The few WebAssembly APIs used (the project's lib is ES2022, which does not declare them). */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
}
interface WasmApi {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (mod: object, imports: object) => { exports: Record<string, unknown> };
}
export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Instantiate the kernel on a memory (synchronously: the module is a few hundred bytes). */
export function instantiateBmm(memory: WasmMemory): BmmFn {
  const mod = new wasmApi.Module(bmmModuleBytes());
  const inst = new wasmApi.Instance(mod, { env: { memory } });
  return inst.exports.bmm as BmmFn;
}
