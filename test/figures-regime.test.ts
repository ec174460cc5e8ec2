import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveSpec, runName, type RunResult } from "../src/lab/experiments";
import { baseAccuracy, cellSeedsFigure, clipOnlyCells, diffusionFigure, lrCells, lrRows, mergeRegimeRuns, perUpdateFigure, phaseFigure, plannedCells, regimeRuns, ruleBReport, ruleRows, sgdChoice, updatesPerStep, type RegimeRun } from "../src/figures/figures-regime";
import { plannedRuns, REGIME_ARMS } from "../src/lab/plans";

/** A stored-run stand-in: only what the builders read. */
function run(seed: number, overrides: Record<string, unknown>, final: number, wall = 60): RunResult {
  const spec = resolveSpec({ family: "qwen-math-7b", reward: "random0.5", seed, overrides });
  const ev = (accuracy: number) => ({ accuracy, codeFrequency: 60, accuracyCode: 60, accuracyLanguage: 30 });
  const metrics = Array.from({ length: 3 }, (_, i) => ({ paramDistance: 0.1 * (i + 1), codeProb: 0.6 + 0.1 * i, tokenProb: 0.96 }));
  return { name: runName(spec), spec, wallSeconds: wall, evals: [{ step: 0, test: ev(51.4) }, { step: spec.grpo.steps, test: ev(final) }], metrics } as unknown as RunResult;
}
const C = REGIME_ARMS.clipped, U = REGIME_ARMS.unclipped, O = REGIME_ARMS.oneUpdate;
const at = (r: RunResult, cell: string, arm: string): RegimeRun => ({ run: r, cell, arm });

test("cells and arms are the plan's labels: regimeRuns splits them, the rules group by them", () => {
  // Labels exactly as the plan gives them, matched by run name.
  const planned = plannedRuns("regime-lr");
  const label = new Map(planned.map((p) => [runName(resolveSpec(p.spec)), p.label]));
  const rs = [run(0, {}, 40), run(0, { clip: false }, 30), run(0, { miniBatchSize: 128 }, 45), run(1, { lr: 3e-5, steps: 200 }, 55)];
  const labelled = regimeRuns({ runs: rs, label: (c) => label.get(c.runs[0].name)! });
  assert.deepEqual(labelled.map((r) => [r.cell, r.arm]), [["lr 0.0001 × 60 steps", C], ["lr 0.0001 × 60 steps", U], ["lr 0.0001 × 60 steps", O], ["lr 0.00003 × 200 steps", C]]);
  assert.deepEqual(rs.map(updatesPerStep), [8, 8, 1, 8]);
  const cells = lrCells(labelled);
  assert.deepEqual(cells.map((c) => c.id), ["lr 0.0001 × 60 steps", "lr 0.00003 × 200 steps"]); // largest lr first
  assert.deepEqual(cells[0].clipped.map((s) => [s.seed, Math.round(s.gain * 10) / 10]), [[0, -11.4]]);
  assert.deepEqual([cells[0].unclipped.length, cells[0].oneUpdate!.length, cells[1].clipped[0].final], [1, 1, 55]);
  assert.equal(baseAccuracy(labelled), 51.4);
  assert.throws(() => regimeRuns({ runs: [rs[0]], label: () => "random (γ=0.5)" }), /not "<cell>, <arm>"/);
});

test("the table lists every arm that has runs, and the phase diagram shows every seed", () => {
  const runs = [at(run(0, {}, 40), "a", C), at(run(1, {}, 50), "a", C), at(run(0, { clip: false }, 30), "a", U)];
  const rows = lrRows(runs);
  assert.deepEqual(rows.map((r) => [r.arm, r.seeds, r["gain (mean)"], r["above base"]]), [[C, 2, -6.4, "0/2"], [U, 1, -21.4, "0/1"]]);
  const f = phaseFigure(runs, "t");
  assert.deepEqual(f.data.filter((d) => d.mode === "markers").map((d) => (d.y as number[]).length), [2, 1, 0]);
  assert.equal(diffusionFigure(runs, "t").data.length, 3);
});

test("pre-step metrics sit at i x updates, post-step ones at (i + 1) x updates", () => {
  const runs = [at(run(0, {}, 40), "a", C)];
  const before = perUpdateFigure(runs, (m) => m.codeProb, { title: "", yTitle: "", when: "before", window: 1 });
  const after = perUpdateFigure(runs, (m) => m.paramDistance, { title: "", yTitle: "", when: "after", window: 1 });
  assert.deepEqual(before.data[0].x, [0, 8, 16]);
  assert.deepEqual(after.data[0].x, [8, 16, 24]);
});

