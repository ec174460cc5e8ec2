import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setup, tinyParams, TINY } from "./helpers";
import { checkpointSha, saveCheckpoint } from "../src/model/checkpoint";
import { disposeParams } from "../src/model/model";
import { runOrLoad, resolveSpec, runName, runPath, readRun } from "../src/lab/experiments";
import { buildDataset, labelsPath, majority } from "../src/rl/datasets";
import { getSplit } from "../src/world/problems";

// A temporary data folder holding a tiny stand-in checkpoint under a family's name, so the
// experiment machinery runs in seconds. (The notebooks' tests run the real families.)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "spurious-exp-"));
process.env.SPURIOUS_DATA = dir;
delete process.env.SPURIOUS_RUNS;

before(async () => {
  await setup();
  const params = tinyParams(11);
  saveCheckpoint(path.join(dir, "checkpoints", "qwen-math-7b.ckpt"), params, { name: "tiny", config: TINY, meta: {}, step: 0, metrics: {} });
  disposeParams(params);
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

const smoke = { family: "qwen-math-7b", reward: "random0.5", seed: 1, scale: "smoke" as const, overrides: { maxResponseTokens: 12 } };
const strip = (r: Awaited<ReturnType<typeof runOrLoad>>) => ({ metrics: r.metrics.map(({ seconds, ...m }) => m), evals: r.evals, records: r.records });

test("same spec and seed give the same numbers; the stored result is returned on the second call", async () => {
  const a = await runOrLoad(smoke, { quiet: true });
  assert.equal(a.status, "complete");
  assert.equal(a.metrics.length, 2);
  assert.ok(fs.existsSync(runPath(a.name)));
  assert.ok(a.name.startsWith("qwen-math-7b-random0.5-gt-s1-smoke-"));
  const again = await runOrLoad(smoke, { quiet: true });
  assert.deepEqual(again, a);
  // recompute from scratch elsewhere: identical numbers
  fs.renameSync(runPath(a.name), runPath(a.name) + ".bak");
  const b = await runOrLoad(smoke, { quiet: true });
  assert.deepEqual(strip(b), strip(a));
});

test("a run stopped midway and started again ends with the numbers of an uninterrupted run", async () => {
  const spec = { ...smoke, seed: 2, overrides: { maxResponseTokens: 12, steps: 3 } };
  const full = await runOrLoad(spec, { quiet: true });
  fs.rmSync(runPath(full.name));
  const partial = await runOrLoad(spec, { quiet: true, stopAfter: 1 });
  assert.equal(partial.status, "partial");
  assert.equal(partial.metrics.length, 1);
  assert.equal(readRun(runPath(full.name)).status, "partial");
  // a kill between the state write and the JSON write leaves an older JSON: the state wins
  const older = { ...partial, metrics: [], evals: partial.evals.slice(0, 1) };
  fs.writeFileSync(runPath(full.name), JSON.stringify(older));
  const resumed = await runOrLoad(spec, { quiet: true });
  assert.equal(resumed.status, "complete");
  assert.deepEqual(strip(resumed), strip(full));
});

test("bad specs are rejected before any compute, naming the problem", () => {
  assert.throws(() => resolveSpec({ family: "gpt-9", reward: "math" }), /unknown family "gpt-9"/);
  assert.throws(() => resolveSpec({ family: "qwen-7b", reward: "mathh" }), /unknown reward "mathh"/);
  assert.throws(() => resolveSpec({ family: "qwen-7b", reward: "math", variant: "best" as "gt" }), /unknown dataset variant "best"/);
  assert.throws(() => resolveSpec({ family: "qwen-7b", reward: "math", overrides: { temperatur: 1 } as object }), /unknown GRPO setting "temperatur"/);
  assert.throws(() => resolveSpec({ family: "qwen-7b", reward: "math", overrides: { miniBatchSize: 0 } }), /miniBatchSize must be a positive integer/);
  assert.throws(() => resolveSpec({ family: "qwen-7b", reward: "math", seed: -1 }), /seed must be an integer from 0 to 9007199254740991, got -1/);
  assert.throws(() => resolveSpec({ family: "qwen-7b", reward: "random0.5", overrides: { algorithm: "ppo9" } }), /unknown algorithm "ppo9"; valid: grpo, reinforce, rloo, dr-grpo, clip-higher/);
  assert.throws(() => resolveSpec({ family: "qwen-math-7b-contaminated", reward: "math" }), /family qwen-math-7b-contaminated exists in world 2 only/);
  assert.throws(() => resolveSpec({ family: "qwen-7b", reward: "math", fresh: "yes" as unknown as boolean }), /experiment field fresh must be true or false, got "yes"/);
});

test("a run asked for fresh is also evaluated on fresh at the start and the end; without it the run is named as before", async () => {
  const plain = resolveSpec(smoke);
  const withFresh = resolveSpec({ ...smoke, fresh: true });
  assert.equal("freshSize" in plain.eval, false, "a run not asking for fresh has no freshSize (its hash and name are unchanged)");
  assert.notEqual(runName(withFresh), runName(plain));
  const r = await runOrLoad({ ...smoke, seed: 4, fresh: true }, { quiet: true });
  const first = r.evals[0];
  const last = r.evals[r.evals.length - 1];
  assert.equal(first.fresh?.n, plain.eval.testSize);
  assert.equal(last.fresh?.n, plain.eval.testSize);
  assert.equal(r.evals.slice(1, -1).every((e) => e.fresh === undefined), true, "only at the start and the end");
  const noFresh = await runOrLoad({ ...smoke, seed: 4 }, { quiet: true });
  assert.equal(noFresh.evals.every((e) => e.fresh === undefined), true);
  assert.deepEqual(noFresh.evals.map((e) => e.test), r.evals.map((e) => e.test), "measuring fresh changes nothing else");
});

test("a corrupt run file is reported by name and left untouched", async () => {
  const name = runName(resolveSpec({ ...smoke, seed: 3 }));
  fs.mkdirSync(path.dirname(runPath(name)), { recursive: true });
  fs.writeFileSync(runPath(name), "{ not json");
  await assert.rejects(runOrLoad({ ...smoke, seed: 3 }, { quiet: true }), new RegExp(`run file .*${name}\\.json is corrupt`));
  assert.equal(fs.readFileSync(runPath(name), "utf8"), "{ not json");
});

test("dataset variants from stored majority labels: mv, incorrect, one-shot", () => {
  const train = getSplit("train");
  // hand-made labels: the majority is right on even prompts, off by one on odd ones; prompt 5 is solved half the time
  const records = train.map((p, i) => ({ problem: p.text, truth: p.answer, majority: i % 2 === 0 ? p.answer : p.answer + 1, majorityCount: 40, correctCount: i === 5 ? 32 : i % 2 === 0 ? 60 : 2 }));
  fs.mkdirSync(path.dirname(labelsPath("qwen-math-7b")), { recursive: true });
  const sha = checkpointSha(path.join(dir, "checkpoints", "qwen-math-7b.ckpt"));
  fs.writeFileSync(labelsPath("qwen-math-7b"), JSON.stringify({ format: 1, checkpoint: "qwen-math-7b", checkpointSha: sha, samples: 64, temperature: 1, records }));
  const mv = buildDataset("mv", "qwen-math-7b");
  assert.equal(mv.length, train.length);
  assert.equal(mv[1].label, train[1].answer + 1);
  const wrong = buildDataset("incorrect", "qwen-math-7b");
  assert.equal(wrong.length, train.length / 2);
  assert.ok(wrong.every((x) => x.label !== x.problem.answer));
  const one = buildDataset("oneshot", "qwen-math-7b");
  assert.equal(one.length, 1);
  assert.equal(one[0].problem.text, train[5].text);
  assert.equal(buildDataset("gt", "qwen-math-7b")[3].label, train[3].answer);
  assert.throws(() => buildDataset("best", "qwen-math-7b"), /unknown dataset variant "best"/);
  // labels made by another checkpoint are refused, not silently reused
  fs.writeFileSync(labelsPath("qwen-math-7b"), JSON.stringify({ format: 1, checkpoint: "qwen-math-7b", checkpointSha: "0000", samples: 64, temperature: 1, records }));
  assert.throws(() => buildDataset("mv", "qwen-math-7b"), /made by another qwen-math-7b checkpoint/);
  assert.deepEqual(majority([3, null, 4, 4, 3, 4]), { value: 4, count: 3 });
  assert.deepEqual(majority([null, null]), { value: null, count: 0 });
});
