// World 2's calibration (issue 11): the greedy Table 1 row predicted from a corpus spec and a capacity
// table, and the fit of the step-size means, on hand-made capacity tables with hand-computed rows.
// `test` has 197 two-operation and 303 three-operation problems.
import { test } from "node:test";
import assert from "node:assert/strict";
import { calibrateV2, capacityOf, greedySize, predictTableV2, type CapacityTable } from "../src/world/calibration-v2";
import { BASE_CORPUS_V2, behaviourOfV2, type CorpusSpecV2 } from "../src/world/corpus-v2";
import { FAMILY_CORPORA_V2, getFamilyV2, PILOT_CAPACITY } from "../src/world/families-v2";
import { FAMILY_IDS, type Logistic } from "../src/world/families";
import { getSplit } from "../src/world/problems";
import { MODES, type Mode } from "../src/world/traces";

const close = (a: number | null, b: number, eps = 1e-9) => assert.ok(a !== null && Math.abs(a - b) < eps, `${a} vs ${b}`);

/** Percent right per (size, ops): code 90/80 (size 1), 60/50 (size 2), 20 (size 3 on three ops); language 100/95, 70/65, 30. */
const HAND: CapacityTable = {
  cells: (["code", "language"] as Mode[]).flatMap((mode) => {
    const a = mode === "code" ? [90, 80, 60, 50, 20] : [100, 95, 70, 65, 30];
    return ([[1, 2], [1, 3], [2, 2], [2, 3], [3, 3]] as const).map(([size, ops], i) => ({ mode, size, ops, n: 10, accuracy: a[i], firstStep: a[i] }));
  }),
};

const FLAT = (mean: number): Logistic => ({ mean, topicSpread: 0, operandSpread: 0 });
/** A spec whose every problem makes the same decisions: mode logit, then [two, three] logits per mode. */
const flatSpec = (mode: number, code: [number, number], language: [number, number]): CorpusSpecV2 => ({
  ...BASE_CORPUS_V2,
  mode: FLAT(mode),
  steps: { code: { two: FLAT(code[0]), three: FLAT(code[1]) }, language: { two: FLAT(language[0]), three: FLAT(language[1]) } },
});

test("greedy step size: the tokens decide in order (close the step after one operation, then after two)", () => {
  assert.equal(greedySize([0.6, 0.3, 0.1], 3), 1);
  // the single likeliest size is 1, but continuing (0.6) beats closing (0.4), and then 2 beats 3
  assert.equal(greedySize([0.4, 0.35, 0.25], 3), 2);
  assert.equal(greedySize([0.2, 0.2, 0.6], 3), 3);
  // a two-operation problem has no third operation to go on to; a one-operation one no choice at all
  assert.equal(greedySize([0.2, 0.2, 0.6], 2), 2);
  assert.equal(greedySize([0.2, 0.2, 0.6], 1), 1);
  // a size above the problem's operation count writes the same text as that count
  assert.equal(capacityOf(HAND, "language", 3, 2), 0.7);
  assert.throws(() => capacityOf({ cells: HAND.cells.filter((c) => !(c.mode === "code" && c.size === 3)) }, "code", 3, 3), /no measured cell for code mode, step size 3, 3-operation problems; measure it with npm run calibrate -- --world 2/);
});

test("the predicted row on hand-made capacities: every problem in code, sizes 2; language forced in size 1", () => {
  // p(size) = 0.4 / 0.35 / 0.25 in code -> size 2 everywhere; language (forced only) -> size 1
  const spec = flatSpec(2, [Math.log(0.35 / 0.4), Math.log(0.25 / 0.4)], [-30, -30]);
  const p = predictTableV2(spec, HAND);
  close(p.codeFrequency, 100);
  close(p.accuracyCode, (197 * 60 + 303 * 50) / 500); // 53.94
  assert.equal(p.accuracyLanguage, null);
  close(p.accuracy, 53.94, 1e-9);
  close(p.forced.code, 53.94);
  close(p.forced.language, (197 * 100 + 303 * 95) / 500); // 96.97: p(code) = 0.88, so the corpus writes language too
  assert.deepEqual(p.sizeShares.code, [0, 100, 0]);
  // language with p = 0.2 / 0.2 / 0.6: two-operation problems in one 2-step, three-operation ones in one 3-step
  const lang = predictTableV2(flatSpec(-2, [0, 0], [0, Math.log(3)]), HAND);
  close(lang.codeFrequency, 0);
  close(lang.accuracyLanguage, (197 * 70 + 303 * 30) / 500); // 45.76
  assert.equal(lang.accuracyCode, null);
  assert.deepEqual(lang.sizeShares.language.map((x) => +x.toFixed(1)), [0, 39.4, 60.6]);
  // a mode the corpus never writes has no forced prediction
  assert.equal(predictTableV2(flatSpec(-30, [0, 0], [0, 0]), HAND).forced.code, null);
});

