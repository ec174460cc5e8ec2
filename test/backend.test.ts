// One process per test file (node --test), so initBackend's once-per-process state starts empty
// here; the tests run in order and each says which backend it leaves selected.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { BACKENDS, backendInfo, initBackend } from "../src/model/backend";

// This file tests the selection itself, so a SPURIOUS_BACKEND set for the whole run must not leak in.
delete process.env.SPURIOUS_BACKEND;

const installed = (pkg: string) => {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
};

test("backendInfo before initBackend is an error", () => {
  assert.throws(() => backendInfo(), /initBackend\(\) has not been called/);
});

test("an unknown backend name is an error listing the valid ones", async () => {
  await assert.rejects(initBackend({ force: "tpu", quiet: true }), (e: Error) => {
    assert.match(e.message, /unknown backend "tpu"/);
    for (const name of BACKENDS) assert.ok(e.message.includes(name), `message lists ${name}`);
    return true;
  });
  process.env.SPURIOUS_BACKEND = "gpu";
  try {
    await assert.rejects(initBackend({ quiet: true }), /unknown backend "gpu" \(SPURIOUS_BACKEND\)/);
  } finally {
    delete process.env.SPURIOUS_BACKEND;
  }
});

test("default: the first backend of the preference order that starts, and why the others did not", async () => {
  const info = await initBackend({ quiet: true });
  const rank = BACKENDS.indexOf(info.name);
  assert.ok(rank >= 0);
  assert.equal(info.skipped.length, rank, `one reason per skipped backend: ${info.skipped.join("; ")}`);
  assert.equal(tf.getBackend(), info.tfBackend);
  assert.deepEqual(backendInfo(), info);
  // wasm ships with the project, so nothing worse than wasm is ever the default.
  assert.ok(rank <= BACKENDS.indexOf("wasm"), `default fell back to ${info.name}`);
  assert.equal(await initBackend({ quiet: true }), info, "a second call returns the same choice");
});

test("forcing a backend that is not installed is an error, not a silent fallback", { skip: installed("@tensorflow/tfjs-node-gpu") && "tfjs-node-gpu is installed" }, async () => {
  await assert.rejects(initBackend({ force: "tensorflow-gpu", quiet: true }), /@tensorflow\/tfjs-node-gpu/);
});

test("forcing cpu and wasm switches tf's backend; the same seed gives the same numbers on both", async () => {
  const draw = () => tf.tidy(() => Array.from(tf.randomNormal([64], 0, 1, "float32", 1234).dataSync()));
  const cpu = await initBackend({ force: "cpu", quiet: true });
  assert.equal(cpu.name, "cpu");
  assert.equal(tf.getBackend(), "cpu");
  const onCpu = draw();
  const wasm = await initBackend({ force: "wasm", quiet: true });
  assert.equal(wasm.name, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.equal(backendInfo().name, "wasm");
  assert.deepEqual(draw(), onCpu);
});

test("SPURIOUS_BACKEND forces a backend by name", async () => {
  process.env.SPURIOUS_BACKEND = "cpu";
  try {
    assert.equal((await initBackend({ quiet: true })).name, "cpu");
    assert.equal(tf.getBackend(), "cpu");
  } finally {
    delete process.env.SPURIOUS_BACKEND;
  }
});
