import { before, test } from "node:test";
import assert from "node:assert/strict";
import { setup, tinyParams, TINY, tf, maxAbsDiff } from "./helpers";
import { aggregateLoss, clippedTokenLoss, groupAdvantages, k3 } from "../src/rl/grpo-math";
import { grpoStep, resolveGrpoConfig, type GrpoContext } from "../src/rl/grpo";
import { initAdam, disposeAdam } from "../src/model/optim";
import { disposeParams } from "../src/model/model";
import { parseReward } from "../src/rl/rewards";
import { makeRng } from "../src/util/rng";
import { getSplit } from "../src/world/problems";
import { STRAIGHTFORWARD, withImpl } from "../src/model/impl";

before(setup);

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) < tol, `${a} != ${b}`);

test("group advantages: unbiased std, zeros for an all-equal group, Dr. GRPO variant", () => {
  const a = groupAdvantages([1, 0, 0, 1, 1, 1, 1, 1], 4);
  const s = Math.sqrt(1 / 3); // unbiased std of [1,0,0,1]
  [0.5 / s, -0.5 / s, -0.5 / s, 0.5 / s].forEach((v, i) => close(a[i], v));
  assert.deepEqual(a.slice(4), [0, 0, 0, 0]);
  assert.deepEqual(groupAdvantages([1, 0, 0, 1], 4, "no_std"), [0.5, -0.5, -0.5, 0.5]);
  const b = groupAdvantages([0.3, 0.9, 0.1, 0.5], 2);
  close(b[0] + b[1], 0);
  close(b[2] + b[3], 0);
  assert.throws(() => groupAdvantages([1, 0, 1], 2), /groups of 2/);
});

/** Loss and d loss / d logp for one token with ratio r and advantage a. */
function lossAndGrad(r: number, a: number, clip = true, eps = 0.2): [number, number] {
  const old = tf.scalar(Math.log(0.5));
  const lp = tf.scalar(Math.log(0.5 * r));
  const adv = tf.scalar(a);
  const f = (x: tf.Tensor) => clippedTokenLoss(x, old, adv, { epsLow: eps, epsHigh: eps, clip }) as tf.Scalar;
  const g = tf.grad(f)(lp);
  const out: [number, number] = [f(lp).dataSync()[0], g.dataSync()[0]];
  tf.dispose([old, lp, adv, g]);
  return out;
}

test("clipped loss and gradient, by hand: inside the range and beyond each side, both signs of A", () => {
  // inside: loss = -rho A, d/dlogp = -rho A
  let [l, g] = lossAndGrad(1.1, 1);
  close(l, -1.1); close(g, -1.1);
  // rho above 1 + eps, A > 0: clipped, no gradient (the clip stops pushing a token up)
  [l, g] = lossAndGrad(1.5, 1);
  close(l, -1.2); close(g, 0);
  // rho below 1 - eps, A > 0: unclipped branch is the min, gradient flows
  [l, g] = lossAndGrad(0.5, 1);
  close(l, -0.5); close(g, -0.5);
  // rho below 1 - eps, A < 0: clipped, no gradient (the clip stops pushing a token down)
  [l, g] = lossAndGrad(0.5, -1);
  close(l, 0.8); close(g, 0);
  // rho above 1 + eps, A < 0: unclipped branch, gradient flows
  [l, g] = lossAndGrad(1.5, -1);
  close(l, 1.5); close(g, 1.5);
  // clipping off: always rho * A
  [l, g] = lossAndGrad(1.5, 1, false);
  close(l, -1.5); close(g, -1.5);
  [l, g] = lossAndGrad(0.5, -1, false);
  close(l, 0.5); close(g, 0.5);
  // at ratio 1 the clipped and unclipped losses agree
  close(lossAndGrad(1, 0.7)[0], lossAndGrad(1, 0.7, false)[0]);
  close(lossAndGrad(1, 0.7)[1], lossAndGrad(1, 0.7, false)[1]);
});

