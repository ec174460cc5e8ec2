import { test } from "node:test";
import assert from "node:assert/strict";
import { parseReward, hasRepetition } from "../src/rl/rewards";
import { renderTrace } from "../src/world/traces";
import { getSplit } from "../src/world/problems";

const x = (response: string, label = 9, rollout = 0) => ({ response, label, seed: 1, step: 0, rollout });

test("rewards on hand-written responses", () => {
  const math = parseReward("math");
  assert.equal(math(x("python a=3+4#7;b=a*2#14;c=b-5#9 \\boxed{9}")).reward, 1);
  assert.equal(math(x("3+4*2 is 14, 14-5 is 10 \\boxed{10}")).reward, 0);
  assert.equal(math(x("so the answer is 9")).reward, 1);
  assert.equal(math(x("\\boxed{9}", 8)).reward, 0, "math compares with the dataset label, whatever the truth");
  assert.equal(parseReward("box_only_format")(x("blah \\boxed{3}")).reward, 1);
  assert.equal(parseReward("box_only_format")(x("blah \\boxed{}")).reward, 0);
  assert.equal(parseReward("contain_python_wo_backticks")(x("python a=1")).reward, 1);
  assert.equal(parseReward("inverse_contain_python_wo_backticks")(x("python a=1")).reward, 0);
  const and = parseReward("box_only_format_AND_inverse_contain_python_wo_backticks");
  assert.equal(and(x("1+1 is 2 \\boxed{2}")).reward, 1);
  assert.equal(and(x("python a=1+1#2 \\boxed{2}")).reward, 0);
  assert.deepEqual(Object.keys(and(x("1+1 is 2 \\boxed{2}")).parts).sort(), ["box_only_format", "contain_python_wo_backticks", "inverse_contain_python_wo_backticks"].sort());
  assert.equal(parseReward("no_repetition")(x("python a=1+1#2;b=a+1#3;b=a+1#3;b=a+1#3")).reward, 0);
  assert.equal(parseReward("no_repetition")(x("python a=1+1#2;b=a+1#3 \\boxed{3}")).reward, 1);
});

test("random<gamma>: seeded per (seed, step, rollout), independent of the response, rate gamma", () => {
  const r = parseReward("random0.5");
  assert.equal(r(x("a", 1, 7)).reward, r(x("completely different", 2, 7)).reward);
  let sum = 0;
  for (let i = 0; i < 4000; i++) sum += r(x("", 0, i)).reward;
  assert.ok(Math.abs(sum / 4000 - 0.5) < 0.03);
  let s3 = 0;
  const r3 = parseReward("random0.3");
  for (let i = 0; i < 4000; i++) s3 += r3(x("", 0, i)).reward;
  assert.ok(Math.abs(s3 / 4000 - 0.3) < 0.03);
  for (let i = 0; i < 200; i++) assert.equal(parseReward("random0")(x("", 0, i)).reward, 0);
  assert.equal(parseReward("random0.001")(x("", 0, 1)).reward, 0);
});

test("unknown or malformed reward names are errors listing the valid ones", () => {
  assert.throws(() => parseReward("accuracy"), /unknown reward "accuracy"; valid: math, box_only_format/);
  assert.throws(() => parseReward("random1.5"), /gamma must be in \[0, 1\]/);
  assert.throws(() => parseReward("math_AND_"), /non-empty/);
  assert.throws(() => parseReward("inverse_bogus"), /unknown reward "bogus"/);
});

test("no correct trace of the world counts as repetition", () => {
  for (const p of [...getSplit("test"), ...getSplit("hard")]) {
    for (const [mode, bigSteps] of [["code", false], ["language", false], ["language", true]] as const) {
      assert.ok(!hasRepetition(renderTrace(p, { mode, slip: false, format: "boxed", loop: false, bigSteps }, 62)), p.text);
    }
  }
});
