// World 2's generator (issue 11, item 1): steps that combine operations, slips off by default, and
// world 1's generator unchanged (its corpus batches hash to what they hashed to before world 2).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import { corpusBatch } from "../src/world/corpus";
import { anyCorpusBatch, BASE_CORPUS_V2, baseCorpusV2, behaviourOfV2, chunkedSteps, corpusBatchV2, corpusWorld, renderTraceV2, validateCorpusV2, type CorpusSpecV2 } from "../src/world/corpus-v2";
import { BASE_CORPUS, FAMILIES, FAMILY_IDS } from "../src/world/families";
import { FAMILY_CORPORA_V2 } from "../src/world/families-v2";
import { getSplit, makeProblem, parseProblem } from "../src/world/problems";
import { isCorrect } from "../src/world/grader";
import { firstStepPrefix, leadingInteger } from "../src/lab/step-probe";
import { budgetedBase, runStage, DEFAULT_PRETRAIN } from "../src/lab/pretrain";
import { makeRng } from "../src/util/rng";

const hash = (x: unknown) => crypto.createHash("sha256").update(JSON.stringify(x)).digest("hex").slice(0, 16);

test("world 1's corpora are bit-identical: the first 256 examples of every family's first pretraining batch hash as before world 2", () => {
  // Pinned at the commit before world 2's generator (922af57), with the seeds runStage uses.
  const pinned: Record<string, string> = {
    base: "d435dd5834f55a2d", "qwen-math-7b": "4c842d87387405b6", "qwen-math-1.5b": "6836cf33b9abe19c", "qwen-7b": "c4ecfbee82a6b3f5",
    "olmo-7b-sft": "1ec21772e01b7a4e", "olmo-7b": "53deb13a014bb5ba", "llama-8b-instruct": "9e6ff35df90f5e96",
  };
  const got: Record<string, string> = { base: hash(corpusBatch(BASE_CORPUS, makeRng("pretrain", "base-d64").fork("batch", 0), 256)) };
  for (const f of FAMILY_IDS) got[f] = hash(corpusBatch(FAMILIES[f].corpus, makeRng(`pretrain-${f}`, `family:${f}`).fork("batch", 0), 256));
  assert.deepEqual(got, pinned);
  // and pretraining's dispatcher hands a world-1 spec to world 1's generator
  const rng = () => makeRng("pretrain", "base-d64").fork("batch", 0);
  assert.equal(hash(anyCorpusBatch(BASE_CORPUS, rng(), 256)), pinned.base);
  assert.equal(corpusWorld(BASE_CORPUS), 1);
  assert.equal(corpusWorld(BASE_CORPUS_V2), 2);
});

test("a written step combines up to `size` operations, left to right, in both modes", () => {
  const p = parseProblem("k:3+4*2-5"); // 7, 14, 9
  const code = { mode: "code" as const, slip: false, format: "boxed" as const, loop: false };
  const lang = { ...code, mode: "language" as const };
  assert.equal(renderTraceV2(p, { ...code, size: 1 }, 62), "python a=3+4#7;b=a*2#14;c=b-5#9 \\boxed{9}");
  assert.equal(renderTraceV2(p, { ...code, size: 2 }, 62), "python a=3+4*2#14;b=a-5#9 \\boxed{9}");
  assert.equal(renderTraceV2(p, { ...code, size: 3 }, 62), "python a=3+4*2-5#9 \\boxed{9}");
  assert.equal(renderTraceV2(p, { ...lang, size: 1 }, 62), "3+4 is 7, 7*2 is 14, 14-5 is 9 \\boxed{9}");
  assert.equal(renderTraceV2(p, { ...lang, size: 2 }, 62), "3+4*2 is 14, 14-5 is 9 \\boxed{9}");
  assert.equal(renderTraceV2(p, { ...lang, size: 3, format: "answerIs" }, 62), "3+4*2-5 is 9 the answer is 9");
  // four operations in steps of three: a three-step, then the one left
  const q = makeProblem("a", [2, 3, 4, 1, 6], ["+", "*", "-", "+"]); // 5, 20, 19, 25
  assert.deepEqual(chunkedSteps(q, "code", 3), [{ lhs: "a=2+3*4-1#", value: 19 }, { lhs: "b=a+6#", value: 25 }]);
  // a slip, when asked for, is world 1's: the last value one too high, the answer follows it
  assert.equal(renderTraceV2(p, { ...lang, size: 2, slip: true }, 62), "3+4*2 is 14, 14-5 is 10 \\boxed{10}");
  // the probe forces everything before the first value
  assert.deepEqual(firstStepPrefix(p, "code", 2), { prefix: "python a=3+4*2#", value: 14 });
  assert.deepEqual(firstStepPrefix(p, "language", 3), { prefix: "3+4*2-5 is ", value: 9 });
  assert.equal(leadingInteger("14;b=a"), 14);
  assert.equal(leadingInteger(";b"), null);
});

