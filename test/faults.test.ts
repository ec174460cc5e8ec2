// Nothing lost, nothing silent (issue 15): runs killed at a chosen write (a child process with
// SPURIOUS_FAULT, SIGKILLed there), damaged checkpoints, and bad input, each answered by a clear
// error or a clean recovery.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { setup, tinyParams, tf, TINY } from "./helpers";
import { checkpointSha, loadCheckpoint, saveCheckpoint } from "../src/model/checkpoint";
import { readRun, resolveSpec, runName, runOrLoad, runPath } from "../src/lab/experiments";
import { disposeParams } from "../src/model/model";
import { loadPlan, notebookMode } from "../src/figures/notebook";
import { ROOT } from "../src/util/paths";
import { resetFaults } from "../src/util/store";

const tsx = path.join(ROOT, "node_modules/tsx/dist/cli.mjs");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "spurious-faults-"));
const runs = path.join(dir, "runs");
const tinyCkpt = path.join(dir, "checkpoints", "qwen-math-7b.ckpt");
process.env.SPURIOUS_DATA = dir;
delete process.env.SPURIOUS_RUNS;
delete process.env.SPURIOUS_FAULT;

before(async () => {
  await setup();
  const params = tinyParams(11);
  saveCheckpoint(tinyCkpt, params, { name: "tiny", config: TINY, meta: {}, step: 0, metrics: {} });
  disposeParams(params);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const spec = (seed: number) => ({ family: "qwen-math-7b", reward: "random0.5", seed, scale: "smoke" as const, overrides: { maxResponseTokens: 12 } });
const strip = (r: Awaited<ReturnType<typeof runOrLoad>>) => ({ metrics: r.metrics.map(({ seconds, ...m }) => m), evals: r.evals, records: r.records });
/** Files in the run store that belong to a run (its JSON, state, lock, temporaries). */
const filesOf = (name: string) => fs.readdirSync(runs).filter((f) => f.startsWith(`${name}.`)).sort();

/** Run a spec in a child process, optionally killed (or failed) at a SPURIOUS_FAULT point. */
function child(s: object, fault?: string, env: Record<string, string> = {}) {
  const e: NodeJS.ProcessEnv = { ...process.env, SPURIOUS_DATA: dir, ...env };
  delete e.SPURIOUS_RUNS;
  if (fault) e.SPURIOUS_FAULT = fault;
  // node itself runs the child (tsx as a loader, not as a wrapper process), so the SIGKILL is what the test sees
  const r = spawnSync(process.execPath, ["--import", pathToFileURL(path.join(ROOT, "node_modules/tsx/dist/loader.mjs")).href, path.join(__dirname, "child-run.ts"), JSON.stringify(s)], { encoding: "utf8", env: e, timeout: 300_000 });
  return { code: r.status, signal: r.signal, pid: r.pid, err: r.stderr };
}

function cli(script: string, args: string[], env: Record<string, string | undefined>, timeout = 120_000) {
  const r = spawnSync(process.execPath, [tsx, path.join(ROOT, script), ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout });
  return { code: r.status, err: r.stderr, out: r.stdout };
}

/** A checkpoint's content edited and sealed with a fresh, valid checksum (so the check after the checksum is what speaks). */
function resealed(file: string, edit: (content: string) => string): Buffer {
  const bytes = fs.readFileSync(file);
  const content = Buffer.from(edit(bytes.subarray(0, bytes.length - 72).toString("latin1")), "latin1");
  return Buffer.concat([content, Buffer.from("SPRCKSUM" + crypto.createHash("sha256").update(content).digest("hex"), "latin1")]);
}

test("6: a run killed inside an atomic write leaves a temporary; the next start removes it and ends with the uninterrupted numbers", async () => {
  const reference = await runOrLoad(spec(1), { quiet: true });
  fs.renameSync(runPath(reference.name), path.join(dir, "reference.json"));
  // Writes of a smoke run: state+JSON at step 0 (#1, #2), at step 1 (#3, #4), the final JSON (#5).
  const killed = child(spec(1), "write@3");
  assert.equal(killed.signal, "SIGKILL");
  const name = reference.name;
  assert.deepEqual(filesOf(name).map((f) => f.replace(String(killed.pid), "PID").replace(/-\d+$/, "-T")), [
    `${name}.json`, `${name}.json.lock`, `${name}.state.ckpt`, `${name}.state.ckpt.tmp-PID-T`,
  ]);
  const resumed = await runOrLoad(spec(1), { quiet: true });
  assert.equal(resumed.status, "complete");
  assert.deepEqual(strip(resumed), strip(reference));
  assert.deepEqual(filesOf(name), [`${name}.json`]);
});

test("6: a kill between the final write and the state's removal leaves nothing behind once the run is loaded", async () => {
  const killed = child(spec(2), "renamed@5");
  assert.equal(killed.signal, "SIGKILL");
  const name = runName(resolveSpec(spec(2)));
  assert.equal(readRun(runPath(name)).status, "complete");
  assert.deepEqual(filesOf(name), [`${name}.json`, `${name}.json.lock`, `${name}.state.ckpt`]);
  const loaded = await runOrLoad(spec(2), { quiet: true, loadOnly: true });
  assert.equal(loaded.status, "complete");
  assert.deepEqual(filesOf(name), [`${name}.json`]);
});

test("2: a lock whose holder was killed, or that is empty, is broken with a note and the run completes", () => {
  const killed = child(spec(3), "lock@1");
  assert.equal(killed.signal, "SIGKILL");
  const name = runName(resolveSpec(spec(3)));
  const lock = `${runPath(name)}.lock`;
  // the lock was complete from its first moment: it names the (now dead) holder
  assert.equal(JSON.parse(fs.readFileSync(lock, "utf8")).pid, killed.pid);
  const next = child(spec(3));
  assert.equal(next.code, 0, next.err);
  assert.match(next.err, new RegExp(`\\[lock\\] breaking ${name}\\.json\\.lock: its holder, pid ${killed.pid}, is dead`));
  assert.deepEqual(filesOf(name), [`${name}.json`]);
  // the 0-byte lock older code left when killed between creating and writing it
  const name4 = runName(resolveSpec(spec(4)));
  fs.writeFileSync(`${runPath(name4)}.lock`, "");
  const after0 = child(spec(4));
  assert.equal(after0.code, 0, after0.err);
  assert.match(after0.err, /breaking .*\.lock: its content is unreadable/);
  assert.equal(readRun(runPath(name4)).status, "complete");
});

test("14.4: a run that throws midway releases every tensor it held, and leaves no temporary", async () => {
  await runOrLoad(spec(1), { quiet: true }); // warm: every lazily made tensor exists already
  const before = tf.memory().numTensors;
  process.env.SPURIOUS_FAULT = "write@3:throw";
  resetFaults();
  try {
    await assert.rejects(runOrLoad({ ...spec(5), overrides: { maxResponseTokens: 12, klCoef: 0.05 } }, { quiet: true }), /injected fault at write #3/);
  } finally {
    delete process.env.SPURIOUS_FAULT;
    resetFaults();
  }
  assert.equal(tf.memory().numTensors, before);
  const name = runName(resolveSpec({ ...spec(5), overrides: { maxResponseTokens: 12, klCoef: 0.05 } }));
  assert.deepEqual(filesOf(name), [`${name}.json`, `${name}.state.ckpt`]);
});

test("3: a damaged resume state names its own remedy (move it away, the run restarts), not the shipped checkpoint's", async () => {
  const s6 = spec(6);
  process.env.SPURIOUS_FAULT = "write@3:throw";
  resetFaults();
  try {
    await assert.rejects(runOrLoad(s6, { quiet: true }), /injected fault at write #3/);
  } finally {
    delete process.env.SPURIOUS_FAULT;
    resetFaults();
  }
  const state = runPath(runName(resolveSpec(s6))).replace(/\.json$/, ".state.ckpt");
  const bytes = fs.readFileSync(state);
  bytes[bytes.length - 100] ^= 1; // a bit in the last weights
  fs.writeFileSync(state, bytes);
  const err = await runOrLoad(s6, { quiet: true }).then(() => null, (e: Error) => e.message);
  assert.match(err ?? "", /state\.ckpt fails its checksum .*; move it away to restart the run from step 0$/);
  assert.doesNotMatch(err ?? "", /git checkout|pretrain/);
  // the remedy works: without the state the run starts again and completes
  fs.rmSync(state);
  assert.equal((await runOrLoad(s6, { quiet: true })).status, "complete");
});

test("3: an edited header or a flipped bit in the weights fails the checksum, naming the file; eval stores nothing", () => {
  const bad = fs.mkdtempSync(path.join(os.tmpdir(), "spurious-badckpt-"));
  try {
    fs.mkdirSync(path.join(bad, "checkpoints"));
    const file = path.join(bad, "checkpoints", "qwen-math-7b.ckpt");
    const bytes = fs.readFileSync(tinyCkpt);
    fs.writeFileSync(file, Buffer.from(bytes.toString("latin1").replace('"nHeads":2', '"nHeads":4'), "latin1"));
    assert.throws(() => loadCheckpoint(file), /qwen-math-7b\.ckpt fails its checksum \(its header or weights changed/);
    const r = cli("src/cli/eval.ts", ["--family", "qwen-math-7b"], { SPURIOUS_DATA: bad });
    assert.equal(r.code, 1);
    assert.match(r.err, /qwen-math-7b\.ckpt fails its checksum/);
    assert.ok(!fs.existsSync(path.join(bad, "evals")), "no evaluation stored from a bad checkpoint");
    // a flipped exponent bit in the last weight (just before the 72-byte trailer)
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 73] ^= 0x40;
    fs.writeFileSync(file, flipped);
    assert.throws(() => checkpointSha(file), /fails its checksum/);
    // nHeads 5 with a valid checksum: the config check names the file
    fs.writeFileSync(file, resealed(tinyCkpt, (t) => t.replace('"nHeads":2', '"nHeads":5')));
    assert.throws(() => loadCheckpoint(file), /qwen-math-7b\.ckpt: model config: dModel 16 is not divisible by nHeads 5/);
    // no checksum at all: a legacy or cut file is refused, not trusted
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 72));
    assert.throws(() => loadCheckpoint(file), /qwen-math-7b\.ckpt has no checksum/);
  } finally {
    fs.rmSync(bad, { recursive: true, force: true });
  }
});

test("4: a truncated shipped checkpoint fails npm run summary and a notebook's plan load, naming the file", async () => {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), "spurious-trunc-"));
  try {
    fs.cpSync(path.join(ROOT, "data", "checkpoints"), path.join(copy, "checkpoints"), { recursive: true });
    const file = path.join(copy, "checkpoints", "qwen-7b.ckpt");
    fs.truncateSync(file, fs.statSync(file).size - 5000);
    const r = cli("src/cli/summary.ts", [], { SPURIOUS_DATA: copy, SPURIOUS_RUNS: undefined });
    assert.equal(r.code, 1);
    assert.match(r.err, /checkpoint .*qwen-7b\.ckpt is truncated/);
    process.env.SPURIOUS_DATA = copy;
    process.env.SPURIOUS_RUNS = path.join(ROOT, "data", "runs"); // read only: stored mode never computes
    try {
      await assert.rejects(loadPlan("rewards", notebookMode(false)), /qwen-7b\.ckpt is truncated/);
    } finally {
      process.env.SPURIOUS_DATA = dir;
      delete process.env.SPURIOUS_RUNS;
    }
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
});

