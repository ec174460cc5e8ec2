// A world version in every spec (issue 11, item 4): checkpoints, labels, evaluations and runs carry
// their world; world 1 (the shipped one) is the default and keeps every stored name; reading
// something of one world as another, or an unknown world, is an error naming both sides, and the
// stored file is left exactly as it was.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setup, tinyParams, TINY } from "./helpers";
import { checkpointSha, loadCheckpoint, readCheckpointHeader, saveCheckpoint } from "../src/model/checkpoint";
import { disposeParams } from "../src/model/model";
import { resolveSpec, runName, runOrLoad, runPath } from "../src/lab/experiments";
import { baseModelReport, reportPath } from "../src/lab/basemodels";
import { labelsPath, majorityLabels } from "../src/rl/datasets";
import { notebookMode, sweepCommand } from "../src/figures/notebook";
import { checkpointPath, ROOT, worldDir } from "../src/util/paths";
import { getSplit } from "../src/world/problems";
import { parseWorld, storedWorld } from "../src/world/worlds";

const SHIPPED = path.join(ROOT, "data");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "spurious-worlds-"));
const saved = { data: process.env.SPURIOUS_DATA, runs: process.env.SPURIOUS_RUNS };

/** A tiny checkpoint of a world at `file`. */
function tinyCheckpoint(file: string, world?: 1 | 2): void {
  const params = tinyParams(5);
  saveCheckpoint(file, params, { name: "tiny", config: TINY, meta: {}, step: 0, metrics: {}, ...(world ? { world } : {}) });
  disposeParams(params);
}

/** Run `body`, then check that `file` still has the bytes it had before. */
function untouched(file: string, body: () => void): void {
  const before = fs.readFileSync(file);
  body();
  assert.ok(fs.readFileSync(file).equals(before), `${file} changed`);
}

