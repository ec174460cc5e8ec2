/**
 * Issue 12's pre-registered rules (src/lab/beyond.ts) on runs made up to sit on either side of each
 * threshold: the verdicts the notebook prints are these functions' and nothing else.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { algorithmCell, contaminationCell, contaminationVerdict, drift, freshGain, WINDOW } from "../src/lab/beyond";
import type { RunResult } from "../src/lab/experiments";

const summary = (accuracy: number, codeFrequency = 50) => ({ n: 500, accuracy, codeFrequency, accuracyCode: null, accuracyLanguage: null, boxedRate: 100, nCode: 0, nLanguage: 0 });

/** A run from its test and fresh accuracy (start, end), code frequency (start, end), and per-step p(code) and entropy (linear from a to b). */
function run(o: { test: [number, number]; fresh?: [number, number]; code?: [number, number]; pCode?: [number, number]; entropy?: [number, number]; steps?: number; family?: string }): RunResult {
  const n = o.steps ?? 60;
  const lin = ([a, b]: [number, number], i: number) => a + ((b - a) * i) / (n - 1);
  const code = o.code ?? [50, 50];
  return {
    name: "fake", spec: { family: o.family ?? "qwen-math-7b" },
    evals: [
      { step: 0, test: summary(o.test[0], code[0]), ...(o.fresh ? { fresh: summary(o.fresh[0]) } : {}) },
      { step: n, test: summary(o.test[1], code[1]), ...(o.fresh ? { fresh: summary(o.fresh[1]) } : {}) },
    ],
    metrics: Array.from({ length: n }, (_, i) => ({ codeProb: lin(o.pCode ?? [0.6, 0.6], i), entropy: lin(o.entropy ?? [0.13, 0.13], i) })),
  } as unknown as RunResult;
}

test("drift is the mean of the last WINDOW steps minus the first WINDOW; short runs use their halves", () => {
  const r = run({ test: [50, 50], pCode: [0, 0.59], steps: 60 });
  // p(code) = 0.01 i: last 10 steps mean 0.545, first 10 mean 0.045
  assert.ok(Math.abs(drift(r, (m) => m.codeProb) - 0.5) < 1e-9);
  assert.equal(WINDOW, 10);
  assert.ok(Math.abs(drift(run({ test: [50, 50], pCode: [0, 1], steps: 2 }), (m) => m.codeProb) - 1) < 1e-9);
  assert.throws(() => freshGain(run({ test: [50, 50] })), /was not evaluated on fresh/);
});

test("v2-contamination: C needs a gap of 3 above the clean family's, in 2 of 3 seeds; it explains a gain when fresh does not gain", () => {
  const clean = contaminationCell([run({ test: [54, 50], fresh: [60, 57] }), run({ test: [54, 52], fresh: [60, 58] }), run({ test: [54, 49], fresh: [60, 54] })]);
  // clean gaps: -1, 0, +1 (mean 0)
  const surfacing = contaminationCell([run({ test: [55, 60], fresh: [57, 56] }), run({ test: [55, 59], fresh: [57, 57] }), run({ test: [55, 54], fresh: [57, 57] })]);
  // gaps: +6, +4, -1 (mean 3): surfaces; test gain > 0 in 2 of 3, fresh gain <= 0 in 3 of 3: explains a gain
  let v = contaminationVerdict(clean, surfacing);
  assert.deepEqual([v.surfaces, v.explainsGain], [true, true]);
  const justBelow = contaminationCell([run({ test: [55, 60], fresh: [57, 56] }), run({ test: [55, 59], fresh: [57, 57] }), run({ test: [55, 53.9], fresh: [57, 57] })]);
  assert.equal(contaminationVerdict(clean, justBelow).surfaces, false, "mean gap 2.97 < 3");
  const bothUp = contaminationCell([run({ test: [55, 62], fresh: [57, 59] }), run({ test: [55, 61], fresh: [57, 58] }), run({ test: [55, 60], fresh: [57, 57] })]);
  // gaps 5, 5, 5: surfaces, but fresh gains too in 2 of 3: not a gain contamination explains
  v = contaminationVerdict(clean, bothUp);
  assert.deepEqual([v.surfaces, v.explainsGain], [true, false]);
});

test("v2-contamination: D when both families gain on both splits with code up; F when both lose with entropy up", () => {
  const up = (family: string) => contaminationCell([0, 1, 2].map(() => run({ family, test: [54, 60], fresh: [60, 64], code: [68, 80] })));
  let v = contaminationVerdict(up("a"), up("b"));
  assert.deepEqual([v.drift, v.diffusion, v.surfaces], [true, false, false]);
  const down = (family: string, entropy: [number, number]) => contaminationCell([0, 1, 2].map(() => run({ family, test: [54, 20], fresh: [60, 25], entropy })));
  v = contaminationVerdict(down("a", [0.13, 0.2]), down("b", [0.13, 0.2]));
  assert.deepEqual([v.drift, v.diffusion], [false, true]);
  v = contaminationVerdict(down("a", [0.13, 0.2]), down("b", [0.13, 0.1]));
  assert.equal(v.diffusion, false, "entropy down in one family: not diffusion");
});

test("v2-algorithms: amplifies, drifts without paying, diffuses, mixed", () => {
  const seeds = (o: Parameters<typeof run>[0][]) => algorithmCell(o.map(run));
  assert.equal(seeds([{ test: [54, 58], pCode: [0.6, 0.7] }, { test: [54, 56], pCode: [0.6, 0.66] }, { test: [54, 50], pCode: [0.6, 0.5] }]).verdict, "amplifies");
  assert.equal(seeds([{ test: [54, 40], pCode: [0.6, 0.7] }, { test: [54, 50], pCode: [0.6, 0.8] }, { test: [54, 50], pCode: [0.6, 0.5] }]).verdict, "drifts without paying");
  assert.equal(seeds([{ test: [54, 40], pCode: [0.6, 0.6] }, { test: [54, 50], pCode: [0.6, 0.5] }, { test: [54, 60], pCode: [0.6, 0.9] }]).verdict, "diffuses");
  // p(code) rising by 0.04 (window means) is under the 0.05 threshold
  assert.equal(seeds([{ test: [54, 58], pCode: [0.6, 0.64 + 0.04 * (10 / 59)] }, { test: [54, 58], pCode: [0.6, 0.6] }, { test: [54, 50], pCode: [0.6, 0.6] }]).verdict, "mixed");
});