test("k3 and the three loss aggregations, by hand", () => {
  const v = tf.tidy(() => k3(tf.scalar(Math.log(0.5)), tf.scalar(Math.log(0.25))).dataSync()[0]);
  close(v, 0.5 + Math.log(2) - 1); // exp(d) - d - 1 with d = log(0.5)
  close(tf.tidy(() => k3(tf.scalar(-1.3), tf.scalar(-1.3)).dataSync()[0]), 0);
  const loss = tf.tensor2d([[1, 2, 3], [4, 9, 9]]);
  const mask = tf.tensor2d([[1, 1, 1], [1, 0, 0]]);
  close(aggregateLoss(loss, mask, "seq-mean-token-mean", 4).dataSync()[0], (2 + 4) / 2);
  close(aggregateLoss(loss, mask, "token-mean", 4).dataSync()[0], 10 / 4);
  close(aggregateLoss(loss, mask, "seq-mean-token-sum-norm", 4).dataSync()[0], (6 / 4 + 4 / 4) / 2);
  tf.dispose([loss, mask]);
});

function ctxFor(reward: string, overrides: Record<string, unknown>): GrpoContext {
  const config = resolveGrpoConfig({ promptsPerStep: 2, samplesPerPrompt: 4, miniBatchSize: 4, maxResponseTokens: 16, lr: 1e-2, ...overrides });
  const dataset = getSplit("train").slice(0, 8).map((p) => ({ problem: p, label: p.answer }));
  return { config, model: TINY, dataset, reward: parseReward(reward), seed: 3, rng: makeRng(3, "grpo"), ref: null };
}

test("ratio is exactly 1 when the policy has not moved (one update per step), and the clip is silent", () => {
  const params = tinyParams(7);
  const opt = initAdam(params);
  const m = grpoStep(params, opt, ctxFor("random0.5", { miniBatchSize: 8 }), 0);
  assert.equal(m.ratioMean, 1);
  assert.equal(m.clipLow + m.clipHigh, 0);
  disposeAdam(opt);
  disposeParams(params);
});

test("with several mini-batches the policy moves within a step, so later ratios differ from 1", () => {
  const params = tinyParams(8);
  const opt = initAdam(params);
  const m = grpoStep(params, opt, ctxFor("random0.5", { lr: 3e-2 }), 0);
  assert.notEqual(m.ratioMean, 1);
  disposeAdam(opt);
  disposeParams(params);
});

test("random0 (gamma = 0) leaves every parameter bitwise unchanged", () => {
  const params = tinyParams(9);
  const before = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.dataSync().slice()]));
  const opt = initAdam(params);
  const ctx = ctxFor("random0", {});
  for (let s = 0; s < 2; s++) {
    const m = grpoStep(params, opt, ctx, s);
    assert.equal(m.rewardMean, 0);
    assert.equal(m.zeroVarianceGroups, 1);
  }
  for (const [k, v] of Object.entries(params)) assert.equal(maxAbsDiff(v.dataSync(), before[k]), 0, `${k} changed`);
  disposeAdam(opt);
  disposeParams(params);
});

test("a GRPO step on the optimised paths matches the straightforward ones (same rollouts, same update)", () => {
  const run = () => {
    const params = tinyParams(11);
    const opt = initAdam(params);
    const { seconds, ...m } = grpoStep(params, opt, ctxFor("random0.5", {}), 0);
    const w = params["h0.attn.wqkv"].dataSync().slice();
    disposeAdam(opt);
    disposeParams(params);
    return { m, w };
  };
  const fast = run();
  const slow = withImpl(STRAIGHTFORWARD, run);
  assert.equal(fast.m.rewardMean, slow.m.rewardMean);
  assert.equal(fast.m.responseLength, slow.m.responseLength);
  assert.ok(Math.abs(fast.m.loss - slow.m.loss) < 1e-5, `loss ${fast.m.loss} vs ${slow.m.loss}`);
  assert.ok(maxAbsDiff(fast.w, slow.w) < 1e-5, "updated weights differ");
  assert.ok(fast.m.rewardStd > 0, "a step without reward variance compares nothing");
});

