// World 2's capacity measurement (calibration plan step 2) and the commands around it: `calibrate
// --world 2` on a throwaway base in a temp folder, its clear error when the base is missing, and
// `pretrain --family <id> --world 2` continuing a family from its v2 base with its v2 corpus.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setup } from "./helpers";
import { familyCapacity, measureCapacity } from "../src/lab/capacity";
import { evaluateGreedy } from "../src/lab/evaluate";
import { firstStepPrefix, probeForcedSize } from "../src/lab/step-probe";
import { loadCheckpoint, readCheckpointHeader } from "../src/model/checkpoint";
import { disposeParams } from "../src/model/model";
import { predictTableV2 } from "../src/world/calibration-v2";
import { FAMILY_CORPORA_V2, getFamilyV2 } from "../src/world/families-v2";
import { budgetedBase } from "../src/lab/pretrain";
import { getSplit } from "../src/world/problems";
import { ROOT } from "../src/util/paths";
import { MODES } from "../src/world/traces";
import { FAMILY_IDS } from "../src/world/families";

const root = path.resolve(__dirname, "..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "spurious-capacity-"));

function cli(script: string, args: string[], data: string) {
  const r = spawnSync(process.execPath, [path.join(root, "node_modules/tsx/dist/cli.mjs"), path.join(root, "src/cli", script), ...args], { encoding: "utf8", timeout: 300_000, env: { ...process.env, SPURIOUS_DATA: data } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

before(setup);
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test("the capacity table: one cell per (mode, size <= ops, ops), its accuracy the graded free-running answers", () => {
  // world 1's shipped base-d64 (read only): it knows one-operation steps, and two-operation language steps ~70% of the time
  const { params, header } = loadCheckpoint(path.join(ROOT, "data", "checkpoints", "base-d64.ckpt"));
  const config = header.config;
  try {
    const problems = getSplit("test").slice(0, 24);
    const k3 = problems.filter((p) => p.ops.length === 3).length;
    assert.ok(k3 > 0 && k3 < 24, "both operation counts among the first 24");
    const cells = measureCapacity(params, config, problems);
    for (const mode of MODES) {
      const mine = cells.filter((c) => c.mode === mode);
      assert.deepEqual(mine.map((c) => `${c.size}/${c.ops}`), ["1/2", "1/3", "2/2", "2/3", "3/3"]);
      assert.deepEqual(mine.map((c) => c.n), [24 - k3, k3, 24 - k3, k3, k3]);
    }
    const cell = (mode: string, size: number, ops: number) => cells.find((c) => c.mode === mode && c.size === size && c.ops === ops)!;
    // what world 1's base was trained on it computes; a two-operation code statement it never saw
    for (const mode of MODES) assert.ok(cell(mode, 1, 3).accuracy > 90 && cell(mode, 1, 3).firstStep > 90, `${mode} one-operation steps: ${JSON.stringify(cell(mode, 1, 3))}`);
    assert.ok(cell("language", 2, 2).firstStep > cell("code", 2, 2).firstStep, "two-operation steps: language (trained) above code (never seen)");
    // the same numbers through the evaluation path: greedy with each problem's first step forced, graded
    const two = problems.filter((p) => p.ops.length === 2);
    const viaEval = evaluateGreedy(params, config, two, { prefixes: two.map((p) => firstStepPrefix(p, "language", 2).prefix) }).summary.accuracy;
    assert.equal(cell("language", 2, 2).accuracy, viaEval);
    assert.ok(viaEval > 0 && viaEval < 100, `a cell between 0 and 100 (${viaEval}), so the comparison says something`);
    // every response starts with its forced first step; a size above a problem's operations leaves it out
    const traces = probeForcedSize(params, config, problems, "code", 3);
    assert.equal(traces.length, k3);
    for (const t of traces) assert.equal(t.first.truth, t.problem.answer, "a three-operation step on a three-operation problem is the whole problem");
    // a table with both operation counts is enough to predict a family's row
    const p = predictTableV2(FAMILY_CORPORA_V2["qwen-math-7b"].corpus, { cells });
    assert.ok(p.accuracy >= 0 && p.accuracy <= 100);
  } finally {
    disposeParams(params);
  }
});

test("calibrate --world 2 without a v2 base: an error naming the pretrain command; pretrain --family --world 2 then calibrate on a throwaway base", async () => {
  const data = path.join(dir, "data");
  fs.mkdirSync(data);
  let r = cli("calibrate.ts", ["--world", "2", "--base", "base-d64"], data);
  assert.equal(r.code, 1);
  assert.match(r.err, /world 2's shared base is not pretrained yet \(.*world2\/base-d64\.ckpt\); pretrain it first: npm run pretrain -- --base base-d64 --world 2/);
  // a family of world 2: its base (1 step) first, then the family (1 step), from its v2 corpus, saying it is uncalibrated
  r = cli("pretrain.ts", ["--family", "olmo-7b", "--world", "2", "--base-steps", "1", "--steps", "1"], data);
  assert.equal(r.code, 0, r.err);
  const olmo = getFamilyV2("olmo-7b");
  // the warning follows the spec: a calibration pass says so, a calibrated family does not
  assert.equal(/olmo-7b's world-2 corpus is NOT calibrated yet/.test(r.err), !olmo.calibrated);
  assert.match(r.err, new RegExp(`olmo-7b from its base at 1 steps, not its spec's ${olmo.baseSteps}: a calibration experiment`));
  const ck = path.join(data, "checkpoints", "world2", "olmo-7b.ckpt");
  const header = readCheckpointHeader(ck);
  assert.equal(header.world, 2);
  assert.deepEqual(header.meta.corpus, FAMILY_CORPORA_V2["olmo-7b"].corpus);
  // a base at a pretraining budget other than the default is its own checkpoint
  assert.equal(header.meta.parent, path.join(data, "checkpoints", "world2", "base-d64-1steps.ckpt"));
  assert.throws(() => loadCheckpoint(ck, { world: 1 }), /belongs to world 2/);
  assert.ok(!fs.existsSync(path.join(data, "checkpoints", "olmo-7b.ckpt")), "nothing written in world 1's folder");
  // a family whose base writes code at another rate (baseMode, toy OLMo2-7B-SFT's lineage) gets that base: its own checkpoint
  const sft = getFamilyV2("olmo-7b-sft");
  r = cli("pretrain.ts", ["--family", "olmo-7b-sft", "--world", "2", "--base-steps", "1", "--steps", "1"], data);
  assert.equal(r.code, 0, r.err);
  const sftBase = path.join(data, "checkpoints", "world2", "base-d48-1steps-mode-3.ckpt");
  assert.equal(readCheckpointHeader(path.join(data, "checkpoints", "world2", "olmo-7b-sft.ckpt")).meta.parent, sftBase);
  assert.deepEqual((readCheckpointHeader(sftBase).meta.corpus as { mode: unknown }).mode, { mean: -3, topicSpread: 0, operandSpread: 0 });
  assert.ok(!fs.existsSync(path.join(data, "checkpoints", "world2", "base-d48-1steps.ckpt")), "the shared base at that budget is not what it continues from");
  r = cli("pretrain.ts", ["--base", "base-d48", "--base-steps", "1", "--base-mode", "-3"], data);
  assert.equal(r.code, 2);
  assert.match(r.err, /a base's mode \(--base-mode\) is a world-2 knob; add --world 2/);
  // the capacity of that base on a few problems: printed, fitted, not stored
  r = cli("calibrate.ts", ["--world", "2", "--problems", "12", "--json", "--base-steps", "1"], data);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /world 2's base-d48 @ 1 steps is not pretrained yet: its families are skipped \(npm run pretrain -- --base base-d48 --world 2 --base-steps 1\)/);
  assert.match(r.out, /^base-d64, pretrained 1 steps \(world 2/m);
  const json = JSON.parse(r.out.trim().split("\n").at(-1)!);
  assert.equal(json.capacity.length, 1);
  assert.equal(json.capacity[0].problems, 12);
  assert.equal(json.capacity[0].cells.length, 10);
  // a budget other than the families' own: every family is fitted on it, none with a second pass
  assert.deepEqual(json.fits.map((x: { family: string }) => x.family), [...FAMILY_IDS]);
  assert.ok(json.fits.every((x: { base: string; baseSteps: number }) => x.base === "base-d64" && x.baseSteps === 1));
  assert.equal(json.fits.find((x: { family: string }) => x.family === "olmo-7b").calibrated, getFamilyV2("olmo-7b").calibrated);
  assert.match(r.out, /^fits on base-d64 @ 1 steps:/m);
  assert.match(r.out, new RegExp(`olmo-7b +mode .*\\[its own base is base-d64 @ ${getFamilyV2("olmo-7b").baseSteps} steps: no 2nd pass\\]`));
  assert.ok(!fs.existsSync(path.join(data, "calibration")), "a smoke measurement is not stored");
  // by default each family is fitted on its own base at its own budget: none of them is pretrained here
  r = cli("calibrate.ts", ["--world", "2", "--problems", "12"], data);
  assert.equal(r.code, 1);
  const own = FAMILY_IDS.map((id) => budgetedBase(getFamilyV2(id).base, getFamilyV2(id).baseSteps, getFamilyV2(id).baseMode)).filter((b, i, all) => all.indexOf(b) === i);
  assert.ok(r.err.includes(`world 2's shared bases are not pretrained yet (${own.map((b) => path.join(data, "checkpoints", "world2", `${b}.ckpt`)).join(", ")}); pretrain them first: `), r.err);
  const first = getFamilyV2(FAMILY_IDS[0]);
  assert.ok(r.err.includes(`npm run pretrain -- --base ${first.base} --world 2 --base-steps ${first.baseSteps} ; `), r.err);
  // toy OLMo2-7B-SFT's own base is named with its mode, and so is the command that makes it
  assert.ok(r.err.includes(`npm run pretrain -- --base base-d48 --world 2 --base-steps ${sft.baseSteps} --base-mode -3`), r.err);
  // --base-mode measures a base of that code share (here the 1-step one pretrained above) and fits every family on it
  r = cli("calibrate.ts", ["--world", "2", "--base", "base-d48", "--base-steps", "1", "--base-mode", "-3", "--problems", "12", "--json"], data);
  assert.equal(r.code, 0, r.err);
  const modeJson = JSON.parse(r.out.trim().split("\n").pop()!);
  assert.deepEqual([modeJson.capacity[0].base, modeJson.capacity[0].steps, modeJson.capacity[0].mode], ["base-d48", 1, -3]);
  assert.ok(modeJson.fits.every((x: { baseMode: number }) => x.baseMode === -3));
  // a base whose file name says one mode and whose corpus another is refused, naming both
  fs.copyFileSync(sftBase, path.join(data, "checkpoints", "world2", "base-d48-1steps-mode-2.ckpt"));
  r = cli("calibrate.ts", ["--world", "2", "--base", "base-d48", "--base-steps", "1", "--base-mode", "-2", "--problems", "12"], data);
  assert.equal(r.code, 1);
  assert.match(r.err, /base-d48-1steps-mode-2\.ckpt was pretrained with code at logit -3, not -2 \(its base mode\); move it away and pretrain it again: npm run pretrain -- --base base-d48 --world 2 --base-steps 1 --base-mode -2/);
  // a family's own capacity table (its continued pretraining is more practice): named by family and parent, a smoke one not stored
  const saved = process.env.SPURIOUS_DATA;
  process.env.SPURIOUS_DATA = data;
  try {
    const own = await familyCapacity("olmo-7b", { world: 2, problems: 6, quiet: true });
    assert.equal(own.family, "olmo-7b");
    assert.equal(own.parent, "base-d64-1steps.ckpt");
    assert.equal(own.steps, 1, "its base's budget, read from the parent's header");
    assert.equal(own.cells.length, 10);
    await assert.rejects(familyCapacity("qwen-7b", { world: 2 }), /no world-2 qwen-7b checkpoint .*; pretrain it first: npm run pretrain -- --family qwen-7b --world 2/);
  } finally {
    if (saved === undefined) delete process.env.SPURIOUS_DATA;
    else process.env.SPURIOUS_DATA = saved;
  }
  assert.ok(!fs.existsSync(path.join(data, "calibration")), "a smoke measurement is not stored");
  // a stored base is checked to be the budget asked for: never silently another one
  const w2 = path.join(data, "checkpoints", "world2");
  fs.copyFileSync(path.join(w2, "base-d64-1steps.ckpt"), path.join(w2, "base-d64.ckpt"));
  r = cli("pretrain.ts", ["--base", "base-d64", "--world", "2"], data);
  assert.equal(r.code, 1);
  assert.match(r.err, /base-d64\.ckpt was pretrained for 1 steps, not 4000; move it away to retrain/);
  // ... and so is a stored family: its name does not carry its base's budget
  r = cli("pretrain.ts", ["--family", "olmo-7b", "--world", "2"], data);
  assert.equal(r.code, 1);
  assert.match(r.err, new RegExp(`olmo-7b\\.ckpt exists but was pretrained from .*base-d64-1steps\\.ckpt, not .*base-d64-${getFamilyV2("olmo-7b").baseSteps}steps\\.ckpt; move it away`));
});
