// Our own kernels (src/kernels): exact against tf.js's own ops, a fallback where a backend has
// none, copies replaced by aliases without changing a bit, and memory flat over many GRPO steps
// on the paths that use them.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { setup, tinyParams, TINY, tf } from "./helpers";
import { initBackend } from "../src/model/backend";
import { batchMatMul, KERNEL_NAME } from "../src/kernels/batch-matmul";
import { K_BLOCK } from "../src/kernels/bmm-wasm";
import { grpoStep, resolveGrpoConfig } from "../src/rl/grpo";
import { withImpl } from "../src/model/impl";
import { cachedMaskCount, disposeParams, paramGrads, tokenLogProbs } from "../src/model/model";
import { promptIds } from "../src/model/sampling";
import { fusedGelu, fusedGeluFits, GELU_K1, GELU_K2 } from "../src/kernels/gelu";
import { simdTanh } from "../src/kernels/tanh";
import { mergeHeadsKernel, splitHeadsKernel } from "../src/kernels/heads";
import { disposeAdam, initAdam } from "../src/model/optim";
import { getSplit } from "../src/world/problems";
import { parseReward } from "../src/rl/rewards";
import { makeRng } from "../src/util/rng";

before(async () => {
  await setup();
  await initBackend({ force: "wasm", quiet: true });
});

const KERNEL_OFF = { attentionKernel: false };
const ALIAS_OFF = { aliasCopies: false };

/** The kernel itself, bypassing batchMatMul's choice of path (it sends some shapes to tf.matMul). */
const kernel = (a: tf.Tensor3D, b: tf.Tensor3D, transposeA = false, transposeB = false) => tf.engine().runKernel(KERNEL_NAME, { a, b }, { transposeA, transposeB }) as tf.Tensor3D;

function randomTensor(shape: number[], seed: number): tf.Tensor3D {
  const r = makeRng("kernel-test", seed);
  return tf.tensor3d(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.normal()), shape as [number, number, number]);
}

/** Elements that differ in any bit (the sign of zero included), and the largest difference. */
function bitDiff(x: ArrayLike<number>, y: ArrayLike<number>): { count: number; max: number } {
  let count = 0;
  let max = 0;
  for (let i = 0; i < x.length; i++) {
    if (!Object.is(x[i], y[i])) count++;
    max = Math.max(max, Math.abs(x[i] - y[i]));
  }
  return { count, max };
}

test("batched matMul kernel by hand: two batches, every transpose combination", () => {
  // A0 = [[1,2],[3,4]], B0 = [[5,6],[7,8]] -> [[19,22],[43,50]]; A1 = I, B1 = [[1,-1],[2,0.5]] -> B1
  const a = tf.tensor3d([[[1, 2], [3, 4]], [[1, 0], [0, 1]]]);
  const b = tf.tensor3d([[[5, 6], [7, 8]], [[1, -1], [2, 0.5]]]);
  const want = [[[19, 22], [43, 50]], [[1, -1], [2, 0.5]]];
  assert.deepEqual(kernel(a, b).arraySync(), want);
  const at = a.transpose([0, 2, 1]) as tf.Tensor3D;
  const bt = b.transpose([0, 2, 1]) as tf.Tensor3D;
  assert.deepEqual(kernel(at, b, true, false).arraySync(), want);
  assert.deepEqual(kernel(a, bt, false, true).arraySync(), want);
  assert.deepEqual(kernel(at, bt, true, true).arraySync(), want);
  assert.throws(() => kernel(a, tf.zeros([2, 3, 2]) as tf.Tensor3D), /inner sizes 2 and 3 differ/);
  tf.dispose([a, b, at, bt]);
});

