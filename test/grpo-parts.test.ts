/**
 * The pieces GRPO's verdicts rest on, each on hand-computed values: clip counts by side and sign,
 * the first response position, the KL term's sign and size, top-p, several PPO epochs, the
 * optimizers and their state round-trip, the new knobs' validation and run-name stability.
 * Each test here is meant to fail under one of the mutations `npm run mutants` applies.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setup, tinyParams, TINY, tf, maxAbsDiff } from "./helpers";
import { conditionKey } from "../src/lab/analysis";
import { gridToResponseValues, packSequences } from "../src/model/batch";
import type { RunResult } from "../src/lab/experiments";
import { loadCheckpoint, saveCheckpoint } from "../src/model/checkpoint";
import { aggregateLoss, clipStats, pOldBucket } from "../src/rl/grpo-math";
import {
  DEFAULT_GRPO, firstResponseIndex, grpoStep, hashedGrpoConfig, miniBatches, oldPolicyPass, resolveGrpoConfig, rollout, updateOnce, type GrpoContext,
} from "../src/rl/grpo";
import { cloneParams, disposeParams, tokenLogProbs, type Params } from "../src/model/model";
import { adamStep, disposeAdam, initAdam, sgdStep, type AdamState } from "../src/model/optim";
import { getSplit } from "../src/world/problems";
import { parseReward } from "../src/rl/rewards";
import { makeRng } from "../src/util/rng";
import { sampleResponses } from "../src/model/sampling";

before(setup);

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) < tol, `${a} != ${b}`);
const CLIP = { epsLow: 0.2, epsHigh: 0.2, clip: true };

test("clipStats counts each side by advantage sign, and by pi_old bucket", () => {
  // One token per row (T = 1), so row i's advantage is adv[i].
  const ratio = [0.5, 0.7, 0.5, 1.5, 1.3, 1.5, 1.0, 0.9];
  const adv = [-1, -2, 3, 1, 2, -1, 1, -1];
  const mask = [1, 1, 1, 1, 1, 1, 1, 0];
  const oldLogp = [Math.log(0.05), Math.log(0.95), Math.log(0.95), Math.log(0.55), Math.log(1), Math.log(0.35), Math.log(0.35), Math.log(0.35)];
  const s = clipStats(ratio, adv, mask, 1, CLIP, oldLogp);
  assert.equal(s.lowClipped, 2); // rows 0, 1: rho < 0.8, A < 0
  assert.equal(s.lowUnclipped, 1); // row 2: rho < 0.8, A > 0
  assert.equal(s.highClipped, 2); // rows 3, 4: rho > 1.2, A > 0
  assert.equal(s.highUnclipped, 1); // row 5: rho > 1.2, A < 0
  assert.equal(s.tokens, 7); // row 7 is masked out
  close(s.ratioSum, 0.5 + 0.7 + 0.5 + 1.5 + 1.3 + 1.5 + 1.0);
  assert.deepEqual(s.byPOld!.tokens, [1, 0, 0, 2, 0, 1, 0, 0, 0, 3]);
  assert.deepEqual(s.byPOld!.low, [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(s.byPOld!.high, [0, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
  // Asymmetric widths: only the low side is narrow.
  const w = clipStats([0.85, 1.25], [-1, 1], [1, 1], 1, { epsLow: 0.1, epsHigh: 0.3, clip: true });
  assert.deepEqual([w.lowClipped, w.highClipped], [1, 0]);
  // Rows of T = 2: the advantage is looked up per row.
  const r = clipStats([0.5, 0.5, 0.5, 0.5], [-1, 1], [1, 1, 1, 0], 2, CLIP);
  assert.deepEqual([r.lowClipped, r.lowUnclipped, r.tokens], [2, 1, 3]);
  assert.equal(clipStats([1], [1], [1], 1, CLIP).byPOld, null);
  assert.deepEqual([pOldBucket(Math.log(0.1)), pOldBucket(Math.log(0.0999)), pOldBucket(0), pOldBucket(-Infinity)], [1, 0, 9, 0]);
});

test("the first response position: row b's prompt ends at b*(T-1) + promptLength - 1 in the next-token grid", () => {
  const rows = [{ prompt: [1, 5, 6], response: [7, 8] }, { prompt: [1, 5, 6, 6, 5], response: [9] }];
  const T = 6; // the longer row: 5 + 1
  assert.equal(firstResponseIndex(rows[0], 0, T), 2);
  assert.equal(firstResponseIndex(rows[1], 1, T), 5 + 4);
  // It is where the packed mask and gridToResponseValues put each response's first token.
  const pb = packSequences(rows);
  assert.equal(pb.T, T);
  const grid = Float32Array.from({ length: 2 * (T - 1) }, (_, i) => i);
  const perRow = gridToResponseValues(rows, T, grid);
  rows.forEach((r, b) => assert.equal(perRow[b][0], firstResponseIndex(r, b, T)));
  const mask = pb.mask.dataSync();
  rows.forEach((r, b) => {
    assert.equal(mask[firstResponseIndex(r, b, T)], 1);
    assert.equal(mask[firstResponseIndex(r, b, T) - 1], 0, "the token before the first response token is the prompt's");
  });
  tf.dispose([pb.ids, pb.mask]);
});

function ctxFor(overrides: Record<string, unknown>, ref: Params | null = null, reward = "random0.5"): GrpoContext {
  const config = resolveGrpoConfig({ promptsPerStep: 2, samplesPerPrompt: 4, miniBatchSize: 4, maxResponseTokens: 12, lr: 1e-2, ...overrides });
  const dataset = getSplit("train").slice(0, 8).map((p) => ({ problem: p, label: p.answer }));
  return { config, model: TINY, dataset, reward: parseReward(reward), seed: 3, rng: makeRng(3, "grpo"), ref };
}

const snapshot = (p: Params) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.dataSync().slice()]));

/** Token-mean KL(pi || ref) on fixed sequences (k3 with samples of pi's own rollouts is not needed: exact log-probs of fixed text). */
function klOnText(params: Params, ref: Params, rows: { prompt: number[]; response: number[] }[]): number {
  const pb = packSequences(rows);
  const v = tf.tidy(() => {
    const lp = tokenLogProbs(params, pb.ids, TINY);
    const lr = tokenLogProbs(ref, pb.ids, TINY);
    const d = lr.sub(lp);
    return tf.exp(d).sub(d).sub(1).mul(pb.mask).sum().div(pb.mask.sum()).dataSync()[0];
  });
  tf.dispose([pb.ids, pb.mask]);
  return v;
}