test("rule A is not applied before every pre-registered lr has seeds 0-2 in both arms; rule B is a screen on stage 1", () => {
  const cell = "lr 0.0001 × 60 steps";
  const runs = [0, 1, 2].flatMap((s) => [at(run(s, {}, 40), cell, C), at(run(s, { clip: false }, 30), cell, U), at(run(s, { miniBatchSize: 128 }, 45), cell, O)]);
  const r = ruleRows(runs);
  assert.match(r.ruleA, /not determined yet: lr 0.00003 lacks seeds 0-2/);
  // lr 3e-5 complete and flat: rule A is decided although lr 1e-5 has no run (it takes the largest flat lr).
  const slow = "lr 0.00003 × 200 steps";
  const more = [0, 1, 2].flatMap((s) => [at(run(s, { lr: 3e-5, steps: 200, clip: false }, 52 + s), slow, U), at(run(s, { lr: 3e-5, steps: 200, miniBatchSize: 128 }, 50), slow, O)]);
  assert.match(ruleRows([...runs, ...more]).ruleA, /lr 0.00003: the unclipped and the one-update arms are both within ±3 points.*centre is lr 0.00003 × 200 steps/);
  // ... but not when lr 1e-4 were flat: then it is the answer.
  const flat = runs.map((r) => (r.arm === C ? r : at(run(r.run.spec.seed, r.run.spec.grpo.clip ? { miniBatchSize: 128 } : { clip: false }, 51), cell, r.arm)));
  assert.match(ruleRows(flat).ruleA, /^lr 0.0001: /);
  assert.match(r.ruleB, /^stage-1 screen \(rule B is applied once stage 2 is complete\): no cell qualifies so far/); // never "FINAL" on stage 1 alone
  assert.equal(r.rows[0].status, "fails");
});

test("runs from different checkpoints are not one grid", () => {
  const a = run(0, {}, 40);
  const b = run(1, {}, 40);
  (b.evals[0].test as { accuracy: number }).accuracy = 40;
  assert.throws(() => baseAccuracy([at(a, "x", C), at(b, "x", C)]), /start from different accuracies/);
});

test("rule B over stage 2: a clip point borrows the centre's unclipped arm, and a cell with no run keeps the rule open", () => {
  const centre = "lr 0.00003 × 200 steps", low = "clip low side only (ε_low 0.2, ε_high 0.999)";
  const g = { lr: 3e-5, steps: 200 };
  const six = [0, 1, 2, 3, 4, 5];
  const runs = [
    ...six.map((s) => at(run(s, g, 50), centre, C)),
    ...six.map((s) => at(run(s, { ...g, clip: false }, 49), centre, U)),
    ...six.map((s) => at(run(s, { ...g, epsHigh: 0.999 }, s < 4 ? 55 : 50), low, C)),
  ];
  const merged = mergeRegimeRuns([runs, runs.slice(0, 6)]);
  assert.equal(merged.length, 18);
  const shared = { centre, cells: [low] };
  const b = ruleBReport(merged, { expected: [centre, low], sharedUnclipped: shared });
  const lowRow = b.rows.find((r) => r.cell === low)!;
  assert.equal(lowRow["unclipped above base"], "0/6 (the centre's)");
  assert.equal(lowRow.status, "qualifies"); // 4/6 above 51.4, mean gain > 0, C > 0 in 4 pairs
  assert.match(b.text, /^FINAL: clip low side only .* qualifies/);
  // the same runs with one more expected cell that has no run: not final
  const open = ruleBReport(merged, { expected: [centre, low, "token-mean (packed groups of 4)"], sharedUnclipped: shared });
  assert.equal(open.result.final, false);
  assert.match(open.text, /token-mean \(packed groups of 4\): incomplete/);
  // without the sharing the clip point has no unclipped arm and cannot be judged
  assert.equal(ruleBReport(merged, { expected: [centre, low] }).rows.find((r) => r.cell === low)!.status, "incomplete");
  // the planned cells of stage 2 are its labels; the clip points (and only they) borrow
  assert.deepEqual(plannedCells(["regime-clip"], "default"), [centre, low, "clip high side only (ε_low 0.999, ε_high 0.2)", "clip ε = 0.05"]);
  assert.deepEqual(clipOnlyCells(["regime-lr", "regime-shape", "regime-clip", "regime-loss"], "default"), [low, "clip high side only (ε_low 0.999, ε_high 0.2)", "clip ε = 0.05"]);
  // a cell whose own unclipped runs are not stored yet (the paper's shape) does not borrow the centre's
  const shape = "lr 0.00003 × 200 steps, 1024 rollouts/step, 128 per update";
  const withShape = [...merged, ...[0, 1, 2].map((s) => at(run(s, { ...g, promptsPerStep: 64, samplesPerPrompt: 16, miniBatchSize: 128 }, 55), shape, C))];
  const shapeRow = ruleBReport(withShape, { expected: [centre, low, shape], sharedUnclipped: shared }).rows.find((r) => r.cell === shape)!;
  assert.deepEqual([shapeRow["unclipped above base"], shapeRow["C > 0 (pairs)"], shapeRow.status], ["0/0", "0/0", "incomplete"]);
});

