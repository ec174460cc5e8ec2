import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveSpec, type RunResult } from "../src/experiments";
import { armOf, baseAccuracy, lrCells, lrRows, phaseFigure, updatesPerStep, diffusionFigure } from "../src/figures-regime";

/** A stored-run stand-in: only what the builders read. */
function run(seed: number, overrides: Record<string, unknown>, final: number, wall = 60): RunResult {
  const spec = resolveSpec({ family: "qwen-math-7b", reward: "random0.5", seed, overrides });
  const ev = (accuracy: number) => ({ accuracy, codeFrequency: 60, accuracyCode: 60, accuracyLanguage: 30 });
  const metrics = Array.from({ length: 3 }, (_, i) => ({ paramDistance: 0.1 * (i + 1), codeProb: 0.6, tokenProb: 0.96 }));
  return { spec, wallSeconds: wall, evals: [{ step: 0, test: ev(51.4) }, { step: spec.grpo.steps, test: ev(final) }], metrics } as unknown as RunResult;
}

test("a run's arm and cell come from its spec: clip, updates per step, lr x steps", () => {
  const clipped = run(0, {}, 40), noClip = run(0, { clip: false }, 30), one = run(0, { miniBatchSize: 128 }, 45), slow = run(1, { lr: 3e-5, steps: 200 }, 55);
  assert.deepEqual([clipped, noClip, one].map(armOf), ["clipped", "unclipped", "one update per step"]);
  assert.deepEqual([clipped, one].map(updatesPerStep), [8, 1]);
  const cells = lrCells([slow, noClip, clipped, one]);
  assert.deepEqual(cells.map((c) => c.id), ["lr 0.0001 × 60", "lr 0.00003 × 200"]); // largest lr first
  assert.deepEqual(cells[0].clipped.map((s) => [s.seed, Math.round(s.gain * 10) / 10]), [[0, -11.4]]);
  assert.deepEqual([cells[0].unclipped.length, cells[0].oneUpdate!.length, cells[1].clipped[0].final], [1, 1, 55]);
  assert.equal(baseAccuracy([clipped, slow]), 51.4);
});

test("the table lists every arm that has runs, and the phase diagram shows every seed", () => {
  const runs = [run(0, {}, 40), run(1, {}, 50), run(0, { clip: false }, 30)];
  const rows = lrRows(runs);
  assert.deepEqual(rows.map((r) => [r.arm, r.seeds, r["gain (mean)"], r["above base"]]), [["clipped", 2, -6.4, "0/2"], ["unclipped", 1, -21.4, "0/1"]]);
  const f = phaseFigure(runs, "t");
  const seedPoints = f.data.filter((d) => d.mode === "markers");
  assert.deepEqual(seedPoints.map((d) => (d.y as number[]).length), [2, 1, 0]);
  assert.deepEqual(diffusionFigure(runs, "t").data.length, 3);
});

test("runs from different checkpoints are not one grid", () => {
  const a = run(0, {}, 40);
  const b = run(1, {}, 40);
  (b.evals[0].test as { accuracy: number }).accuracy = 40;
  assert.throws(() => baseAccuracy([a, b]), /start from different accuracies/);
});
