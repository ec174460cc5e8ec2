import { test } from "node:test";
import assert from "node:assert/strict";
import { decode, encode, EOS, VOCAB_SIZE } from "../src/world/tokens";
import { isCorrect, parseAnswer, isCodeResponse, hasBoxed } from "../src/world/grader";
import { getSplit, makeProblem, parseProblem, bucketOf, splitOfBucket, SPLITS, MAX_VALUE } from "../src/world/problems";
import { renderTrace } from "../src/world/traces";
import { corpusBatch, CONTEXT_LENGTH, MAX_RESPONSE_TOKENS } from "../src/world/corpus";
import { FAMILIES, FAMILY_IDS, getFamily, normalQuantile, behaviourOf } from "../src/world/families";
import { makeRng } from "../src/util/rng";

test("tokenizer round-trips the alphabet and names an unknown character", () => {
  const s = "k:3+4*2=python a=3+4#7;b=a*2#14 \\boxed{14} the answer is -3, so.";
  assert.equal(decode(encode(s)), s);
  assert.ok(VOCAB_SIZE > 40);
  assert.throws(() => encode("3 + x²"), /"²".*position 5/);
  assert.throws(() => encode("A"), /"A"/);
  assert.equal(decode([...encode("12"), EOS, ...encode("34")]), "12");
});

test("grader: boxed beats 'the answer is' beats last number; malformed input", () => {
  assert.deepEqual(parseAnswer("2+2 is 4 \\boxed{4} the answer is 5"), { value: 4, source: "boxed" });
  assert.deepEqual(parseAnswer("\\boxed{3} then \\boxed{7}"), { value: 7, source: "boxed" });
  assert.deepEqual(parseAnswer("\\boxed{3} then \\boxed{}"), { value: 3, source: "boxed" }, "empty box is skipped");
  assert.deepEqual(parseAnswer("so the answer is 12 and 13"), { value: 12, source: "answer_is" });
  assert.deepEqual(parseAnswer("3+4 is 7, 7*2 is 14"), { value: 14, source: "last_number" });
  assert.deepEqual(parseAnswer("no digits here"), { value: null, source: "none" });
  assert.deepEqual(parseAnswer("\\boxed{x}"), { value: null, source: "boxed" }, "a non-numeric box is a wrong answer");
  assert.deepEqual(parseAnswer("the answer is -8"), { value: -8, source: "answer_is" });
  assert.deepEqual(parseAnswer("\\boxed{12"), { value: 12, source: "last_number" }, "unclosed box falls through");
  assert.ok(isCorrect("python a=3+4#7 \\boxed{7}", 7));
  assert.ok(!isCorrect("python a=3+4#7 \\boxed{8}", 7));
  assert.ok(isCodeResponse("python a=1+1#2"));
  assert.ok(!isCodeResponse("1+1 is 2"));
  assert.ok(hasBoxed("x \\boxed{ 2 }"));
  assert.ok(!hasBoxed("x \\boxed{ }"));
});

test("problems evaluate left to right and round-trip through their text", () => {
  const p = makeProblem("k", [3, 4, 2, 5], ["+", "*", "-"]);
  assert.deepEqual(p.values, [7, 14, 9]);
  assert.equal(p.answer, 9);
  assert.equal(p.prompt, "k:3+4*2-5=");
  assert.deepEqual(parseProblem(p.text), p);
  assert.throws(() => makeProblem("k", [1, 5], ["-"]), /out of/);
  assert.throws(() => parseProblem("K:1+2"), /not a problem/);
});

test("splits have their sizes, valid values, and are pairwise disjoint", () => {
  const seen = new Map<string, string>();
  for (const s of SPLITS) {
    const ps = getSplit(s);
    assert.equal(new Set(ps.map((p) => p.text)).size, ps.length, `${s} has duplicates`);
    for (const p of ps) {
      assert.equal(splitOfBucket(bucketOf(p.text)), s);
      assert.ok(p.values.every((v) => v >= 0 && v <= MAX_VALUE));
      const other = seen.get(p.text);
      assert.equal(other, undefined, `${p.text} is in ${s} and ${other}`);
      seen.set(p.text, s);
    }
  }
  assert.equal(getSplit("test").length, 500);
  assert.ok(getSplit("hard").every((p) => p.ops.length === 4));
  assert.ok(getSplit("test").every((p) => p.ops.length === 2 || p.ops.length === 3));
});

test("pretraining corpora never contain an evaluation problem and fit the context", () => {
  const evalTexts = new Set(["test", "hard", "fresh"].flatMap((s) => getSplit(s as "test").map((p) => p.text)));
  // llama's habits (small language steps, "the answer is") make the longest traces
  const ex = [...corpusBatch(FAMILIES["qwen-math-7b"].corpus, makeRng("corpus-test"), 2000), ...corpusBatch(FAMILIES["llama-8b-instruct"].corpus, makeRng("corpus-test"), 4000)];
  assert.ok(ex.some((e) => !e.eos && !e.choice.loop), "some over-long trace is cut at the limit");
  for (const e of ex) {
    assert.ok(!evalTexts.has(e.problem.text));
    assert.ok(e.response.length + (e.eos ? 1 : 0) <= MAX_RESPONSE_TOKENS);
    assert.ok(1 + e.problem.prompt.length + e.response.length + (e.eos ? 1 : 0) <= CONTEXT_LENGTH);
    if (!e.choice.slip && e.eos) assert.ok(isCorrect(e.response, e.problem.answer), e.response);
    if (e.choice.slip && e.eos) assert.ok(!isCorrect(e.response, e.problem.answer), e.response);
    assert.equal(isCodeResponse(e.response), e.choice.mode === "code");
  }
});

test("traces: code writes one op per statement, language one or two per step; a slip is off by one", () => {
  const p = makeProblem("k", [3, 4, 2, 5], ["+", "*", "-"]);
  const base = { slip: false, loop: false, bigSteps: false };
  assert.equal(renderTrace(p, { ...base, mode: "code", format: "boxed" }, 60), "python a=3+4#7;b=a*2#14;c=b-5#9 \\boxed{9}");
  assert.equal(renderTrace(p, { ...base, mode: "language", format: "answerIs", bigSteps: true }, 60), "3+4*2 is 14, 14-5 is 9 the answer is 9");
  assert.equal(renderTrace(p, { ...base, mode: "language", format: "boxed" }, 60), "3+4 is 7, 7*2 is 14, 14-5 is 9 \\boxed{9}");
  assert.equal(renderTrace(p, { ...base, mode: "language", slip: true, format: "none", bigSteps: true }, 60), "3+4*2 is 14, 14-5 is 10");
  const loop = renderTrace(p, { ...base, mode: "code", format: "boxed", loop: true }, 60);
  assert.equal(loop.length, 60);
  assert.ok(!hasBoxed(loop));
});

test("family specs: ids validated, topic probabilities well formed", () => {
  assert.throws(() => getFamily("gpt-5"), /unknown family "gpt-5"; valid ids: qwen-math-7b/);
  for (const id of FAMILY_IDS) {
    const b = behaviourOf(getFamily(id).corpus);
    for (const p of getSplit("test").slice(0, 50)) for (const q of [b.pCode(p), b.pSlip(p, "code"), b.pSlip(p, "language")]) assert.ok(q >= 0 && q <= 1);
  }
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-5);
  assert.ok(Math.abs(normalQuantile(0.5)) < 1e-12);
});