test("4: bad sweep specs, run files, checkpoints and folders are errors naming the file or setting and the remedy", () => {
  const specs = path.join(dir, "specs.json");
  fs.writeFileSync(specs, JSON.stringify([{ family: "nosuch", reward: "math" }]));
  let r = cli("src/cli/sweep.ts", [specs, "--dry-run"], { SPURIOUS_DATA: undefined });
  assert.equal(r.code, 1);
  assert.match(r.err, /specs\.json: unknown family "nosuch"; valid ids/);
  assert.doesNotMatch(r.err, /pretrain/);
  fs.writeFileSync(specs, '[{"family": "qwen-7b", "rew');
  r = cli("src/cli/sweep.ts", [specs, "--dry-run"], { SPURIOUS_DATA: undefined });
  assert.match(r.err, /specs\.json is not valid JSON \(.*\); fix the file/);
  fs.writeFileSync(specs, "[null]");
  r = cli("src/cli/sweep.ts", [specs, "--dry-run"], { SPURIOUS_DATA: undefined });
  assert.match(r.err, /specs\.json: entry 0 is null, not a spec object/);
  const nul = path.join(dir, "null-run.json");
  fs.writeFileSync(nul, "null");
  assert.throws(() => readRun(nul), /run file .*null-run\.json is not a run of format 1 \(it holds null\); move it away to recompute/);
  assert.throws(() => checkpointSha(path.join(dir, "checkpoints", "nosuch.ckpt")), /checkpoint .*nosuch\.ckpt does not exist; restore it .* or retrain it with npm run pretrain/);
  process.env.SPURIOUS_DATA = path.join(dir, "no-such-folder");
  try {
    assert.throws(() => runName(resolveSpec(spec(1))), /SPURIOUS_DATA=.*no-such-folder does not exist; point SPURIOUS_DATA at a folder, or unset it/);
  } finally {
    process.env.SPURIOUS_DATA = dir;
  }
  process.env.SPURIOUS_RUNS = nul;
  try {
    assert.throws(() => runPath("x"), /SPURIOUS_RUNS=.*null-run\.json is not a folder/);
  } finally {
    delete process.env.SPURIOUS_RUNS;
  }
});

