import * as crypto from "node:crypto";
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setup, tinyParams, TINY, maxAbsDiff, tf } from "./helpers";
import { cachedMaskCount, forward, tokenLogProbs, disposeParams, paramGrads, prefill, decodeStep, disposeCache } from "../src/model/model";
import { sampleResponses, promptIds } from "../src/model/sampling";
import { makeRng } from "../src/util/rng";
import { EOS, encode } from "../src/world/tokens";
import { adamStep, initAdam, DEFAULT_ADAM, disposeAdam } from "../src/model/optim";
import { loadCheckpoint, saveCheckpoint, readCheckpointHeader } from "../src/model/checkpoint";
import { encodeBatch } from "../src/lab/pretrain";
import { PREVIOUS, STRAIGHTFORWARD, withImpl } from "../src/model/impl";
import { checkpointPath } from "../src/util/paths";
import { getSplit } from "../src/world/problems";

before(setup);

test("causal mask: changing a future token never changes a past logit", () => {
  const params = tinyParams();
  const a = promptIds("k:3+4*2-5=python");
  const b = [...a];
  b[10] = encode("9")[0];
  const [la, lb] = [a, b].map((ids) => tf.tidy(() => forward(params, tf.tensor2d([ids], [1, ids.length], "int32"), TINY).arraySync()[0]));
  for (let t = 0; t < 10; t++) assert.ok(maxAbsDiff(la[t], lb[t]) === 0, `position ${t} changed`);
  assert.ok(maxAbsDiff(la[10], lb[10]) > 0, "the changed position itself must change");
  disposeParams(params);
});

test("KV-cached decoding gives the logits and tokens of full recomputation", () => {
  const params = tinyParams(2);
  const ids = promptIds("q:7*3-1=");
  // cached: prefill then step
  const { cachedLogits, fullLogits } = tf.tidy(() => {
    const p = prefill(params, tf.tensor2d([ids], [1, ids.length], "int32"), TINY);
    const nextTok = encode("p")[0];
    const d = decodeStep(params, tf.tensor2d([[nextTok]], [1, 1], "int32"), p.cache, TINY);
    const full = forward(params, tf.tensor2d([[...ids, nextTok]], [1, ids.length + 1], "int32"), TINY);
    return { cachedLogits: d.logits.dataSync(), fullLogits: full.slice([0, ids.length, 0], [1, 1, TINY.vocabSize]).dataSync() };
  });
  assert.ok(maxAbsDiff(cachedLogits, fullLogits) < 1e-4);
  // whole samplers: batched + cached vs one prompt at a time with full recomputation (impl.ts),
  // greedy and at temperature 1 (same streams, so the same tokens), prompts of different lengths
  const prompts = ["a:1+2=", "b:3*3-4=", "c:9-8+7*2+1="];
  for (const temperature of [0, 1]) {
    const opts = { temperature, maxNewTokens: 20, rng: makeRng(5, "kv") };
    const fast = sampleResponses(params, TINY, prompts, opts);
    const slow = withImpl(STRAIGHTFORWARD, () => sampleResponses(params, TINY, prompts, opts));
    assert.deepEqual(fast, slow, `temperature ${temperature}`);
    assert.ok(fast.some((x) => x.tokens.length > 3), "responses too short to compare");
  }
  disposeParams(params);
});

test("the model's fast matMul gradient equals tf.matMul's own (loss and every parameter's gradient)", () => {
  const params = tinyParams(4);
  const ids = tf.tensor2d([promptIds("a:1+2=p"), promptIds("b:3*3-4")], [2, 8], "int32");
  const lossGrads = () => {
    const { value, grads } = paramGrads(params, () => tokenLogProbs(params, ids, TINY).mean().neg() as tf.Scalar);
    const out = { loss: value.dataSync()[0], grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.dataSync().slice()])) };
    tf.dispose([value, ...Object.values(grads)]);
    return out;
  };
  const fast = lossGrads();
  const slow = withImpl({ fastMatMul: false }, lossGrads);
  assert.ok(Math.abs(fast.loss - slow.loss) < 1e-6);
  assert.deepEqual(Object.keys(fast.grads).sort(), Object.keys(slow.grads).sort());
  for (const k of Object.keys(fast.grads)) {
    const scale = Math.max(1e-3, ...Array.from(slow.grads[k], Math.abs));
    assert.ok(maxAbsDiff(fast.grads[k], slow.grads[k]) / scale < 1e-4, `gradient of ${k} differs`);
  }
  assert.ok(Object.values(fast.grads).some((g) => g.some((x) => x !== 0)), "all gradients are zero");
  ids.dispose();
  disposeParams(params);
});

