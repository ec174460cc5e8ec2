import { test } from "node:test";
import assert from "node:assert/strict";
import { clipAblations, plan, PLANS, SEEDS, type Spec } from "../src/plans";
import * as fs from "node:fs";
import * as path from "node:path";
import { resolveSpec, runName } from "../src/experiments";
import { ROOT } from "../src/paths";
import { notebookMode } from "../src/notebook";

test("every plan resolves at every scale (a bad spec would fail here, not in a notebook)", () => {
  for (const p of PLANS) for (const scale of ["smoke", "default", "full"] as const) {
    const specs = plan(p, scale);
    assert.ok(specs.length > 0);
    for (const s of specs) assert.equal(resolveSpec(s).scale, scale);
  }
  assert.throws(() => plan("fig99"), /unknown plan "fig99"; valid: rewards/);
});

test("clip ablations remove the clip three ways, relative to the scale's batches", () => {
  const d = clipAblations("default").map((a) => resolveSpec({ family: "qwen-math-7b", reward: "random0.5", overrides: a.overrides }).grpo);
  assert.deepEqual(d.map((g) => g.clip), [true, false, true, true]);
  const updates = d.map((g) => (g.promptsPerStep * g.samplesPerPrompt) / g.miniBatchSize);
  assert.deepEqual(updates, [8, 8, 1, 1]);
  const s = clipAblations("smoke").map((a) => resolveSpec({ family: "qwen-math-7b", reward: "random0.5", scale: "smoke", overrides: a.overrides }).grpo);
  assert.deepEqual(s.map((g) => (g.promptsPerStep * g.samplesPerPrompt) / g.miniBatchSize), [2, 2, 1, 1]);
});

test("the investigations plan runs exactly the pre-registered specs, at the paper's batch shape", () => {
  const registered = JSON.parse(fs.readFileSync(path.join(ROOT, "data/investigations/paper-batch.json"), "utf8"));
  const names = (specs: Spec[]) => specs.map((s) => runName(resolveSpec({ scale: "default", ...s }))).sort();
  assert.deepEqual(names(plan("investigations")), names(registered));
  const g = resolveSpec(plan("investigations")[0]).grpo;
  assert.deepEqual([g.promptsPerStep * g.samplesPerPrompt, g.miniBatchSize], [1024, 128]);
});

test("rewards plan: ground truth and random with every seed, the other rewards with one", () => {
  const specs = plan("rewards").filter((s) => s.family === "qwen-math-7b");
  assert.equal(specs.filter((s) => s.reward === "math" && s.variant === "gt").length, SEEDS.length);
  assert.equal(specs.filter((s) => s.reward === "random0.5").length, SEEDS.length);
  assert.equal(specs.filter((s) => s.variant === "mv").length, 1);
});

test("notebook mode: stored by default, recompute on request, smoke only with a temporary store", () => {
  const saved = { scale: process.env.SPURIOUS_NOTEBOOK_SCALE, runs: process.env.SPURIOUS_RUNS };
  try {
    delete process.env.SPURIOUS_NOTEBOOK_SCALE;
    assert.deepEqual([notebookMode(false).kind, notebookMode(false).compute], ["stored", false]);
    assert.deepEqual([notebookMode(true).kind, notebookMode(true).scale], ["recompute", "default"]);
    assert.throws(() => notebookMode("yes" as unknown as boolean), /RECOMPUTE must be true or false/);
    process.env.SPURIOUS_NOTEBOOK_SCALE = "smoke";
    delete process.env.SPURIOUS_RUNS;
    assert.throws(() => notebookMode(false), /needs SPURIOUS_RUNS/);
    process.env.SPURIOUS_RUNS = "/tmp/x";
    assert.equal(notebookMode(false).scale, "smoke");
    process.env.SPURIOUS_NOTEBOOK_SCALE = "big";
    assert.throws(() => notebookMode(false), /must be "smoke" or unset/);
  } finally {
    if (saved.scale === undefined) delete process.env.SPURIOUS_NOTEBOOK_SCALE;
    else process.env.SPURIOUS_NOTEBOOK_SCALE = saved.scale;
    if (saved.runs === undefined) delete process.env.SPURIOUS_RUNS;
    else process.env.SPURIOUS_RUNS = saved.runs;
  }
});