test("14.5: a smoke-scale run is refused in the shipped data/runs/, before anything is written", async () => {
  delete process.env.SPURIOUS_DATA;
  const shipped = fs.readdirSync(path.join(ROOT, "data", "runs")).length;
  try {
    await assert.rejects(runOrLoad({ family: "qwen-math-7b", reward: "math", scale: "smoke" }, { quiet: true }), /smoke-scale runs are not stored in the shipped .*data\/runs.*; set SPURIOUS_RUNS to a scratch folder/);
  } finally {
    process.env.SPURIOUS_DATA = dir;
  }
  const r = cli("src/cli/experiment.ts", ["--family", "qwen-math-7b", "--reward", "math", "--scale", "smoke"], { SPURIOUS_DATA: undefined, SPURIOUS_RUNS: undefined });
  assert.equal(r.code, 1);
  assert.match(r.err, /smoke-scale runs are not stored in the shipped/);
  assert.equal(fs.readdirSync(path.join(ROOT, "data", "runs")).length, shipped);
});

test("6: pretraining removes the temporaries a stage killed inside an atomic write left (checkpoint and .partial)", async () => {
  const { runStage, DEFAULT_PRETRAIN } = await import("../src/lab/pretrain");
  const { BASE_CORPUS } = await import("../src/world/families");
  const out = path.join(dir, "pretrain", "tiny.ckpt");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const dead = spawnSync(process.execPath, ["-e", "0"]).pid!; // a pid that has exited
  const debris = [`${out}.tmp-${dead}-1`, `${out}.partial.tmp-${dead}-2`];
  for (const f of debris) fs.writeFileSync(f, "half a checkpoint");
  const other = path.join(path.dirname(out), `other.ckpt.tmp-${dead}-3`); // another file's: not this stage's to remove
  fs.writeFileSync(other, "x");
  runStage({ name: "tiny", out, corpus: BASE_CORPUS, size: { dModel: 8, nLayers: 1, nHeads: 1, dMlp: 8 }, parent: null, train: { ...DEFAULT_PRETRAIN, steps: 1, batchSize: 2, warmup: 1, saveEvery: 1 } });
  assert.ok(loadCheckpoint(out).header.name === "tiny");
  assert.deepEqual(debris.filter((f) => fs.existsSync(f)), []);
  assert.ok(fs.existsSync(other));
});

test("a sweep's worker runs exactly the planned spec: fresh and a named algorithm reach it (the sweep checks the stored name)", () => {
  const specs = path.join(dir, "fresh-specs.json");
  const planned = { ...spec(7), fresh: true, overrides: { maxResponseTokens: 12, algorithm: "rloo" } };
  fs.writeFileSync(specs, JSON.stringify([planned]));
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "spurious-sweep-runs-"));
  try {
    // a sweep spawns a worker that loads the backend and runs: minutes on a loaded machine
    const r = cli("src/cli/sweep.ts", [specs, "--workers", "1"], { SPURIOUS_RUNS: scratch }, 600_000);
    assert.equal(r.code, 0, r.err);
    const name = runName(resolveSpec(planned));
    const stored = readRun(path.join(scratch, `${name}.json`));
    assert.equal(stored.spec.grpo.algorithm, "rloo");
    assert.equal(stored.evals[0].fresh?.n, stored.spec.eval.testSize);
    assert.deepEqual(fs.readdirSync(scratch).filter((f) => f.endsWith(".json")), [`${name}.json`], "no other run was stored");
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});