test("attention kernel on and off (impl PREVIOUS): bit-identical logits, loss, every gradient and sampled tokens", () => {
  const params = tinyParams(12);
  const ids = tf.tensor2d([promptIds("a:1+2=python a=1+2#3"), promptIds("b:3*3-4=3*3 is 9 so 5 ")].map((r) => r.slice(0, 20)), [2, 20], "int32");
  const run = () => {
    const logits = tf.tidy(() => forward(params, ids, TINY).dataSync().slice());
    const { value, grads } = paramGrads(params, () => tokenLogProbs(params, ids, TINY).mean().neg() as tf.Scalar);
    const out = { logits, loss: value.dataSync()[0], grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, Array.from(g.dataSync())])) };
    tf.dispose([value, ...Object.values(grads)]);
    const samples = sampleResponses(params, TINY, ["a:1+2=", "b:3*3-4=", "c:9-8+7*2+1="], { temperature: 1, maxNewTokens: 20, rng: makeRng(4, "attn") });
    return { ...out, samples };
  };
  const fast = run();
  const slow = withImpl(PREVIOUS, run);
  assert.ok(Object.is(fast.loss, slow.loss), `loss ${fast.loss} vs ${slow.loss}`);
  assert.equal(maxAbsDiff(fast.logits, slow.logits), 0);
  assert.ok(fast.logits.every((x, i) => Object.is(x, slow.logits[i])), "logits differ in some bit");
  for (const k of Object.keys(slow.grads)) assert.deepEqual(fast.grads[k], slow.grads[k], `gradient of ${k}`);
  assert.deepEqual(fast.samples, slow.samples);
  assert.ok(fast.samples.some((s) => s.tokens.length > 3), "responses too short to compare");
  ids.dispose();
  disposeParams(params);
});

test("sampling: seeded reproducible, greedy seed-independent, limit and prefix respected, no tensor leak", () => {
  const params = tinyParams(3);
  const prompts = ["a:1+2=", "b:3*3-4=", "c:9-8+7=", "d:2+2+2+2="];
  const before = tf.memory().numTensors;
  const s1 = sampleResponses(params, TINY, prompts, { temperature: 1, maxNewTokens: 12, rng: makeRng(5) });
  const s2 = sampleResponses(params, TINY, prompts, { temperature: 1, maxNewTokens: 12, rng: makeRng(5) });
  const s3 = sampleResponses(params, TINY, prompts, { temperature: 1, maxNewTokens: 12, rng: makeRng(6) });
  assert.deepEqual(s1, s2);
  assert.notDeepEqual(s1, s3);
  // a prompt's sample does not depend on its batch-mates: one row per batch gives the same samples
  const single = sampleResponses(params, TINY, prompts, { temperature: 1, maxNewTokens: 12, rng: makeRng(5), maxBatch: 1 });
  assert.deepEqual(single, s1);
  const g1 = sampleResponses(params, TINY, prompts, { temperature: 0, maxNewTokens: 12, rng: makeRng(1) });
  const g2 = sampleResponses(params, TINY, prompts, { temperature: 0, maxNewTokens: 12, rng: makeRng(2) });
  assert.deepEqual(g1, g2);
  for (const s of [...s1, ...g1]) assert.ok(s.tokens.length <= 12);
  const pre = sampleResponses(params, TINY, prompts, { temperature: 0, maxNewTokens: 12, prefix: "python " });
  for (const s of pre) assert.ok(s.text.startsWith("python "));
  // per-prompt prefixes of different lengths, batched (left-padded) vs one row at a time
  const prefixes = ["python ", "1+2 is ", "", "2+2*2 is "];
  const batched = sampleResponses(params, TINY, prompts, { temperature: 1, maxNewTokens: 14, rng: makeRng(8), prefixes });
  const alone = sampleResponses(params, TINY, prompts, { temperature: 1, maxNewTokens: 14, rng: makeRng(8), prefixes, maxBatch: 1 });
  assert.deepEqual(batched, alone);
  batched.forEach((s, i) => {
    assert.ok(s.text.startsWith(prefixes[i]));
    assert.ok(s.tokens.length <= 14, "the forced prefix counts against the limit");
  });
  // Causal masks are cached per length (bounded by the context): sample once more and count.
  const warm = tf.memory().numTensors;
  sampleResponses(params, TINY, prompts, { temperature: 1, maxNewTokens: 14, rng: makeRng(8), prefixes });
  sampleResponses(params, TINY, prompts, { temperature: 0, maxNewTokens: 12, prefix: "python " });
  assert.equal(tf.memory().numTensors, warm, "sampling leaked tensors");
  assert.ok(warm - before < 40, "mask cache stays small");
  assert.throws(() => sampleResponses(params, TINY, prompts, { temperature: 1, maxNewTokens: 12 }), /needs an rng/);
  disposeParams(params);
});

