/**
 * The named policy-gradient algorithms (issue 12): each is a setting of the GRPO config, and its
 * loss on one hand-computed mini-batch is checked against numbers worked out on paper below.
 *
 * The batch: one group of G = 3 with rewards [1, 0, 0]; two response tokens per row, the second
 * row's second token masked out; ratios rho = pi / pi_old of [1.5, 1.0], [0.5, -], [1.0, 0.7].
 * Advantages: std  (r - 1/3) / 0.57735 = [1.1547, -0.57735, -0.57735]
 *             no_std r - 1/3            = [0.66667, -0.33333, -0.33333]
 *             rloo   r - mean(others)   = [1, -0.5, -0.5]
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { ALGORITHMS, ALGORITHM_NAMES, DEFAULT_GRPO, hashedGrpoConfig, resolveGrpoConfig, type GrpoConfig } from "../src/rl/grpo";
import { groupAdvantages, policyLoss } from "../src/rl/grpo-math";

const REWARDS = [1, 0, 0];
const RATIOS = [[1.5, 1.0], [0.5, 1.0], [1.0, 0.7]];
const MASK = [[1, 1], [1, 0], [1, 1]];

function lossOf(c: GrpoConfig): number {
  return tf.tidy(() => {
    const old = tf.fill([3, 2], Math.log(0.5));
    const logp = old.add(tf.log(tf.tensor2d(RATIOS)));
    const adv = tf.tensor2d(groupAdvantages(REWARDS, 3, c.advantage), [3, 1]);
    return policyLoss(logp, old, adv, tf.tensor2d(MASK), c).dataSync()[0];
  });
}

test("advantages per baseline, by hand", () => {
  const close = (a: number[], b: number[]) => a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) < 1e-4, `${a} vs ${b}`));
  close(groupAdvantages(REWARDS, 3, "std"), [1.1547, -0.57735, -0.57735]);
  close(groupAdvantages(REWARDS, 3, "no_std"), [2 / 3, -1 / 3, -1 / 3]);
  close(groupAdvantages(REWARDS, 3, "rloo"), [1, -0.5, -0.5]);
  close(groupAdvantages([1, 1, 1, 0, 1, 0], 3, "rloo"), [0, 0, 0, -0.5, 1, -0.5]);
  assert.throws(() => groupAdvantages([1, 0], 1, "rloo"), /leave-one-out/);
});

test("each algorithm's loss on the hand-computed batch", () => {
  const expected: Record<string, number> = {
    // row means -1.27017 (1.2A clipped, A), 0.46188 (0.8A clipped), 0.51962 (A, 0.8A clipped); mean
    grpo: -0.096225,
    // no clip: -(rho A) averaged per row: -0.83333, 0.16667, 0.28333
    reinforce: -0.127778,
    // RLOO's advantages are 1.5x REINFORCE's here: -1.25, 0.25, 0.425
    rloo: -0.191667,
    // clip kept, token sums / 4 (lossNorm = maxResponseTokens 4): -1.46667/4, 0.26667/4, 0.6/4
    "dr-grpo": -0.05,
    // only row 0's first token moves: min(1.5A, 1.28A) = 1.28 x 1.1547
    "clip-higher": -0.111621,
  };
  assert.deepEqual(Object.keys(expected).sort(), [...ALGORITHM_NAMES].sort(), "every algorithm has a hand-computed loss");
  for (const name of ALGORITHM_NAMES) {
    const got = lossOf(resolveGrpoConfig({ algorithm: name, maxResponseTokens: 4 }));
    assert.ok(Math.abs(got - expected[name]) < 1e-5, `${name}: loss ${got}, by hand ${expected[name]}`);
  }
});

test("an algorithm is a named setting: what it fixes, nothing else; contradictions and unknown names are errors", () => {
  const rloo = resolveGrpoConfig({ algorithm: "rloo" });
  assert.equal(rloo.advantage, "rloo");
  assert.equal(rloo.clip, false);
  assert.equal(rloo.lr, DEFAULT_GRPO.lr);
  assert.equal(resolveGrpoConfig({ algorithm: "clip-higher" }).epsHigh, 0.28);
  assert.equal(resolveGrpoConfig({ algorithm: "dr-grpo" }).lossNorm, DEFAULT_GRPO.maxResponseTokens);
  // overriding a setting the algorithm does not fix is fine; contradicting one is not
  assert.equal(resolveGrpoConfig({ algorithm: "reinforce", lr: 1e-5 }).lr, 1e-5);
  assert.throws(() => resolveGrpoConfig({ algorithm: "reinforce", clip: true }), /clip true contradicts algorithm "reinforce"/);
  assert.throws(() => resolveGrpoConfig({ algorithm: "ppo2" }), /unknown algorithm "ppo2"; valid: grpo, reinforce, rloo, dr-grpo, clip-higher/);
  // the paper's GRPO hashes as before the knob existed, so stored runs keep their names
  assert.equal("algorithm" in hashedGrpoConfig(resolveGrpoConfig({})), false);
  assert.equal(hashedGrpoConfig(resolveGrpoConfig({ algorithm: "rloo" })).algorithm, "rloo");
  assert.deepEqual(ALGORITHMS.grpo, {});
});