test("the v2 base corpus: no slips, every trace correct, each step size and mode about a third / a half", () => {
  const ex = corpusBatchV2(BASE_CORPUS_V2, makeRng("test-v2"), 3000);
  const sizes = [0, 0, 0];
  let code = 0;
  for (const e of ex) {
    sizes[e.choice.size - 1]++;
    if (e.choice.mode === "code") code++;
    assert.equal(e.choice.slip, false);
    // every value written is the truth: the parsed answer (when there is one) is right
    if (!e.choice.loop && e.choice.format !== "none" && e.eos) assert.ok(isCorrect(e.response, e.problem.answer), e.response);
  }
  for (const n of sizes) assert.ok(Math.abs(n / 3000 - 1 / 3) < 0.04, `step sizes ${sizes}`);
  assert.ok(Math.abs(code / 3000 - 0.5) < 0.04, `code share ${code / 3000}`);
  // deterministic: example i depends only on (rng, i)
  assert.deepEqual(corpusBatchV2(BASE_CORPUS_V2, makeRng("test-v2"), 5), ex.slice(0, 5));
});

test("step-size shares depend on the problem through the knobs (like p(code)), and slips are a knob", () => {
  const spec: CorpusSpecV2 = {
    ...BASE_CORPUS_V2,
    steps: { code: { two: { mean: -30, topicSpread: 0, operandSpread: 0 }, three: { mean: -30, topicSpread: 0, operandSpread: 0 } }, language: { two: { mean: 0, topicSpread: 2, operandSpread: 0 }, three: { mean: -30, topicSpread: 0, operandSpread: 0 } } },
  };
  const b = behaviourOfV2(spec);
  const p = parseProblem("a:3+4*2");
  assert.ok(b.stepProbs(p, "code")[0] > 0.999999, "code: one operation per statement");
  const shares = "abcdefghijklmnopqrstuvwxyz".split("").map((t) => b.stepProbs(parseProblem(`${t}:3+4*2`), "language")[1]);
  assert.ok(Math.min(...shares) < 0.1 && Math.max(...shares) > 0.9, `two-op share varies by topic: ${Math.min(...shares)}..${Math.max(...shares)}`);
  assert.ok(b.pSlip(p, "code") < 1e-9, "slips off by default");
  const slipping = behaviourOfV2({ ...spec, slip: { code: { mean: 30, topicSpread: 0, operandSpread: 0 }, language: spec.slip.language } });
  assert.ok(slipping.pSlip(p, "code") > 0.999999);
});

test("modeByOps moves p(code) by problem length: the logit shifts by modeByOps x (operations - 2.5); absent is 0", () => {
  const logit = (x: number) => Math.log(x / (1 - x));
  const plain = behaviourOfV2(BASE_CORPUS_V2);
  const byOps = behaviourOfV2({ ...BASE_CORPUS_V2, modeByOps: 4 });
  const zero = behaviourOfV2({ ...BASE_CORPUS_V2, modeByOps: 0 });
  for (const text of ["a:3+4*2", "b:7-2*3+5", "c:9*3-1-4", "d:2+3*4-5+6"]) { // 2, 3, 3 and 4 operations: linear in the count
    const p = parseProblem(text);
    const shift = 4 * (p.ops.length - 2.5);
    assert.ok(Math.abs(logit(byOps.pCode(p)) - logit(plain.pCode(p)) - shift) < 1e-9, `${text}: shift ${shift}`);
    assert.equal(zero.pCode(p), plain.pCode(p));
  }
  assert.ok(byOps.pCode(parseProblem("b:7-2*3+5")) > byOps.pCode(parseProblem("b:7-2*3")), "positive: code for the longer problem");
  // A family written without the knob hashes as before it existed (its checkpoint keeps its name).
  assert.ok(!("modeByOps" in FAMILY_CORPORA_V2["qwen-math-7b"].corpus));
});