test("batched matMul kernel is bit-identical to tf.matMul on wasm: transposes, tails, blocks of 48 along K", () => {
  // attention's shapes (63 x 16 . 16 x 63, 63 x 63 . 63 x 16, decoding's single query row), widths
  // that are not a multiple of 4, shared sizes on both sides of the backend's 48-block, batch 1
  const shapes: [number, number, number, number][] = [[3, 5, 7, 9], [2, 63, 16, 63], [2, 63, 63, 16], [4, 1, 16, 75], [4, 1, 75, 16], [2, 9, K_BLOCK, 8], [2, 9, K_BLOCK + 1, 6], [1, 6, 2 * K_BLOCK + 5, 3], [1, 7, 5, 4]];
  let seed = 0;
  for (const [batch, M, K, N] of shapes) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const a = randomTensor(ta ? [batch, K, M] : [batch, M, K], seed++);
        const b = randomTensor(tb ? [batch, N, K] : [batch, K, N], seed++);
        const ref = tf.matMul(a, b, ta, tb);
        // the kernel itself (not on batch 1 untransposed: tf.matMul sums that one on XNNPACK, and so does batchMatMul)
        const outs = batch === 1 && !ta && !tb ? [batchMatMul(a, b, ta, tb)] : [kernel(a, b, ta, tb), batchMatMul(a, b, ta, tb)];
        for (const fast of outs) {
          assert.deepEqual(fast.shape, ref.shape);
          const d = bitDiff(fast.dataSync(), ref.dataSync());
          assert.equal(d.count, 0, `${batch} x (${M}x${K} . ${K}x${N}) transposeA ${ta} transposeB ${tb}: ${d.count} elements differ, max ${d.max}`);
        }
        tf.dispose([a, b, ref, ...outs]);
      }
    }
  }
});

test("the kernel's gradient is bit-identical to tf.matMul's", () => {
  const a = randomTensor([3, 10, 6], 100);
  const b = randomTensor([3, 10, 6], 101);
  const w = randomTensor([3, 10, 10], 102);
  const grads = () => tf.grads((x: tf.Tensor, y: tf.Tensor) => batchMatMul(x as tf.Tensor3D, y as tf.Tensor3D, false, true).mul(w).sum())([a, b]);
  const fast = grads();
  const ref = withImpl(KERNEL_OFF, grads);
  for (let i = 0; i < 2; i++) assert.equal(bitDiff(fast[i].dataSync(), ref[i].dataSync()).count, 0, `gradient ${i}`);
  assert.ok(fast[0].abs().sum().dataSync()[0] > 0);
  tf.dispose([a, b, w, ...fast, ...ref]);
});

test("a backend without the kernel falls back to tf.matMul and says why, once", async () => {
  await initBackend({ force: "cpu", quiet: true });
  const said: string[] = [];
  const orig = console.error;
  console.error = (...xs: unknown[]) => void said.push(xs.join(" "));
  try {
    const a = randomTensor([2, 8, 3], 7);
    const b = randomTensor([2, 3, 5], 8);
    const x = batchMatMul(a, b).dataSync();
    const y = tf.matMul(a, b).dataSync();
    assert.equal(bitDiff(x, y).count, 0);
    batchMatMul(a, b).dispose();
    tf.dispose([a, b]);
  } finally {
    console.error = orig;
    await initBackend({ force: "wasm", quiet: true });
  }
  assert.equal(said.length, 1, said.join("\n"));
  assert.match(said[0], /no SpuriousBatchMatMul kernel for the "cpu" backend.*falling back to tf\.matMul/);
});

test("100 smoke-size GRPO steps leave tf.memory().numTensors unchanged", () => {
  const config = resolveGrpoConfig({ promptsPerStep: 2, samplesPerPrompt: 4, miniBatchSize: 4, maxResponseTokens: 12, lr: 1e-2 });
  const dataset = getSplit("train").slice(0, 8).map((p) => ({ problem: p, label: p.answer }));
  const ctx = { config, model: TINY, dataset, reward: parseReward("random0.5"), seed: 1, rng: makeRng(1, "memory"), ref: null };
  const params = tinyParams(21);
  const opt = initAdam(params);
  // Causal masks are kept per sequence length (bounded by the context): not a leak, so not counted.
  const live = () => tf.memory().numTensors - cachedMaskCount();
  grpoStep(params, opt, ctx, 0);
  const before = live();
  for (let s = 1; s <= 100; s++) grpoStep(params, opt, ctx, s);
  assert.equal(live(), before);
  disposeAdam(opt);
  disposeParams(params);
});