test("the KL term (klCoef > 0) pulls towards the reference, with a size proportional to klCoef", () => {
  const ref = tinyParams(21);
  // random0: every advantage is 0, so the KL term is the only gradient. SGD without clipping
  // makes the update exactly -lr * klCoef * grad(KL): twice the coefficient, twice the step.
  const delta = (klCoef: number) => {
    const params = tinyParams(22);
    const w0 = snapshot(params);
    const opt = initAdam(params);
    const ctx = ctxFor({ klCoef, optimizer: "sgd", lr: 0.05, gradClip: 1e9, miniBatchSize: 8 }, ref, "random0");
    const ro = rollout(params, ctx, 0);
    const rows = ro.rows.map((r) => ({ prompt: [...r.prompt], response: [...r.response] }));
    const before = klOnText(params, ref, rows);
    const m = grpoStep(params, opt, ctx, 0);
    const after = klOnText(params, ref, rows);
    const d = params.wte.dataSync().map((v, i) => v - w0.wte[i]);
    disposeAdam(opt);
    disposeParams(params);
    return { before, after, d, m };
  };
  const one = delta(1);
  const two = delta(2);
  assert.ok(one.before > 1e-3, `the two models should differ (KL ${one.before})`);
  assert.ok(one.after < one.before, `KL rose from ${one.before} to ${one.after}: the step moved away from the reference`);
  assert.ok(two.after < one.after, `a larger klCoef should move closer (${two.after} vs ${one.after})`);
  // The reported KL term is the k3 aggregate at the (unmoved) policy: KL of the starting params.
  close(one.m.kl, two.m.kl, 1e-7);
  assert.ok(one.m.kl > 0);
  const scale = maxAbsDiff(two.d, Array.from(one.d, (v) => 2 * v)) / Math.max(...Array.from(one.d, Math.abs));
  assert.ok(scale < 1e-3, `the update does not scale with klCoef (relative deviation ${scale})`);
  // Without the coefficient the reference is ignored: no gradient, no update at all.
  const params = tinyParams(22);
  const w0 = snapshot(params);
  const opt = initAdam(params);
  grpoStep(params, opt, ctxFor({ optimizer: "sgd", lr: 0.5, miniBatchSize: 8 }, ref, "random0"), 0);
  assert.equal(maxAbsDiff(params.wte.dataSync(), w0.wte), 0);
  disposeAdam(opt);
  disposeParams(params);
  disposeParams(ref);
  assert.throws(() => grpoStep(tinyParams(1), initAdam(tinyParams(1)), ctxFor({ klCoef: 0.1 }), 0), /klCoef 0.1 > 0 needs the frozen reference/);
});

