// The pre-registered decision rules of "v2-gt-lr" (src/lab/gt-lr.ts) on hand-made runs with hand-computed verdicts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { accuracyAtDistance, accuracyByDistance, gtLrVerdict } from "../src/lab/gt-lr";
import type { RunResult } from "../src/lab/experiments";

/** A run evaluated at steps 0, 2, 4 (accuracies `acc`) whose distance after update i is `dist(i)`. */
function run(family: string, lr: number, acc: [number, number, number], dist: (i: number) => number): RunResult {
  return {
    spec: { family, grpo: { lr } },
    evals: acc.map((a, i) => ({ step: 2 * i, test: { accuracy: a } })),
    metrics: [0, 1, 2, 3].map((step) => ({ step, paramDistance: dist(step) })),
  } as unknown as RunResult;
}

test("accuracy against parameter distance: the evaluation at step s reads the distance after update s - 1; interpolated linearly", () => {
  const r = run("f", 1e-4, [50, 40, 30], (i) => 0.1 * (i + 1)); // distances after updates 0..3: 0.1 .. 0.4
  assert.deepEqual(accuracyByDistance(r).map((p) => [p.step, p.distance, p.accuracy]), [[0, 0, 50], [2, 0.2, 40], [4, 0.4, 30]]);
  assert.ok(Math.abs(accuracyAtDistance(r, 0.3)! - 35) < 1e-9);
  assert.equal(accuracyAtDistance(r, 0.1), 45);
  assert.equal(accuracyAtDistance(r, 0.5), null); // beyond where it walked
});

test("S: the largest lr <= 3e-5 whose runs end above the base in >= 2 of 3 seeds; O: none does and the curves overlap", () => {
  const lin = (k: number) => (i: number) => k * (i + 1);
  // Reference lr 1e-4 walks 0.25 per update: at distance 0.5 (its step-2 evaluation) its accuracy is 40, 42, 44 (mean 42, sd 2).
  const ref = [40, 42, 44].map((a) => run("f", 1e-4, [50, a, a - 10], lin(0.25)));
  // lr 3e-5 ends at distance 0.5 with 41, 43, 41: below the base 50, mean 41.7 within 2 of 42 -> overlaps.
  const slow = [41, 43, 41].map((a) => run("f", 3e-5, [50, 45, a], lin(0.125)));
  const o = gtLrVerdict([...ref, ...slow]);
  assert.equal(o.S, false);
  assert.equal(o.O, true);
  const row = o.rows.find((r) => r.lr === 3e-5)!;
  assert.equal(row.distance, 0.5);
  assert.equal(row.reference!.mean, 42);
  assert.equal(row.reference!.sd, 2);
  // The same lr ending above the base in 2 of 3 seeds: S holds at 3e-5 (and O does not).
  const win = [51, 55, 49].map((a) => run("f", 3e-5, [50, 50, a], lin(0.125)));
  const s = gtLrVerdict([...ref, ...win]);
  assert.deepEqual([s.S, s.sLr, s.O], [true, 3e-5, false]);
  // Below the base but far from the reference at the same distance: neither.
  const apart = [47, 48, 46].map((a) => run("f", 3e-5, [50, 49, a], lin(0.125)));
  const n = gtLrVerdict([...ref, ...apart]);
  assert.deepEqual([n.S, n.O], [false, false]);
  assert.throws(() => gtLrVerdict([...ref, run("g", 3e-5, [50, 50, 50], lin(0.1))]), /more than one family/);
});