test("one cell seed by seed: both arms' test curves and the base; a clip point's unclipped arm is the centre's", () => {
  const centre = "lr 0.00003 × 200 steps", high = "clip high side only (ε_low 0.999, ε_high 0.2)";
  const g = { lr: 3e-5, steps: 200 };
  const runs = [
    ...[0, 1].map((s) => at(run(s, g, 50), centre, C)),
    ...[0, 1].map((s) => at(run(s, { ...g, clip: false }, 49 + s), centre, U)),
    ...[0, 1].map((s) => at(run(s, { ...g, epsLow: 0.999 }, 55), high, C)),
  ];
  const f = cellSeedsFigure(runs, high, "t", { centre, cells: [high] });
  assert.deepEqual(f.data.map((d) => d.name), [`${C}, seed 0`, `${C}, seed 1`, `${U} (the centre's), seed 0`, `${U} (the centre's), seed 1`, "base (51.4)"]);
  assert.deepEqual(f.data.map((d) => (d.y as number[])[1]), [55, 55, 49, 50, 51.4]);
  // the centre itself shows its own arms only
  assert.equal(cellSeedsFigure(runs, centre, "t", { centre, cells: [high] }).data.length, 5);
  // a cell that is not a clip point never shows the centre's runs as its own unclipped arm
  assert.equal(cellSeedsFigure(runs, high, "t", { centre, cells: [] }).data.length, 3);
  assert.throws(() => cellSeedsFigure(runs, "clip ε = 0.05", "t"), /no stored run of the cell "clip ε = 0.05"/);
});

test("SGD's lr is read from ground-truth runs at their first evaluation after the start", () => {
  const gt = (overrides: Record<string, unknown>, early: number) => {
    const spec = resolveSpec({ family: "qwen-math-7b", reward: "math", seed: 0, overrides: { lr: 3e-5, steps: 200, ...overrides } });
    const ev = (accuracy: number) => ({ accuracy, codeFrequency: 60, accuracyCode: 60, accuracyLanguage: 30 });
    const metrics = Array.from({ length: 12 }, () => ({ klPrev: 0.001, paramDistance: 0.05 }));
    return { name: runName(spec), spec, evals: [{ step: 0, test: ev(51.4) }, { step: 10, test: ev(early) }, { step: 200, test: ev(90) }], metrics } as unknown as RunResult;
  };
  const runs = [gt({}, 80), gt({ optimizer: "sgd", momentum: 0.9, lr: 0.01 }, 55), gt({ optimizer: "sgd", momentum: 0.9, lr: 0.1 }, 78), gt({ optimizer: "sgd", momentum: 0.9, lr: 1 }, 84)];
  const c = sgdChoice({ runs, label: (x) => x.runs[0].spec.grpo.optimizer });
  assert.match(c.text, /^SGD lr 0.1: test accuracy 78 after 10 steps, closest to Adam's 80/);
  assert.deepEqual(c.rows.map((r) => [r.optimizer, r.lr, r["test acc. then"]]), [["adam", 3e-5, 80], ["sgd", 0.01, 55], ["sgd", 0.1, 78], ["sgd", 1, 84]]);
  assert.match(sgdChoice({ runs: runs.slice(1), label: () => "" }).text, /not chosen yet/);
});
