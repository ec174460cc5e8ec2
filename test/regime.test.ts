import { test } from "node:test";
import assert from "node:assert/strict";
import { cellVerdict, chooseSgdLr, ruleA, ruleB, type CellOutcome, type SeedOutcome } from "../src/lab/regime";

const BASE = 51.4;
/** An arm from final accuracies, one per seed from 0; gain relative to BASE; wall time `wall`. */
const arm = (finals: number[], wall = 100): SeedOutcome[] => finals.map((final, seed) => ({ seed, final, gain: final - BASE, wallSeconds: wall }));

test("rule A picks the largest lr whose unclipped and one-update arms are both flat", () => {
  const cells: CellOutcome[] = [
    { id: "lr-1e-4", lr: 1e-4, clipped: arm([30, 35, 28]), unclipped: arm([20, 25, 18]), oneUpdate: arm([40, 45, 50]) },
    // unclipped mean gain +2.6 (flat), one-update -2.4 (flat): chosen although 1e-5 is flat too
    { id: "lr-3e-5", lr: 3e-5, clipped: arm([55, 60, 52]), unclipped: arm([55, 52, 55]), oneUpdate: arm([49, 50, 48]) },
    { id: "lr-1e-5", lr: 1e-5, clipped: arm([51, 52, 53]), unclipped: arm([51, 51, 52]), oneUpdate: arm([51, 52, 51]) },
  ];
  const a = ruleA(cells);
  assert.equal(a.lr, 3e-5);
  assert.equal(a.found, true);
  // Only the one-update arm off by 3.1 points: not flat, so the rule moves down to 1e-5.
  cells[1].oneUpdate = arm([48.3, 48.3, 48.3]);
  assert.equal(ruleA(cells).lr, 1e-5);
});

test("rule A falls back to the smallest lr, and says so, when no lr is flat", () => {
  const cells: CellOutcome[] = [
    { id: "a", lr: 1e-4, clipped: [], unclipped: arm([20]), oneUpdate: arm([40]) },
    { id: "b", lr: 1e-5, clipped: [], unclipped: arm([40]), oneUpdate: arm([40]) },
  ];
  const a = ruleA(cells);
  assert.deepEqual([a.lr, a.found], [1e-5, false]);
  assert.match(a.reason, /falls back to the smallest lr/);
  assert.throws(() => ruleA([{ id: "x", lr: 1, clipped: [], unclipped: [] }]), /cell x has no one-update arm/);
});

test("screening with 3 seeds: 2 of 3 clipped seeds above the base earn seeds 3-5, fewer fail", () => {
  const promising: CellOutcome = { id: "p", lr: 3e-5, clipped: arm([52, 55, 40]), unclipped: arm([40, 41, 42]) };
  assert.equal(cellVerdict(promising, BASE).status, "needs seeds 3-5");
  const weak: CellOutcome = { id: "w", lr: 3e-5, clipped: arm([52, 45, 40]), unclipped: arm([40, 41, 42]) };
  assert.equal(cellVerdict(weak, BASE).status, "fails");
  const partial: CellOutcome = { id: "i", lr: 3e-5, clipped: arm([52, 55]), unclipped: arm([40, 41, 42]) };
  assert.equal(cellVerdict(partial, BASE).status, "incomplete");
  // The screen reads the clipped arm only: 1 of 3 above fails the cell before its unclipped arm is in ...
  assert.equal(cellVerdict({ ...weak, unclipped: arm([40]) }, BASE).status, "fails");
  // ... but 2 of 3 above waits for the unclipped arm (rule B needs both arms' seeds 0-2 before 3-5)
  assert.equal(cellVerdict({ ...promising, unclipped: arm([40]) }, BASE).status, "incomplete");
});

test("rule B on 6 seeds: every clause must hold, and the cheapest qualifying cell is chosen", () => {
  const good: CellOutcome = { id: "good", lr: 1e-5, clipped: arm([53, 54, 52, 55, 50, 49], 900), unclipped: arm([50, 49, 52, 48, 47, 51], 900) };
  const v = cellVerdict(good, BASE);
  assert.equal(v.status, "qualifies");
  assert.deepEqual([v.clippedAbove, v.unclippedAbove, v.clipEffectPositive], ["4/6", "1/6", "4/6"]);
  // Hand-computed: clipped gains sum 313 - 6*51.4 = 4.6 -> mean 0.7667; C per seed 3,5,0,7,3,-2 -> mean 2.667
  assert.ok(Math.abs(v.clippedMeanGain - 4.6 / 6) < 1e-9);
  assert.ok(Math.abs(v.meanClipEffect - 16 / 6) < 1e-9);
  // The unclipped arm above the base in 3 of 6: fails although the clipped arm is fine.
  const leaky: CellOutcome = { ...good, id: "leaky", unclipped: arm([52, 52, 52, 48, 47, 51]) };
  assert.equal(cellVerdict(leaky, BASE).status, "fails");
  // C > 0 in only 3 of 6 pairs: fails.
  const noEffect: CellOutcome = { ...good, id: "noeffect", unclipped: arm([54, 55, 51, 51, 47, 51]) };
  // C per seed: -1, -1, 1, 4, 3, -2; the unclipped arm is above the base in 2 of 6 (allowed).
  assert.equal(cellVerdict(noEffect, BASE).clipEffectPositive, "3/6");
  assert.equal(cellVerdict(noEffect, BASE).status, "fails");
  // The clipped arm above the base in 3 of 6 (C still > 0 in 4 of 6): fails.
  const fewAbove: CellOutcome = { ...good, id: "few", clipped: arm([53, 54, 51, 55, 50, 49]), unclipped: arm([50, 49, 52, 48, 47, 51]) };
  assert.deepEqual([cellVerdict(fewAbove, BASE).clippedAbove, cellVerdict(fewAbove, BASE).status], ["3/6", "fails"]);
  const cheap: CellOutcome = { ...good, id: "cheap", lr: 3e-5, clipped: arm([53, 54, 52, 55, 50, 49], 300), unclipped: arm([50, 49, 52, 48, 47, 51], 300) };
  const b = ruleB([good, leaky, cheap], BASE);
  assert.deepEqual([b.chosen, b.closest, b.final], ["cheap", null, true]);
});

test("rule B with no qualifying cell names the closest one and is not final while a cell is open", () => {
  const a: CellOutcome = { id: "a", lr: 1e-4, clipped: arm([30, 35, 28]), unclipped: arm([20, 25, 18]) };
  const b: CellOutcome = { id: "b", lr: 3e-5, clipped: arm([50, 51, 49]), unclipped: arm([45, 46, 44]) };
  const r = ruleB([a, b], BASE);
  assert.deepEqual([r.chosen, r.closest, r.final], [null, "b", true]);
  const open: CellOutcome = { id: "c", lr: 1e-5, clipped: arm([52, 53, 40]), unclipped: arm([50, 50, 50]) };
  assert.equal(ruleB([a, b, open], BASE).final, false);
});

test("SGD's lr is the one whose ground-truth speed is closest to Adam's; ties go to the smaller lr", () => {
  const trials = [{ lr: 0.01, accuracy: 52 }, { lr: 0.1, accuracy: 70 }, { lr: 0.03, accuracy: 61 }, { lr: 1, accuracy: 12 }];
  assert.equal(chooseSgdLr(68, trials).lr, 0.1);
  assert.equal(chooseSgdLr(56.5, trials).lr, 0.01); // 4.5 from both 52 and 61: the smaller lr
  assert.equal(chooseSgdLr(20, trials).lr, 1);
  assert.throws(() => chooseSgdLr(50, []), /at least one SGD/);
});