test("top-p keeps only the nucleus: a tiny topP samples the argmax, i.e. greedy decoding", () => {
  const params = tinyParams(31);
  const prompts = getSplit("train").slice(0, 6).map((p) => p.prompt);
  const greedy = sampleResponses(params, TINY, prompts, { temperature: 0, maxNewTokens: 12 }).map((s) => s.text);
  const nucleus = sampleResponses(params, TINY, prompts, { temperature: 1, topP: 1e-6, maxNewTokens: 12, rng: makeRng(5) }).map((s) => s.text);
  const full = sampleResponses(params, TINY, prompts, { temperature: 1, topP: 1, maxNewTokens: 12, rng: makeRng(5) }).map((s) => s.text);
  assert.deepEqual(nucleus, greedy);
  assert.notDeepEqual(full, greedy, "without top-p the untrained model samples away from its argmax (else this test shows nothing)");
  disposeParams(params);
});

test("ppoEpochs = 2 runs every mini-batch twice, the second epoch in a fresh order, after pi_old is fixed once", () => {
  const ctx = ctxFor({ ppoEpochs: 2, miniBatchSize: 4 });
  const a = tinyParams(41);
  const optA = initAdam(a);
  const m = grpoStep(a, optA, ctx, 0);
  assert.equal(optA.step, 4, "2 epochs x 2 mini-batches");
  assert.notEqual(m.ratioMean, 1);
  // The same step by hand from its parts.
  const b = tinyParams(41);
  const optB = initAdam(b);
  const ro = rollout(b, ctx, 0);
  const e0 = miniBatches(ctx, ro, 0);
  const e1 = miniBatches(ctx, ro, 1);
  assert.notDeepEqual(e1, e0, "epoch 1 reshuffles");
  assert.deepEqual([...e0.flat()].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual([...e1.flat()].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7]);
  const old = oldPolicyPass(b, ctx, ro, e0);
  for (const members of [...e0, ...e1]) updateOnce(b, optB, ctx, ro, old, members);
  for (const k of Object.keys(a)) assert.equal(maxAbsDiff(a[k].dataSync(), b[k].dataSync()), 0, `${k} differs from the hand-run step`);
  // One epoch differs from two.
  const c = tinyParams(41);
  const optC = initAdam(c);
  grpoStep(c, optC, ctxFor({ ppoEpochs: 1, miniBatchSize: 4 }), 0);
  assert.ok(maxAbsDiff(a.wte.dataSync(), c.wte.dataSync()) > 0);
  [optA, optB, optC].forEach(disposeAdam);
  [a, b, c].forEach(disposeParams);
});

test("SGD with momentum and Adam, one parameter by hand", () => {
  const p = { w: tf.variable(tf.tensor1d([1, -2])) };
  const st = initAdam(p);
  const g1 = { w: tf.tensor1d([0.5, -1]) };
  const g2 = { w: tf.tensor1d([0.25, 0.5]) };
  const cfg = { lr: 0.1, momentum: 0.5, gradClip: 0 };
  close(sgdStep(p, g1, st, cfg), Math.sqrt(1.25));
  assert.deepEqual(Array.from(p.w.dataSync(), (v) => +v.toFixed(6)), [0.95, -1.9]); // buf = g1
  sgdStep(p, g2, st, cfg); // buf = 0.5 g1 + g2 = [0.5, 0]
  assert.deepEqual(Array.from(p.w.dataSync(), (v) => +v.toFixed(6)), [0.9, -1.9]);
  assert.equal(st.step, 2);
  // gradient-norm clipping scales g to norm 0.5 before the update: g1 / sqrt(1.25) * 0.5
  const q = { w: tf.variable(tf.tensor1d([0, 0])) };
  const sq = initAdam(q);
  sgdStep(q, g1, sq, { lr: 1, momentum: 0, gradClip: 0.5 });
  close(q.w.dataSync()[0], -0.5 * 0.5 / Math.sqrt(1.25));
  // Adam's first step moves each coordinate by lr * g / (|g| + eps), about lr in the gradient's sign
  const r = { w: tf.variable(tf.tensor1d([1, -2])) };
  const sr = initAdam(r);
  adamStep(r, g1, sr, { lr: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, gradClip: 0 });
  assert.deepEqual(Array.from(r.w.dataSync(), (v) => +v.toFixed(5)), [0.9, -1.9]);
  [st, sq, sr].forEach(disposeAdam);
  tf.dispose([p.w, q.w, r.w, g1.w, g2.w]);
});