/** Loss and every gradient of a tiny model's next-token loss (plain arrays, tensors freed). */
function lossAndGrads(params: ReturnType<typeof tinyParams>, ids: tf.Tensor2D) {
  const { value, grads } = paramGrads(params, () => tokenLogProbs(params, ids, TINY).mean().neg() as tf.Scalar);
  const out = { loss: value.dataSync()[0], grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, Array.from(g.dataSync())])) };
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

test("aliasCopies, columnSum, fusedGelu, simdTanh and headsKernel, each off alone: loss and every gradient bit-identical; aliases leave no copies of saved tensors (Identity kernels)", async () => {
  const params = tinyParams(13);
  const ids = tf.tensor2d([promptIds("a:1+2=python a=1+2#3"), promptIds("b:3*3-4=3*3 is 9 so 5 ")].map((r) => r.slice(0, 20)), [2, 20], "int32");
  const run = () => lossAndGrads(params, ids);
  const fast = run();
  assert.ok(Object.values(fast.grads).some((g) => g.some((x) => x !== 0)), "all gradients are zero");
  for (const off of [ALIAS_OFF, { columnSum: false }, { fusedGelu: false }, { simdTanh: false }, { headsKernel: false }]) {
    const slow = withImpl(off, run);
    assert.ok(Object.is(fast.loss, slow.loss), `${JSON.stringify(off)}: loss ${fast.loss} vs ${slow.loss}`);
    for (const k of Object.keys(slow.grads)) assert.deepEqual(fast.grads[k], slow.grads[k], `${JSON.stringify(off)}: gradient of ${k}`);
  }
  // tf.js's own path copies every tensor the tape saves (hundreds); what remains with aliases are
  // the few copies backprop itself makes when it passes a gradient through unchanged
  const copies = async () => (await tf.profile(run)).kernels.filter((k) => k.name === "Identity").length;
  const [on, offCount] = [await copies(), await withImpl(ALIAS_OFF, copies)];
  assert.ok(offCount > 100 && on * 10 < offCount, `Identity kernels: ${on} with aliases, ${offCount} without`);
  ids.dispose();
  disposeParams(params);
});

test("columnSum: sums over leading axes bit-identical to the backend's, which adds in order from 0 (checked by hand in float32)", () => {
  const cases: [number[], number | number[], boolean][] = [[[257, 64], 0, false], [[9, 8], [0], true], [[4, 7, 12], [0, 1], false], [[4, 7, 12], [1, 0], true], [[4, 7, 12], 0, false], [[5, 6], -2, false], [[3, 5], 0, false], [[6, 8], 1, false]];
  let seed = 200;
  for (const [shape, axis, keepDims] of cases) {
    const x = tf.tidy(() => randomTensor([1, shape.reduce((a, b) => a * b, 1), 1], seed++).reshape(shape));
    const fast = tf.sum(x, axis, keepDims);
    const ref = withImpl({ columnSum: false }, () => tf.sum(x, axis, keepDims));
    assert.deepEqual(fast.shape, ref.shape);
    assert.equal(bitDiff(fast.dataSync(), ref.dataSync()).count, 0, `${shape} over ${axis}`);
    tf.dispose([x, fast, ref]);
  }
  // the order the kernel keeps: out[j] = ((0 + x[0, j]) + x[1, j]) + ..., rounded to float32 at each step
  const x = randomTensor([1, 300, 8], 300).reshape([300, 8]);
  const xs = x.dataSync();
  const want = Array.from({ length: 8 }, (_, j) => {
    let s = 0;
    for (let r = 0; r < 300; r++) s = Math.fround(s + xs[r * 8 + j]);
    return s;
  });
  for (const on of [true, false]) assert.deepEqual(Array.from(withImpl({ columnSum: on }, () => tf.tidy(() => tf.sum(x, 0).dataSync()))), want);
  x.dispose();
});