test("bad v2 knobs are errors naming the knob; a stage's corpus must belong to its world", () => {
  assert.throws(() => validateCorpusV2({ ...BASE_CORPUS_V2, modeByOps: Number.POSITIVE_INFINITY }), /modeByOps must be a finite number \(a logit per operation\) or absent, got Infinity/);
  assert.throws(() => validateCorpusV2({ ...BASE_CORPUS_V2, repetition: 2 }), /repetition must be in \[0, 1\], got 2/);
  assert.throws(() => validateCorpusV2({ ...BASE_CORPUS_V2, steps: { ...BASE_CORPUS_V2.steps, language: { ...BASE_CORPUS_V2.steps.language, three: { mean: NaN, topicSpread: 0, operandSpread: 0 } } } }), /steps\.language\.three\.mean must be a finite number/);
  assert.throws(() => validateCorpusV2({ ...BASE_CORPUS_V2, format: { ...BASE_CORPUS_V2.format, code: { boxed: 0, answerIs: 0, none: 0 } } }), /format\.code needs weights >= 0/);
  assert.throws(() => validateCorpusV2({ ...BASE_CORPUS_V2, world: 1 as 2 }), /world must be 2/);
  const stage = { name: "x", out: "/nonexistent/x.ckpt", size: { dModel: 16, nLayers: 1, nHeads: 2, dMlp: 32 }, parent: null, train: DEFAULT_PRETRAIN };
  assert.throws(() => runStage({ ...stage, corpus: BASE_CORPUS_V2 }), /stage x: its corpus spec belongs to world 2, but the stage is for world 1/);
  assert.throws(() => runStage({ ...stage, corpus: BASE_CORPUS, world: 2 }), /belongs to world 1, but the stage is for world 2/);
});

test("a family's own mode spread: toy OLMo2-7B-SFT's corpus practises language on ~30% of examples while p(code) > 1/2 on more than 98% of problems", () => {
  // The session-9 lever (families-v2.ts): p(code) a little above one half on nearly every problem,
  // instead of world 1's shared spreads, which put most problems near 0 or 1. (Its network then writes
  // language on 5% of problems greedily: its base learned arithmetic mostly in words, baseMode.)
  const sft = behaviourOfV2(FAMILY_CORPORA_V2["olmo-7b-sft"].corpus);
  const shared = behaviourOfV2(FAMILY_CORPORA_V2["qwen-7b"].corpus);
  const test = getSplit("test");
  const codeGreedy = (b: typeof sft) => test.filter((p) => b.pCode(p) > 0.5).length / test.length;
  const languageShare = (b: typeof sft) => test.reduce((s, p) => s + 1 - b.pCode(p), 0) / test.length;
  assert.ok(codeGreedy(sft) > 0.98, `greedy code share ${codeGreedy(sft)}`);
  assert.ok(languageShare(sft) > 0.25 && languageShare(sft) < 0.4, `language practice ${languageShare(sft)}`);
  // a family with the shared spreads and a lower greedy code share (toy Qwen2.5-7B, 93%) practises about half as much language
  assert.ok(codeGreedy(shared) < codeGreedy(sft) && languageShare(shared) < 0.6 * languageShare(sft), `qwen-7b: greedy code ${codeGreedy(shared)}, language practice ${languageShare(shared)}`);
});

test("a base of another code share (world 2's baseMode): its own checkpoint name, the shared corpus with the mode redrawn", () => {
  assert.equal(baseCorpusV2(), BASE_CORPUS_V2);
  assert.equal(baseCorpusV2(0), BASE_CORPUS_V2); // the shared base's own mode: the same base, not a copy under another name
  assert.equal(budgetedBase("base-d48", 1600, 0), "base-d48-1600steps");
  const lang = baseCorpusV2(-3);
  assert.deepEqual({ ...lang, mode: BASE_CORPUS_V2.mode }, BASE_CORPUS_V2);
  const codeShare = (c: CorpusSpecV2) => corpusBatchV2(c, makeRng("base-mode-test").fork("batch", 0), 2000).filter((e) => e.choice.mode === "code").length / 2000;
  assert.ok(Math.abs(codeShare(BASE_CORPUS_V2) - 0.5) < 0.05, `shared base ${codeShare(BASE_CORPUS_V2)}`);
  assert.ok(Math.abs(codeShare(lang) - 1 / (1 + Math.exp(3))) < 0.015, `mode -3 ${codeShare(lang)}`);
  assert.throws(() => baseCorpusV2(Number.NaN), /a base's mode must be a finite logit of p\(code\), got NaN/);
  assert.equal(budgetedBase("base-d48"), "base-d48");
  assert.equal(budgetedBase("base-d48", 1600), "base-d48-1600steps");
  assert.equal(budgetedBase("base-d48", 1600, -3), "base-d48-1600steps-mode-3");
  assert.throws(() => budgetedBase("base-d48", 1600, Number.POSITIVE_INFINITY), /a base's mode must be a finite logit/);
});
