import assert from "node:assert/strict";
import { test } from "node:test";
import { makeRng } from "../src/util/rng";

const take = <T>(n: number, f: () => T): T[] => Array.from({ length: n }, f);

test("fixed values: a change here changes every stored result (seedrandom's alea, stream names)", () => {
  const r = makeRng(1, "fixture");
  assert.deepEqual([r.next(), r.next(), r.next()], [0.7324898755177855, 0.9752971131820232, 0.19928341335617006]);
  const c = makeRng(1, "fixture", "child");
  assert.deepEqual([c.int(1000), c.int(1000), c.int(1000)], [423, 288, 885]);
});

test("a stream is its name: same seed and keys, same numbers; other keys, other numbers", () => {
  const a = makeRng(42, "rollout", 3);
  assert.equal(a.name, "42/rollout/3");
  assert.deepEqual(take(5, () => a.next()), take(5, makeRng(42, "rollout", 3).next));
  assert.notDeepEqual(take(5, makeRng(42, "rollout", 4).next), take(5, makeRng(42, "rollout", 3).next));
  assert.notDeepEqual(take(5, makeRng(43, "rollout", 3).next), take(5, makeRng(42, "rollout", 3).next));
});

test("fork is named by keys, does not advance its parent, and is independent of draws before it", () => {
  const parent = makeRng(7, "step");
  const untouched = makeRng(7, "step");
  parent.next();
  parent.next();
  const child = parent.fork("sample", 2);
  assert.equal(child.name, "7/step/sample/2");
  assert.deepEqual(take(4, child.next), take(4, makeRng(7, "step", "sample", 2).next));
  untouched.next();
  untouched.next();
  assert.equal(parent.next(), untouched.next());
});

test("int, range, pick stay in bounds and cover them", () => {
  const r = makeRng(0, "bounds");
  const ints = new Set(take(2000, () => r.int(5)));
  assert.deepEqual([...ints].sort(), [0, 1, 2, 3, 4]);
  const ranged = new Set(take(2000, () => r.range(-2, 2)));
  assert.deepEqual([...ranged].sort((x, y) => x - y), [-2, -1, 0, 1, 2]);
  assert.equal(r.range(3, 3), 3);
  const picked = new Set(take(500, () => r.pick(["a", "b", "c"])));
  assert.equal(picked.size, 3);
  for (const u of take(2000, r.next)) assert.ok(u >= 0 && u < 1);
});

test("bernoulli, categorical and normal have the right statistics", () => {
  const r = makeRng(0, "stats");
  const n = 20000;
  assert.ok(take(100, () => Number(r.bernoulli(0))).every((x) => x === 0));
  assert.ok(take(100, () => Number(r.bernoulli(1))).every((x) => x === 1));
  const p = take(n, () => Number(r.bernoulli(0.3))).reduce((s, x) => s + x, 0) / n;
  assert.ok(Math.abs(p - 0.3) < 0.015, `bernoulli(0.3) rate ${p}`);

  const counts = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) counts[r.categorical([1, 0, 3, 0])]++;
  assert.equal(counts[1] + counts[3], 0, "zero weights are never drawn");
  assert.ok(Math.abs(counts[2] / n - 0.75) < 0.015, `categorical share ${counts[2] / n}`);

  const z = take(n, r.normal);
  const mean = z.reduce((s, x) => s + x, 0) / n;
  const variance = z.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
  assert.ok(Math.abs(mean) < 0.03, `normal mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.04, `normal variance ${variance}`);
  assert.ok(z.every(Number.isFinite));
});

test("bad input is an error that says what was wrong", () => {
  const r = makeRng(0, "bad");
  assert.throws(() => r.int(0), /positive integer/);
  assert.throws(() => r.int(2.5), /positive integer/);
  assert.throws(() => r.range(3, 2), /lo <= hi/);
  assert.throws(() => r.pick([]), /empty/);
  assert.throws(() => r.categorical([0, 0]), /all zero/);
  assert.throws(() => r.categorical([1, -1]), />= 0/);
  assert.throws(() => r.categorical([1, Number.NaN]), />= 0/);
  assert.throws(() => makeRng(0, Number.NaN), /finite/);
});