test("aliasCopies: a cast to the same dtype shares the data and outlives its input; other casts still convert", () => {
  const x = tf.tensor1d([1.5, -2, 0]);
  const y = tf.cast(x, "float32");
  const z = tf.cast(x, "int32");
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1.5, -2, 0]);
  assert.deepEqual(Array.from(z.dataSync()), [1, -2, 0]);
  const n = tf.memory().numTensors;
  y.dispose();
  z.dispose();
  assert.equal(tf.memory().numTensors, n - 2);
});

test("fusedGelu: values and gradients bit-identical to the op-by-op chain, on wide and saturating inputs", () => {
  const chain = (t: tf.Tensor) => t.mul(0.5).mul(tf.tanh(t.add(t.mul(t).mul(t).mul(GELU_K1)).mul(GELU_K2)).add(1));
  for (const [shape, scale] of [[[64, 256], 1], [[33, 12], 4], [[2, 3, 8], 30]] as [number[], number][]) {
    const x = tf.tidy(() => randomTensor([1, shape.reduce((a, b) => a * b, 1), 1], 400 + scale).reshape(shape).mul(scale));
    const w = tf.tidy(() => randomTensor([1, x.size, 1], 500 + scale).reshape(shape));
    assert.ok(fusedGeluFits(x));
    const valueAndGrad = (f: (t: tf.Tensor) => tf.Tensor) => tf.tidy(() => [f(x).dataSync(), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), w)))(x).dataSync()]);
    const [cy, cg] = valueAndGrad(chain);
    for (const simd of [true, false]) {
      const [fy, fg] = withImpl({ simdTanh: simd }, () => valueAndGrad(fusedGelu));
      assert.equal(bitDiff(fy, cy).count, 0, `values ${shape} x${scale}, simdTanh ${simd}`);
      assert.equal(bitDiff(fg, cg).count, 0, `gradients ${shape} x${scale}, simdTanh ${simd}`);
      assert.ok(fg.some((v) => v !== 0) && fy.some((v) => v < 0), "a trivial input compares nothing");
    }
    tf.dispose([x, w]);
  }
  // whole 4-lane groups only: other sizes stay on the chain
  const odd = tf.ones([3, 5]);
  assert.equal(fusedGeluFits(odd), false);
  odd.dispose();
});

test("simdTanh: the backend's tanh bit for bit, on every float32 exponent, each branch's boundaries, denormals, zeros, infinities and NaN", () => {
  const bits: number[] = [];
  const r = makeRng("tanh-test", 0);
  // every exponent and sign: the extreme mantissas and random ones
  for (let e = 0; e < 256; e++) {
    for (const s of [0, 0x80000000]) {
      for (const m of [0, 1, 2, 0x400000, 0x7fffff, 0x7ffffe]) bits.push(s | (e << 23) | m);
      for (let i = 0; i < 40; i++) bits.push(s | (e << 23) | r.int(0x800000));
    }
  }
  // musl's thresholds (tanhf: |x| = log(3)/2, 10, log(5/3)/2, 2^-126; expm1f of 2|x|: 0.5 ln2, 1.5 ln2, 2^-25, k = 23) +-3 ulps
  for (const t of [0x3f0c9f54, 0x41200000, 0x3e82c578, 0x00800000, 0x3e317218, 0x3f051592, 0x32800000, 0x40ff0000]) for (let d = -3; d <= 3; d++) bits.push(t + d, (t + d) | 0x80000000);
  // dense where GELU's inputs live, and signalling / negative NaNs
  for (let i = 0; i < 200000; i++) bits.push(new Uint32Array(new Float32Array([(r.next() - 0.5) * 24]).buffer)[0]);
  bits.push(0x7fc00000, 0xffc00000, 0x7f800001, 0x7fa00000, 0xff812345);
  while (bits.length % 4) bits.push(0);
  const x = tf.tensor1d(new Float32Array(new Uint32Array(bits).buffer));
  const [ours, theirs] = tf.tidy(() => [simdTanh(x), tf.tanh(x)].map((t) => (t.dataSync() as Float32Array).slice())).map((v) => new Uint32Array(v.buffer));
  const differ = bits.filter((_, i) => ours[i] !== theirs[i]);
  assert.deepEqual(differ.slice(0, 5).map((b) => b.toString(16)), [], `${differ.length} of ${bits.length} inputs differ`);
  // by hand: tanh(0) = 0, tanh(-0) = -0, tanh(+-inf) = +-1, tanh(20) = 1 in float32, tanh(x) = x for a denormal x
  const hand = tf.tensor1d([0, -0, Infinity, -Infinity, 20, 1e-40, 0.5, -0.5]);
  const y = Array.from(simdTanh(hand).dataSync());
  assert.ok(Object.is(y[0], 0) && Object.is(y[1], -0));
  assert.deepEqual(y.slice(2, 6), [1, -1, 1, Math.fround(1e-40)]);
  assert.ok(Math.abs(y[6] - Math.tanh(0.5)) < 1e-7 && y[7] === -y[6]);
  tf.dispose([x, hand]);
});