before(async () => {
  await setup();
  process.env.SPURIOUS_DATA = dir;
  process.env.SPURIOUS_RUNS = path.join(dir, "runs");
});
after(() => {
  for (const [k, v] of [["SPURIOUS_DATA", saved.data], ["SPURIOUS_RUNS", saved.runs]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test("world versions: 1 and 2 are known, anything else is an error listing the valid ones", () => {
  assert.equal(parseWorld(2, "x"), 2);
  assert.throws(() => parseWorld(3, "the notebook's WORLD setting"), /the notebook's WORLD setting: unknown world version 3; valid: 1 \(.*\), 2 \(.*\)/);
  assert.throws(() => parseWorld("2", "x"), /unknown world version "2"/);
  assert.equal(storedWorld({}, "old file"), 1, "a file without a world field predates worlds: world 1");
  assert.throws(() => storedWorld({ world: 0 }, "label file f.json"), /label file f\.json: unknown world version 0/);
  assert.equal(worldDir("/d", 1), "/d");
  assert.equal(worldDir("/d", 2), path.join("/d", "world2"));
  assert.throws(() => resolveSpec({ family: "qwen-math-7b", reward: "math", world: 3 as 1 }), /experiment field world: unknown world version 3/);
  assert.throws(() => notebookMode(false, { world: 7 }), /WORLD setting: unknown world version 7/);
  assert.equal(notebookMode(false, { world: 2 }).world, 2);
  assert.equal(sweepCommand("rewards", {}, "default", 2), "npm run sweep -- rewards --world 2");
  assert.equal(sweepCommand("rewards", {}, "default"), "npm run sweep -- rewards");
});

test("world 1 keeps every stored name: world omitted, world 1 and the shipped store agree", () => {
  process.env.SPURIOUS_DATA = SHIPPED;
  delete process.env.SPURIOUS_RUNS;
  try {
    const implicit = runName(resolveSpec({ family: "qwen-math-7b", reward: "random0.5", seed: 0 }));
    const explicit = runName(resolveSpec({ family: "qwen-math-7b", reward: "random0.5", seed: 0, world: 1 }));
    assert.equal(explicit, implicit);
    assert.ok(fs.existsSync(runPath(implicit)), `${implicit} is a shipped run`);
    assert.equal(checkpointPath("qwen-math-7b", 1), checkpointPath("qwen-math-7b"));
    assert.equal(readCheckpointHeader(checkpointPath("qwen-math-7b")).world, undefined, "shipped checkpoints carry no world field (world 1)");
  } finally {
    process.env.SPURIOUS_DATA = dir;
    process.env.SPURIOUS_RUNS = path.join(dir, "runs");
  }
});

test("a world-2 run has its own name, from world 2's checkpoint; a world-1 checkpoint there is refused", () => {
  const v1 = checkpointPath("qwen-math-7b", 1);
  const v2 = checkpointPath("qwen-math-7b", 2);
  assert.equal(v2, path.join(dir, "checkpoints", "world2", "qwen-math-7b.ckpt"));
  tinyCheckpoint(v1);
  tinyCheckpoint(v2, 2);
  assert.equal(readCheckpointHeader(v2).world, 2);
  const s = { family: "qwen-math-7b", reward: "math", seed: 0, scale: "smoke" as const };
  const n1 = runName(resolveSpec(s));
  const n2 = runName(resolveSpec({ ...s, world: 2 }));
  assert.match(n2, /^w2-qwen-math-7b-math-gt-s0-smoke-[0-9a-f]{10}$/);
  assert.match(n1, /^qwen-math-7b-math-gt-s0-smoke-[0-9a-f]{10}$/);
  assert.notEqual(n1.slice(-10), n2.slice(-10));

  // v1 checkpoint loaded as v2 (it sits where world 2's belongs): named, both sides, nothing changed
  fs.copyFileSync(v1, v2);
  untouched(v2, () => {
    assert.throws(() => loadCheckpoint(v2, { world: 2 }), /checkpoint .*world2\/qwen-math-7b\.ckpt belongs to world 1 \(.*\), but world 2 \(.*\) was asked for/);
    assert.throws(() => runName(resolveSpec({ ...s, world: 2 })), /belongs to world 1 .* but world 2/);
  });
  // ... and the reverse
  tinyCheckpoint(v2, 2);
  fs.copyFileSync(v2, v1);
  untouched(v1, () => {
    assert.throws(() => loadCheckpoint(v1, { world: 1 }), /qwen-math-7b\.ckpt belongs to world 2 \(.*\), but world 1 \(.*\) was asked for/);
    assert.throws(() => checkpointSha(v1, 1), /belongs to world 2/);
  });
  tinyCheckpoint(v1);
});

test("a checkpoint header with an unknown world is refused by name", () => {
  const file = path.join(dir, "odd", "w7.ckpt");
  tinyCheckpoint(file, 2);
  // rewrite the header's world to 7 and reseal, so the world check (not the checksum) speaks
  const bytes = fs.readFileSync(file);
  const content = Buffer.from(bytes.subarray(0, bytes.length - 72).toString("latin1").replace('"world":2', '"world":7'), "latin1");
  const sum = crypto.createHash("sha256").update(content).digest("hex");
  fs.writeFileSync(file, Buffer.concat([content, Buffer.from("SPRCKSUM" + sum, "latin1")]));
  untouched(file, () => assert.throws(() => loadCheckpoint(file), /checkpoint .*w7\.ckpt: unknown world version 7; valid: 1/));
});

test("labels of another world or another checkpoint are refused, naming both, and kept", () => {
  const v1 = checkpointPath("qwen-math-7b", 1);
  tinyCheckpoint(v1);
  const train = getSplit("train");
  const records = train.map((p) => ({ problem: p.text, truth: p.answer, majority: p.answer, majorityCount: 40, correctCount: 40 }));
  const file = labelsPath("qwen-math-7b");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const good = { format: 1, checkpoint: "qwen-math-7b", checkpointSha: checkpointSha(v1), samples: 64, temperature: 1, records };
  fs.writeFileSync(file, JSON.stringify(good));
  assert.equal(majorityLabels("qwen-math-7b").records.length, train.length);
  // labels that say world 2, read as world 1
  fs.writeFileSync(file, JSON.stringify({ ...good, world: 2 }));
  untouched(file, () => assert.throws(() => majorityLabels("qwen-math-7b"), /label file .*labels\/qwen-math-7b\.json belongs to world 2 \(.*\), but world 1 \(.*\) was asked for/));
  // world 1's labels copied to where world 2's belong, read as world 2
  const file2 = labelsPath("qwen-math-7b", 2);
  assert.equal(file2, path.join(dir, "labels", "world2", "qwen-math-7b.json"));
  fs.mkdirSync(path.dirname(file2), { recursive: true });
  fs.writeFileSync(file2, JSON.stringify(good));
  untouched(file2, () => assert.throws(() => majorityLabels("qwen-math-7b", { world: 2 }), /labels\/world2\/qwen-math-7b\.json belongs to world 1 .* but world 2/));
  // an unknown world in a label file
  fs.writeFileSync(file, JSON.stringify({ ...good, world: 9 }));
  untouched(file, () => assert.throws(() => majorityLabels("qwen-math-7b"), /label file .*: unknown world version 9/));
  // labels of another checkpoint of the same world
  fs.writeFileSync(file, JSON.stringify({ ...good, checkpointSha: "0123456789abcdef" }));
  untouched(file, () => assert.throws(() => majorityLabels("qwen-math-7b"), /made by another qwen-math-7b checkpoint \(0123456789abcdef, now [0-9a-f]{16}\)/));
});

test("a stored evaluation of another world is refused, naming both, and kept", async () => {
  const v1 = checkpointPath("qwen-math-7b", 1);
  tinyCheckpoint(v1);
  const file = reportPath("qwen-math-7b", checkpointSha(v1));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ family: "qwen-math-7b", world: 2 }));
  const before = fs.readFileSync(file);
  await assert.rejects(baseModelReport("qwen-math-7b", { loadOnly: true }), /report .*evals\/qwen-math-7b-[0-9a-f]{16}\.json belongs to world 2 .* but world 1/);
  assert.ok(fs.readFileSync(file).equals(before));
  assert.equal(reportPath("f", "abc", 2), path.join(dir, "evals", "world2", "f-abc.json"));
});

test("a stored run whose spec says another world than its name is refused and kept", async () => {
  tinyCheckpoint(checkpointPath("qwen-math-7b", 1));
  const s = { family: "qwen-math-7b", reward: "math", seed: 3, scale: "smoke" as const };
  const r = resolveSpec(s);
  const file = runPath(runName(r));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ format: 1, name: runName(r), spec: { ...r, world: 2 }, metrics: [], status: "complete" }));
  const before = fs.readFileSync(file);
  await assert.rejects(runOrLoad(s, { loadOnly: true }), /run file .* belongs to world 2 .* but world 1/);
  assert.ok(fs.readFileSync(file).equals(before));
});
