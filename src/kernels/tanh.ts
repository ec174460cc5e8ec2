/**
 * tanh on 4 float32 lanes, bit-identical to the wasm backend's Tanh kernel.
 *
 * Why: the backend's Tanh calls libm's scalar `tanhf` per element (tfjs-backend-wasm Tanh.cc:
 * `unary(x_id, out_id, tanh)`, built with emscripten, whose libm is musl); at the paper's shape the
 * GELU's tanh was ~10% of a GRPO step's kernel time.
 *
 * Exactness: this is musl's `tanhf` and the `expm1f` it calls, operation for operation in float32,
 * with each branch computed in every lane and the lane's branch selected at the end (lanes are
 * independent; f32x4 arithmetic rounds as f32 does; wasm has no FMA). A JavaScript replica of
 * the same C (Math.fround per operation) matched the backend on 100M random inputs before this
 * was written; the tests compare this kernel with the backend bit for bit on every float32
 * exponent, denormals, infinities and NaN.
 *
 * expm1f is needed only where tanhf calls it: z = 2|x| with |x| <= 10 (z <= 20) or z = -2|x| with
 * |x| <= 0.2554. There its reduction index k lies in [-1, 29], so musl's branches for huge or
 * non-finite z, k < -1 and k > 56 are never taken and are left out.
 */
import * as tf from "@tensorflow/tfjs";
import { V128 } from "./wasm-emit";
import { Lanes, op2, registerElementwise, select } from "./elementwise";

const F = V128.f32x4Const;
const I = V128.i32x4Const;
const add = op2(V128.f32x4Add), sub = op2(V128.f32x4Sub), mul = op2(V128.f32x4Mul), div = op2(V128.f32x4Div), lt = op2(V128.f32x4Lt);
const and = op2(V128.and), or = op2(V128.or), xor = op2(V128.xor);
const iadd = op2(V128.i32x4Add), isub = op2(V128.i32x4Sub), ieq = op2(V128.i32x4Eq), ilt = op2(V128.i32x4LtS), igt = op2(V128.i32x4GtS);
const shl = (a: number[], n: number) => [...a, 0x41, n, ...V128.i32x4Shl];
const shrS = (a: number[], n: number) => [...a, 0x41, n, ...V128.i32x4ShrS];
const SIGN = 0x80000000 | 0;
const ABS = 0x7fffffff;

// musl expm1f's constants (float32)
const LN2_HI = 6.9313812256e-01, LN2_LO = 9.0580006145e-06, INVLN2 = 1.4426950216e+00;
const Q1 = -3.3333212137e-2, Q2 = 1.5807170421e-3;

/** musl's expm1f(z) lane by lane, on the domain tanhf uses (see the header). */
function expm1Lanes(l: Lanes, z: number[]): number[] {
  const hz = l.let(and(z, I(ABS)));
  // argument reduction: k = 0 if |z| <= 0.5 ln2; +-1 if |z| < 1.5 ln2; else (int)(z/ln2 +- 0.5)
  const kNear = or(shrS(z, 31), I(1));
  const kFar = [...add(mul(F(INVLN2), z), or(F(0.5), and(z, I(SIGN)))), ...V128.i32x4TruncSatF32x4S];
  const k = l.let(and(select(ilt(hz, I(0x3f851592)), kNear, kFar), igt(hz, I(0x3eb17218))));
  // hi = z - k ln2_hi, lo = k ln2_lo (for k = +-1 musl's z -+ ln2_hi and +-ln2_lo: the same values; for k = 0, z and 0)
  const t = l.let([...k, ...V128.f32x4ConvertI32x4S]);
  const hi = l.let(sub(z, mul(t, F(LN2_HI))));
  const lo = l.let(mul(t, F(LN2_LO)));
  const x = l.let(sub(hi, lo));
  const c = l.let(sub(sub(hi, x), lo));
  // x is now in the primary range
  const hfx = l.let(mul(F(0.5), x));
  const hxs = l.let(mul(x, hfx));
  const r1 = l.let(add(F(1), mul(hxs, add(F(Q1), mul(hxs, F(Q2))))));
  const tt = l.let(sub(F(3), mul(r1, hfx)));
  const e0 = l.let(mul(hxs, div(sub(r1, tt), sub(F(6), mul(x, tt)))));
  const kZero = sub(x, sub(mul(x, e0), hxs));
  const e = l.let(sub(sub(mul(x, sub(e0, c)), c), hxs));
  const kMinusOne = sub(mul(F(0.5), sub(x, e)), F(0.5));
  const kOne = select(lt(x, F(-0.25)), mul(F(-2), sub(e, add(x, F(0.5)))), add(F(1), mul(F(2), sub(x, e))));
  const twoPk = l.let(shl(iadd(k, I(0x7f)), 23));
  const twoMk = l.let(shl(isub(I(0x7f), k), 23));
  const kOther = select(ilt(k, I(23)), mul(add(sub(x, e), sub(F(1), twoMk)), twoPk), mul(add(sub(x, add(e, twoMk)), F(1)), twoPk));
  const reduced = select(ieq(k, I(0)), kZero, select(ieq(k, I(-1)), kMinusOne, select(ieq(k, I(1)), kOne, kOther)));
  // |z| < 2^-25: z itself
  return l.let(select(ilt(hz, I(0x33000000)), z, reduced));
}

/** musl's tanhf(x) lane by lane: code reading the result (computed into `l`). */
export function tanhLanes(l: Lanes, x: number[]): number[] {
  const w = l.let(and(x, I(ABS))); // |x|, and its bits
  const sign = l.let(xor(x, w));
  const small = l.let(ilt(w, I(0x3e82c579))); // |x| <= log(5/3)/2: expm1f(-2|x|)
  const em = l.let(expm1Lanes(l, xor(mul(F(2), w), and(small, I(SIGN)))));
  const d = l.let(add(em, F(2)));
  const ratio = l.let(div(em, d)); // t / (t + 2); -t / (t + 2) is its negation, exactly
  const huge = add(F(1), div(F(0), w)); // |x| > 10 (1, or NaN for NaN)
  const large = sub(F(1), div(F(2), d)); // |x| > log(3)/2
  const tiny = select(ilt(w, I(0x00800000)), w, [...ratio, ...V128.f32x4Neg]);
  const t = select(igt(w, I(0x41200000)), huge, select(igt(w, I(0x3f0c9f54)), large, select(small, tiny, ratio)));
  return l.let(xor(t, sign));
}

export const TANH_KERNEL = "SpuriousTanh";
registerElementwise("tanh", [{ kernelName: TANH_KERNEL, inputs: 1, outputs: 1, build: (l, [x]) => [tanhLanes(l, x)] }]);

/** tanh by the kernel (wasm, float32, size a multiple of 4): the same bits as tf.tanh there. No gradient. */
export function simdTanh(x: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(TANH_KERNEL, { x }) as tf.Tensor;
}