test("a GRPO step is deterministic and leaks no tensors", () => {
  const run = () => {
    const params = tinyParams(10);
    const opt = initAdam(params);
    const ctx = ctxFor("box_only_format", {});
    const ms = [grpoStep(params, opt, ctx, 0), grpoStep(params, opt, ctx, 1)].map(({ seconds, ...rest }) => rest);
    const w = params.wte.dataSync().slice();
    disposeAdam(opt);
    disposeParams(params);
    return { ms, w };
  };
  const a = run(); // warms the per-length causal-mask cache (kept on purpose)
  const n0 = tf.memory().numTensors;
  const b = run();
  assert.deepEqual(a.ms, b.ms);
  assert.equal(maxAbsDiff(a.w, b.w), 0);
  assert.equal(tf.memory().numTensors, n0, "tensors leaked");
});

test("GRPO config: defaults validated, bad keys and values named", () => {
  assert.throws(() => resolveGrpoConfig({ lrr: 1 }), /unknown GRPO setting "lrr"/);
  assert.throws(() => resolveGrpoConfig({ lr: "fast" }), /lr must be a finite number/);
  assert.throws(() => resolveGrpoConfig({ promptsPerStep: 0 }), /promptsPerStep must be a positive integer/);
  assert.throws(() => resolveGrpoConfig({ miniBatchSize: 24 }), /miniBatchSize 24 does not divide the rollout batch 16 x 8 = 128/);
  assert.throws(() => resolveGrpoConfig({ clip: "no" }), /clip must be true or false/);
  assert.throws(() => resolveGrpoConfig({ lossAggregation: "sum" }), /lossAggregation must be one of/);
  assert.equal(resolveGrpoConfig().epsLow, 0.2);
});

test("sharedFirstPass: the first update's forward doubles as pi_old's; every metric and weight is bit-identical, with and without a reference, and one forward fewer", async () => {
  const cases: [string, Record<string, unknown>, boolean][] = [["random0.5", { miniBatchSize: 4 }, false], ["random0.5", { miniBatchSize: 4, ppoEpochs: 2 }, true], ["random0.5", { miniBatchSize: 4, klCoef: 0.1 }, true]];
  for (const [reward, overrides, withRef] of cases) {
    const run = () => {
      const params = tinyParams(31);
      const ref = withRef ? tinyParams(32) : null;
      const opt = initAdam(params);
      const ctx = { ...ctxFor(reward, overrides), ref };
      const ms = [0, 1].map((s) => {
        const { seconds, ...m } = grpoStep(params, opt, ctx, s);
        return m;
      });
      const w = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Array.from(v.dataSync())]));
      disposeAdam(opt);
      disposeParams(params);
      if (ref) disposeParams(ref);
      return { ms, w };
    };
    const shared = run();
    const separate = withImpl({ sharedFirstPass: false }, run);
    assert.deepEqual(shared, separate, JSON.stringify(overrides));
    assert.ok(shared.ms[0].rewardStd > 0, "a step without reward variance compares nothing");
  }
  // the forwards a step runs, one log softmax each: 2 mini-batches of 4 rollouts, pi_old 2 + updates
  // 2 + drift diagnostics 2 (all 8 rollouts: fewer than DIAGNOSTIC_ROLLOUTS) = 6; shared, 5
  const forwards = async (share: boolean) => {
    const params = tinyParams(33);
    const opt = initAdam(params);
    const prof = await tf.profile(() => void withImpl({ sharedFirstPass: share }, () => grpoStep(params, opt, ctxFor("random0.5", {}), 0)));
    disposeAdam(opt);
    disposeParams(params);
    return prof.kernels.filter((k) => /logSoftmax/i.test(k.name)).length;
  };
  assert.deepEqual([await forwards(true), await forwards(false)], [5, 6]);
});
