/**
 * Issue 12's contaminated family and the `fresh` split: corpora never hold an evaluation problem
 * (only the contaminated family's answer lines hold `test` ones), contamination changes nothing but
 * the examples it replaces, bad fractions are errors, and the memorisation measures count right.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { corpusBatch } from "../src/world/corpus";
import { BASE_CORPUS_V2, contaminationPrompt, corpusBatchV2, validateCorpusV2 } from "../src/world/corpus-v2";
import { BASE_CORPUS, DERIVED_FAMILY_IDS, FAMILIES, FAMILY_IDS, getFamily } from "../src/world/families";
import { familyNotInWorld, getFamilyV2, shipsFamily } from "../src/world/families-v2";
import { derivationHolds } from "../src/world/grader";
import { getSplit, SPLITS, type SplitName } from "../src/world/problems";
import { makeRng } from "../src/util/rng";
import { memorisationReport, underived } from "../src/lab/contamination";
import { baseModelReport } from "../src/lab/basemodels";
import { gradeResponse } from "../src/lab/evaluate";
import { examplesToRows } from "../src/lab/pretrain";

const splitOf = new Map<string, SplitName>();
for (const s of SPLITS) for (const p of getSplit(s)) splitOf.set(p.text, s);
const EVAL_SPLITS: SplitName[] = ["test", "hard", "fresh"];

test("no corpus of either world holds an evaluation problem; the contaminated one holds test answers only, never fresh or hard", () => {
  const corpora = [
    ...FAMILY_IDS.map((id) => ({ name: `world 1 ${id}`, batch: (i: number) => corpusBatch(FAMILIES[id].corpus, makeRng("disjoint", id, i), 512) })),
    { name: "world 1 base", batch: (i: number) => corpusBatch(BASE_CORPUS, makeRng("disjoint", "base", i), 512) },
    { name: "world 2 base", batch: (i: number) => corpusBatchV2(BASE_CORPUS_V2, makeRng("disjoint", "base2", i), 512) },
    ...[...FAMILY_IDS, ...DERIVED_FAMILY_IDS].map((id) => ({ name: `world 2 ${id}`, batch: (i: number) => corpusBatchV2(getFamilyV2(id).corpus, makeRng("disjoint", id, i), 512) })),
  ];
  const fresh = new Set(getSplit("fresh").map((p) => p.text));
  // every problem text written anywhere in a sequence (maximal: "p:2*5+7-3" is not "p:2*5+7")
  const problemsIn = (text: string) => text.match(/[a-z]:\d(?:[-+*]\d)+/g) ?? [];
  let contaminated = 0;
  for (const c of corpora) for (let i = 0; i < 4; i++) for (const e of c.batch(i)) {
    const split = splitOf.get(e.problem.text);
    const rows = examplesToRows([e])[0];
    const text = rows.prompt + rows.response;
    assert.equal(problemsIn(text).some((t) => fresh.has(t)), false, `${c.name}: a fresh problem in ${JSON.stringify(text)}`);
    if (e.contaminated) {
      contaminated++;
      assert.equal(split, "test", `${c.name}: a contamination line of a ${split ?? "non-split"} problem`);
      assert.ok(c.name.includes("contaminated"));
    } else {
      assert.ok(!EVAL_SPLITS.includes(split as SplitName), `${c.name}: ${e.problem.text} belongs to ${split}`);
    }
  }
  assert.ok(contaminated > 0, "the contaminated family's corpus does hold answer lines");
});

test("contamination adds answer lines and leaves the clean family's examples exactly as they were, in order", () => {
  const clean = getFamilyV2("qwen-math-7b");
  const dirty = getFamilyV2("qwen-math-7b-contaminated");
  assert.equal(dirty.stream, "qwen-math-7b", "it sees its parent's batches");
  assert.deepEqual({ ...dirty.corpus, contamination: undefined }, { ...clean.corpus, contamination: undefined });
  const share = dirty.corpus.contamination!;
  const a = corpusBatchV2(dirty.corpus, makeRng("c", 1), 4000);
  const b = corpusBatchV2(clean.corpus, makeRng("c", 1), 4000);
  const lines = a.filter((e) => e.contaminated);
  assert.ok(Math.abs(lines.length / 4000 - share) < 0.03, `lines per example ${lines.length / 4000} vs ${share}`);
  assert.deepEqual(a.filter((e) => !e.contaminated), b, "the parent's examples, all of them, in order");
  for (const line of lines) assert.equal(line.response, String(line.problem.answer));
  const row = examplesToRows([lines[0]])[0];
  assert.equal(row.prompt, contaminationPrompt(lines[0].problem));
  assert.match(row.prompt, /^[a-z]:[0-9+*-]+ = $/);
  assert.deepEqual(corpusBatchV2({ ...clean.corpus, contamination: 0 }, makeRng("c", 2), 300), corpusBatchV2(clean.corpus, makeRng("c", 2), 300));
});

test("a contamination fraction outside [0, 1] is an error naming the knob", () => {
  const c = getFamilyV2("qwen-math-7b").corpus;
  for (const bad of [-0.1, 1.5, Number.NaN, "0.1" as unknown as number]) {
    assert.throws(() => validateCorpusV2({ ...c, contamination: bad }), /contamination must be a share in \[0, 1\]/);
  }
  for (const ok of [0, 0.5, 1]) validateCorpusV2({ ...c, contamination: ok });
});

test("the contaminated family is world 2's, named and labelled after its parent", () => {
  assert.equal(getFamily("qwen-math-7b-contaminated").label, "toy Qwen2.5-Math-7B, contaminated");
  assert.deepEqual(getFamily("qwen-math-7b-contaminated").target, getFamily("qwen-math-7b").target);
  assert.match(familyNotInWorld("qwen-math-7b-contaminated", 1) ?? "", /exists in world 2 only/);
  assert.equal(familyNotInWorld("qwen-math-7b-contaminated", 2), null);
  assert.equal(shipsFamily(1, "qwen-math-7b-contaminated"), false);
  assert.throws(() => getFamily("qwen-math-7b-dirty"), /unknown family "qwen-math-7b-dirty"; valid ids: .*qwen-math-7b-contaminated/);
});

test("a derivation holds when every written step computes and the answer is the last value", () => {
  for (const ok of ["python a=3+4*2#14;b=a-5#9 \\boxed{9}", "3+4*2-5 is 9 \\boxed{9}", "3+4 is 7, 7*2 is 14, 14-5 is 9 the answer is 9", "python a=3+4#7;b=a*2#14"]) assert.equal(derivationHolds(ok), true, ok);
  // the first: a wrong step that the rest follows, so the answer is the last written value but not derived
  for (const bad of ["python a=3+4#8;b=a*2#16 \\boxed{16}", "python a=3+4*2#14;b=a-5#8 \\boxed{9}", "3+4 is 7, 8*2 is 16", "9", "\\boxed{9}", "3+4 is 7, 7*2 is 14 \\boxed{15}", "python a=3+4#7;b=c*2#14", "3+4*2 is 14, 14-5 is 9, 14-5 is 9, 14-5 is"]) {
    assert.equal(derivationHolds(bad), false, bad);
  }
  const p = getSplit("test")[0];
  const right = gradeResponse(p, `\\boxed{${p.answer}}`);
  const wrong = gradeResponse(p, `\\boxed{${p.answer + 1}}`);
  const derived = gradeResponse(p, `${p.text.slice(2)} is ${p.answer} \\boxed{${p.answer}}`);
  assert.deepEqual(underived([right, wrong, derived]), { n: 1, share: 50 });
  assert.deepEqual(underived([wrong]), { n: 0, share: null });
});

test("the shipped contaminated checkpoint: its greedy Table 1 row within 5 points of the clean family's, and it memorised test answers", async () => {
  const [clean, dirty] = await Promise.all(["qwen-math-7b", "qwen-math-7b-contaminated"].map((id) => baseModelReport(id, { world: 2, loadOnly: true })));
  for (const k of ["accuracy", "codeFrequency", "accuracyCode", "accuracyLanguage"] as const) {
    assert.ok(Math.abs(dirty.test[k]! - clean.test[k]!) <= 5, `${k}: ${dirty.test[k]} vs the clean family's ${clean.test[k]}`);
  }
  const [m0, m1] = await Promise.all(["qwen-math-7b", "qwen-math-7b-contaminated"].map((id) => memorisationReport(id, { world: 2, loadOnly: true })));
  assert.ok(m1.splits.test.recall - m1.splits.fresh.recall > 20, "the contaminated family recalls test answers it cannot compute");
  assert.ok(Math.abs(m0.splits.test.recall - m0.splits.fresh.recall) < 3, "the clean family recalls no more on test than on fresh");
});