test("optimizer state round-trips through a checkpoint: the next step is identical (Adam and SGD with momentum)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "grpo-opt-"));
  try {
    for (const overrides of [{}, { optimizer: "sgd", momentum: 0.9, lr: 0.05 }]) {
      const ctx = ctxFor(overrides);
      const params = tinyParams(51);
      const opt = initAdam(params);
      grpoStep(params, opt, ctx, 0);
      const file = path.join(dir, "state.ckpt");
      saveCheckpoint(file, params, { name: "t", config: TINY, meta: {}, step: 1, metrics: {} }, opt);
      const back = loadCheckpoint(file, { withOptimizer: true });
      const opt2 = back.optimizer as AdamState;
      assert.equal(opt2.step, opt.step);
      const { seconds: _a, ...m1 } = grpoStep(params, opt, ctx, 1);
      const { seconds: _b, ...m2 } = grpoStep(back.params, opt2, ctx, 1);
      assert.deepEqual(m2, m1);
      for (const k of Object.keys(params)) assert.equal(maxAbsDiff(params[k].dataSync(), back.params[k].dataSync()), 0, `${k} after the restored step`);
      // and the momentum state matters: a fresh state gives another step
      const fresh = cloneParams(back.params, true);
      const opt3 = initAdam(fresh);
      grpoStep(fresh, opt3, ctx, 2);
      grpoStep(params, opt, ctx, 2);
      assert.ok(maxAbsDiff(fresh.wte.dataSync(), params.wte.dataSync()) > 0, `${JSON.stringify(overrides)}: state made no difference`);
      [opt, opt2, opt3].forEach(disposeAdam);
      [params, back.params, fresh].forEach(disposeParams);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("drift diagnostics: KL to the start is 0 at the start, KL to the pre-step policy and parameter distance grow with the step", () => {
  const params = tinyParams(61);
  const ref = cloneParams(params, false);
  const opt = initAdam(params);
  const ctx = ctxFor({ lr: 3e-2 }, ref);
  const m0 = grpoStep(params, opt, ctx, 0);
  close(m0.klStart!, 0, 1e-6);
  assert.ok(m0.klPrev! > 0 && m0.paramDistance! > 0, JSON.stringify(m0));
  const m1 = grpoStep(params, opt, ctx, 1);
  assert.ok(m1.klStart! > 0 && m1.paramDistance! > m0.paramDistance!, JSON.stringify(m1));
  const b = m1.pOldBuckets!;
  // every response token is seen once per epoch (two mini-batches of four rollouts each)
  assert.equal(b.tokens.reduce((x, y) => x + y, 0), m1.responseLength * 8);
  assert.ok(b.low.every((v, i) => v <= b.tokens[i]) && b.high.every((v, i) => v <= b.tokens[i]));
  assert.equal(Number(m1.klPrev!.toPrecision(5)), m1.klPrev);
  // Without a start model those two are left out, not faked.
  const n = grpoStep(params, opt, ctxFor({}), 2);
  assert.equal(n.klStart, undefined);
  assert.equal(n.paramDistance, undefined);
  disposeAdam(opt);
  disposeParams(params);
  disposeParams(ref);
});

test("new knobs: validated with the knob and range named; at their defaults they leave run names alone", () => {
  assert.throws(() => resolveGrpoConfig({ optimizer: "rmsprop" }), /GRPO setting optimizer must be one of adam, sgd, got "rmsprop"/);
  assert.throws(() => resolveGrpoConfig({ optimizer: "sgd", momentum: -0.1 }), /momentum must be in \[0, 1\), got -0.1/);
  assert.throws(() => resolveGrpoConfig({ optimizer: "sgd", momentum: 1 }), /momentum must be in \[0, 1\)/);
  assert.throws(() => resolveGrpoConfig({ momentum: 0.9 }), /momentum applies to optimizer "sgd" only/);
  assert.throws(() => resolveGrpoConfig({ epsHigh: 1 }), /epsHigh must be in \[0, 1\), got 1/);
  assert.throws(() => resolveGrpoConfig({ epsLow: -0.01 }), /epsLow must be in \[0, 1\)/);
  assert.equal(resolveGrpoConfig({ optimizer: "sgd", momentum: 0.9 }).momentum, 0.9);
  assert.equal(resolveGrpoConfig({ lossAggregation: "token-mean" }).lossAggregation, "token-mean");
  assert.equal(resolveGrpoConfig({ lossAggregation: "token-mean", tokenMeanGroup: 4 }).tokenMeanGroup, 4);
  assert.throws(() => resolveGrpoConfig({ tokenMeanGroup: 4 }), /tokenMeanGroup applies to lossAggregation "token-mean" only/);
  assert.throws(() => resolveGrpoConfig({ lossAggregation: "token-mean", tokenMeanGroup: 3 }), /tokenMeanGroup 3 must divide miniBatchSize 16/);
  assert.throws(() => resolveGrpoConfig({ lossAggregation: "token-mean", tokenMeanGroup: 1.5 }), /tokenMeanGroup must be an integer/);
  // The hash input of a default config is exactly the config as it was before these knobs existed.
  const { optimizer: _o, momentum: _m, tokenMeanGroup: _g, algorithm: _a, ...before } = DEFAULT_GRPO;
  assert.equal(JSON.stringify(hashedGrpoConfig(resolveGrpoConfig())), JSON.stringify(before));
  assert.deepEqual(hashedGrpoConfig(resolveGrpoConfig({ optimizer: "sgd" })), { ...before, optimizer: "sgd" });
  assert.deepEqual(hashedGrpoConfig(resolveGrpoConfig({ optimizer: "sgd", momentum: 0.5 })), { ...before, optimizer: "sgd", momentum: 0.5 });
});

test("token-mean in groups of rows (the paper's packed micro-batches), by hand", () => {
  const loss = tf.tensor2d([[1, 2, 3], [4, 9, 9], [5, 5, 5], [2, 2, 2]]);
  const mask = tf.tensor2d([[1, 1, 1], [1, 0, 0], [1, 1, 0], [0, 0, 0]]);
  const v = (group: number) => tf.tidy(() => aggregateLoss(loss, mask, "token-mean", 1, group).dataSync()[0]);
  close(v(2), (10 / 4 + 10 / 2) / 2); // rows 0-1: 10 over 4 tokens; rows 2-3: 10 over 2
  close(v(0), 20 / 6);
  close(v(4), 20 / 6); // one group is the whole batch
  close(v(1), (6 / 3 + 4 / 1 + 10 / 2 + 0) / 4); // an empty row counts as a group with loss 0
  assert.throws(() => v(3), /group 3 does not divide the batch of 4 rows/);
  tf.dispose([loss, mask]);
});

test("a GRPO step uses the token-mean group: groups of 2 rows update differently from one group of 4", () => {
  const step = (group: number) => {
    const params = tinyParams(71);
    const opt = initAdam(params);
    grpoStep(params, opt, ctxFor({ lossAggregation: "token-mean", tokenMeanGroup: group, optimizer: "sgd", lr: 0.1 }), 0);
    const w = params.wte.dataSync().slice();
    disposeAdam(opt);
    disposeParams(params);
    return w;
  };
  const whole = step(0);
  assert.equal(maxAbsDiff(step(4), whole), 0, "one group of the whole mini-batch is plain token-mean");
  assert.ok(maxAbsDiff(step(2), whole) > 0);
});

test("a run stored before the new knobs and a new default run pool into one condition", () => {
  const { optimizer: _o, momentum: _m, tokenMeanGroup: _g, ...old } = resolveGrpoConfig();
  const asRun = (grpo: object) => ({ spec: { family: "f", reward: "random0.5", variant: "gt", grpo } }) as unknown as RunResult;
  assert.equal(conditionKey(asRun(resolveGrpoConfig())), conditionKey(asRun(old)));
  assert.notEqual(conditionKey(asRun(resolveGrpoConfig({ optimizer: "sgd" }))), conditionKey(asRun(old)));
});

test("an update that throws midway releases every tensor it made (issue 14: every exit path)", () => {
  const params = tinyParams(31);
  const opt = initAdam(params);
  const ctx = ctxFor({});
  const ro = rollout(params, ctx, 0);
  const batches = miniBatches(ctx, ro, 0);
  const old = oldPolicyPass(params, ctx, ro, batches);
  // A pi_old row missing for one member: the update fails after packing its batch.
  const broken = { ...old, oldLogp: old.oldLogp.map((v, i) => (i === batches[0][1] ? (undefined as unknown as Float32Array) : v)) };
  const before = tf.memory().numTensors;
  assert.throws(() => updateOnce(params, opt, ctx, ro, broken, batches[0]));
  assert.equal(tf.memory().numTensors, before);
  disposeAdam(opt);
  disposeParams(params);
});