test("heads kernels: q/k/v split into heads and merged back as the op-by-op split + transposes do, gradients included", () => {
  // by hand: B = 1, T = 2, H = 2, hd = 4, two parts; row t of x is [part 0: head 0 | head 1, part 1: head 0 | head 1]
  const x = tf.tensor2d(Array.from({ length: 2 * 16 }, (_, i) => i), [2, 16]);
  const [p0, p1] = splitHeadsKernel(x, 1, 2, 2, 2);
  assert.deepEqual(p0.arraySync(), [[[0, 1, 2, 3], [16, 17, 18, 19]], [[4, 5, 6, 7], [20, 21, 22, 23]]]);
  assert.deepEqual(p1.arraySync(), [[[8, 9, 10, 11], [24, 25, 26, 27]], [[12, 13, 14, 15], [28, 29, 30, 31]]]);
  assert.deepEqual(mergeHeadsKernel(p1, 1, 2, 2).arraySync(), x.slice([0, 8], [2, 8]).arraySync());
  tf.dispose([x, p0, p1]);
  // against the op-by-op path on a model-like shape (B = 3, T = 5, H = 4, hd = 8, q/k/v), values and gradients
  const [B, T, H, hd] = [3, 5, 4, 8];
  const qkv = tf.tidy(() => randomTensor([1, B * T, 3 * H * hd], 600).reshape([B * T, 3 * H * hd]));
  const w = [0, 1, 2].map((i) => randomTensor([B * H, T, hd], 610 + i));
  const ops = (t: tf.Tensor) => tf.split(t, 3, 1).map((p) => p.reshape([B, T, H, hd]).transpose([0, 2, 1, 3]).reshape([B * H, T, hd]));
  const merged = (hs: tf.Tensor[], kernel: boolean) => (kernel ? mergeHeadsKernel(hs[0] as tf.Tensor3D, B, T, H) : hs[0].reshape([B, H, T, hd]).transpose([0, 2, 1, 3]).reshape([B * T, H * hd]));
  // a loss through the split and (for part 0) the merge, so both gradients are exercised
  const loss = (kernel: boolean) => (t: tf.Tensor) => {
    const hs = kernel ? splitHeadsKernel(t, B, T, H, 3) : ops(t);
    return tf.addN([...hs.map((h, i) => tf.sum(h.mul(w[i]))), tf.sum(merged(hs, kernel).square())]);
  };
  const run = (kernel: boolean) => tf.tidy(() => [...(kernel ? splitHeadsKernel(qkv, B, T, H, 3) : ops(qkv)).map((h) => h.dataSync()), tf.grad(loss(kernel))(qkv).dataSync()]);
  const [ours, theirs] = [run(true), run(false)];
  ours.forEach((v, i) => assert.equal(bitDiff(v, theirs[i]).count, 0, i < 3 ? `part ${i}` : "gradient"));
  assert.ok(ours[3].some((v) => v !== 0));
  tf.dispose([qkv, ...w]);
});