test("the prediction follows each problem's own p(code) and step shares (spreads on), as behaviourOfV2 gives them", () => {
  const spec: CorpusSpecV2 = { ...flatSpec(0.3, [0, 0], [0, 0]), mode: { mean: 0.3, topicSpread: 1.5, operandSpread: 1 }, steps: { code: { two: { mean: 0.5, topicSpread: 1.5, operandSpread: 1 }, three: { mean: -0.5, topicSpread: 1.5, operandSpread: 1 } }, language: { two: FLAT(-30), three: FLAT(-30) } } };
  const b = behaviourOfV2(spec);
  const test = getSplit("test");
  let nCode = 0, okCode = 0, okLang = 0;
  for (const p of test) {
    if (b.pCode(p) <= 0.5) {
      okLang += p.ops.length === 2 ? 1 : 0.95; // language in one-operation steps everywhere
      continue;
    }
    nCode++;
    okCode += capacityOf(HAND, "code", greedySize(b.stepProbs(p, "code"), p.ops.length), p.ops.length);
  }
  const got = predictTableV2(spec, HAND);
  close(got.codeFrequency, (100 * nCode) / 500);
  close(got.accuracyCode, (100 * okCode) / nCode, 1e-9);
  close(got.accuracyLanguage, (100 * okLang) / (500 - nCode), 1e-9);
  assert.ok(nCode > 100 && nCode < 400, `a real split between the modes: ${nCode}`);
});

test("the fit: mode mean, then the step means nearest the start that reach the target; an unreachable row says its floor", () => {
  // start: every problem in language (mode -1); code steps 1/3 each (size 3 on ties)
  const spec = flatSpec(-1, [0, 0], [-30, -30]);
  const fit = calibrateV2(spec, { codeFrequency: 100, accuracyCode: 54, accuracyLanguage: 40, accuracy: 54 }, HAND);
  // the smallest grid mean with p(code) > 0.5 everywhere
  assert.equal(fit.corpus.mode.mean, 0.1);
  // size 2 everywhere (53.94) needs p(1) < 0.5 and p(2) > p(3): the nearest grid points are (0, -0.1) and (0.1, 0); the first found wins
  assert.deepEqual([fit.corpus.steps.code.two.mean, fit.corpus.steps.code.three.mean], [0, -0.1]);
  close(fit.prediction.accuracyCode, 53.94);
  close(fit.error, 0.06, 1e-9);
  // every problem alike: the code accuracy is 35.76 (size 3), 53.94 (size 2) or 83.94 (size 1)
  assert.deepEqual(fit.reachable.code!.map((x) => +x.toFixed(2)), [35.76, 83.94]);
  assert.equal(fit.reachable.language, null);
  // language at 20%: below the floor (every problem in one step, 45.76%); the fit says how far
  const low = calibrateV2(flatSpec(-2, [0, 0], [0, 0]), { codeFrequency: 0, accuracyCode: null, accuracyLanguage: 20, accuracy: 20 }, HAND);
  assert.equal(low.corpus.mode.mean, -2, "a family without code keeps its mode mean");
  close(low.prediction.accuracyLanguage, 45.76);
  close(low.error, 25.76, 1e-9);
  assert.deepEqual(low.reachable.language!.map((x) => +x.toFixed(2)), [45.76, 96.97]);
  // deterministic
  assert.deepEqual(calibrateV2(spec, { codeFrequency: 100, accuracyCode: 54, accuracyLanguage: 40, accuracy: 54 }, HAND), fit);
});

test("world 2's family specs: world 1's targets, bases and formats, slips off, uncalibrated; the starting means are the pilot fit", () => {
  for (const id of FAMILY_IDS) {
    const fam = getFamilyV2(id);
    assert.equal(fam.corpus.world, 2);
    assert.equal(fam.calibrated, false, `${id}: nothing is calibrated before the v2 bases are measured`);
    for (const m of MODES) assert.equal(fam.corpus.slip[m].mean, -30, `${id}: slips off`);
    // starting means are a fixed point of the fit under the pilot's capacities (mode held at world 1's mean)
    const now = predictTableV2(fam.corpus, PILOT_CAPACITY);
    const fit = calibrateV2(fam.corpus, { ...fam.target, codeFrequency: now.codeFrequency }, PILOT_CAPACITY);
    assert.deepEqual(fit.corpus, fam.corpus, id);
    // the ceiling: no mode above ~85% when forced on test
    for (const m of MODES) assert.ok((now.forced[m] ?? 0) <= 85, `${id} forced ${m}: ${now.forced[m]}`);
  }
  // the pilot's language floor: two-operation problems in one step (73%), three-operation ones in one step (19.8%)
  const olmo = calibrateV2(FAMILY_CORPORA_V2["olmo-7b"].corpus, getFamilyV2("olmo-7b").target, PILOT_CAPACITY);
  close(olmo.reachable.language![0], (197 * 73 + 303 * 19.8) / 500, 1e-9); // 40.76: olmo-7b's 9% is out of reach
});