test("a tiny model overfits one batch; training steps leak no tensors", () => {
  const params = tinyParams(4);
  const opt = initAdam(params);
  const { ids, mask } = encodeBatch([{ prompt: "k:3+4=", response: "python a=3+4#7 \\boxed{7}", eos: true }, { prompt: "m:9-2=", response: "9-2 is 7 \\boxed{7}", eos: true }]);
  const lossOf = () => tf.tidy(() => tokenLogProbs(params, ids, TINY).mul(mask).sum().div(mask.sum()).neg().dataSync()[0]);
  const first = lossOf();
  let count = -1;
  for (let i = 0; i < 150; i++) {
    const { value, grads } = paramGrads(params, () => tokenLogProbs(params, ids, TINY).mul(mask).sum().div(mask.sum()).neg() as tf.Scalar);
    adamStep(params, grads, opt, { ...DEFAULT_ADAM, lr: 1e-2 });
    tf.dispose([value, ...Object.values(grads)]);
    if (i === 1) count = tf.memory().numTensors;
    if (i > 1) assert.equal(tf.memory().numTensors, count, `tensor count grew at step ${i}`);
  }
  const last = lossOf();
  assert.ok(first > 3 && last < 0.1, `loss ${first} -> ${last}`);
  tf.dispose([ids, mask]);
  disposeAdam(opt);
  disposeParams(params);
});

test("gradient-norm clip caps the update's gradient norm", () => {
  const params = tinyParams(5);
  const opt = initAdam(params);
  const grads: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(params)) grads[k] = tf.onesLike(v).mul(10);
  const norm = adamStep(params, grads, opt, DEFAULT_ADAM);
  assert.ok(norm > 1, "raw norm is reported");
  // after clipping to 1.0, the first moment is (1 - beta1) * clipped grad: its norm is 0.1
  const mNorm = Math.sqrt(Object.values(opt.m).reduce((s, m) => s + tf.tidy(() => m.square().sum().dataSync()[0]), 0));
  assert.ok(Math.abs(mNorm - 0.1) < 1e-4, `m norm ${mNorm}`);
  tf.dispose(Object.values(grads));
  disposeAdam(opt);
  disposeParams(params);
});

test("checkpoints round-trip, and bad files are errors that name the file and the mismatch", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ckpt-"));
  const file = path.join(dir, "m.ckpt");
  const params = tinyParams(6);
  saveCheckpoint(file, params, { name: "t", config: TINY, meta: {}, step: 3, metrics: {} });
  const ck = loadCheckpoint(file);
  for (const k of Object.keys(params)) assert.equal(maxAbsDiff(params[k].dataSync(), ck.params[k].dataSync()), 0);
  assert.equal(readCheckpointHeader(file).step, 3);
  disposeParams(ck.params);
  const bytes = fs.readFileSync(file);
  fs.writeFileSync(path.join(dir, "trunc.ckpt"), bytes.subarray(0, bytes.length - 100));
  assert.throws(() => loadCheckpoint(path.join(dir, "trunc.ckpt")), /trunc\.ckpt is truncated/);
  fs.writeFileSync(path.join(dir, "junk.ckpt"), "hello");
  assert.throws(() => loadCheckpoint(path.join(dir, "junk.ckpt")), /junk\.ckpt is not a checkpoint/);
  // another vocabulary
  // (re-sealed with a valid checksum, so the vocabulary check itself is what refuses it)
  const text = bytes.subarray(0, bytes.length - 72).toString("latin1");
  const vocabMangled = Buffer.from(text.replace('"<pad>"', '"<PAD>"'), "latin1");
  const seal = Buffer.from("SPRCKSUM" + crypto.createHash("sha256").update(vocabMangled).digest("hex"), "latin1");
  fs.writeFileSync(path.join(dir, "vocab.ckpt"), Buffer.concat([vocabMangled, seal]));
  assert.throws(() => loadCheckpoint(path.join(dir, "vocab.ckpt")), /vocab\.ckpt was trained with another vocabulary/);
  // wrong shapes: header claims a different width
  assert.throws(() => loadCheckpoint(file, { expectConfig: { ...TINY, dModel: 32, dMlp: 64 } }), /m\.ckpt has model config/);
  assert.throws(() => loadCheckpoint(path.join(dir, "missing.ckpt")), /missing\.ckpt does not exist/);
  disposeParams(params);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("dropFinishedRows: finished rows leaving the decoding batch change no sampled token, and leak no tensor", () => {
  // the shipped pretrained model: its responses end (EOS) at many different lengths, as in GRPO
  const { params, header } = loadCheckpoint(checkpointPath("qwen-math-7b"));
  const prompts = getSplit("train").slice(0, 12).flatMap((p) => [p.prompt, p.prompt, p.prompt]);
  for (const temperature of [0, 1]) {
    for (const prefix of ["", "python"]) {
      const opts = { temperature, maxNewTokens: 62, rng: makeRng(7, "drop"), prefix, maxBatch: 32 };
      // causal masks are kept per sequence length on purpose: not a leak, so not counted
      const live = () => tf.memory().numTensors - cachedMaskCount();
      const n0 = live();
      const dropped = sampleResponses(params, header.config, prompts, opts);
      assert.equal(live(), n0, "tensors leaked");
      const kept = withImpl({ dropFinishedRows: false }, () => sampleResponses(params, header.config, prompts, opts));
      assert.deepEqual(dropped, kept, `temperature ${temperature}, prefix "${prefix}"`);
      const lengths = new Set(dropped.map((x) => x.tokens.length));
      assert.ok(lengths.size > 5 && dropped.some((x) => x.finished), `rows should finish at different steps: lengths ${[...lengths]}`);
    }
  }
  disposeParams(params);
});
