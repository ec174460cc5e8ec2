// The command-line tools reject bad input before any compute, with an error that names the problem.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { parseFlags } from "../src/cli/args";
import { parseSet } from "../src/cli/experiment-args";

const root = path.resolve(__dirname, "..");
function cli(script: string, args: string[]) {
  const r = spawnSync(process.execPath, [path.join(root, "node_modules/tsx/dist/cli.mjs"), path.join(root, "src/cli", script), ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, err: r.stderr };
}

test("flag parsing: unknown flags, missing values and malformed numbers name the flag", () => {
  const specs = { seed: { type: "int" as const, help: "" }, scale: { type: "string" as const, help: "", choices: ["smoke", "default"] } };
  assert.deepEqual(parseFlags(["--seed", "3", "--scale=smoke"], specs, "u"), { seed: 3, scale: "smoke" });
  assert.throws(() => parseFlags(["--seed", "3x"], specs, "u"), /flag --seed needs an integer, got "3x"/);
  assert.throws(() => parseFlags(["--seed", "1.5"], specs, "u"), /flag --seed needs an integer/);
  assert.throws(() => parseFlags(["--sede", "1"], specs, "u"), /unknown flag --sede; valid flags: --seed, --scale/);
  assert.throws(() => parseFlags(["--seed"], specs, "u"), /flag --seed needs a value/);
  assert.throws(() => parseFlags(["--scale", "huge"], specs, "u"), /flag --scale: "huge" is not one of smoke, default/);
});

test("--set: typed by the GRPO config, unknown keys and wrong types named", () => {
  assert.deepEqual(parseSet(["lr=3e-5", "clip=false", "lossAggregation=token-mean"]), { lr: 3e-5, clip: false, lossAggregation: "token-mean" });
  assert.throws(() => parseSet(["lrr=1"]), /--set lrr: unknown setting/);
  assert.throws(() => parseSet(["lr=fast"]), /--set lr: needs a number, got "fast"/);
  assert.throws(() => parseSet(["clip=no"]), /--set clip: needs true or false/);
  assert.throws(() => parseSet(["lr"]), /--set needs key=value/);
});

test("experiment CLI: bad family, reward, variant and sizes are rejected before any compute", () => {
  let r = cli("experiment.ts", ["--family", "gpt-9", "--reward", "math"]);
  assert.equal(r.code, 1);
  assert.match(r.err, /unknown family "gpt-9"; valid ids: qwen-math-7b/);
  r = cli("experiment.ts", ["--family", "qwen-math-7b", "--reward", "accuracy"]);
  assert.match(r.err, /unknown reward "accuracy"/);
  r = cli("experiment.ts", ["--family", "qwen-math-7b", "--reward", "math", "--set", "miniBatchSize=24"]);
  assert.match(r.err, /miniBatchSize 24 does not divide the rollout batch/);
  r = cli("experiment.ts", ["--family", "qwen-math-7b", "--reward", "math", "--set", "promptsPerStep=0"]);
  assert.match(r.err, /promptsPerStep must be a positive integer/);
  r = cli("experiment.ts", ["--family", "qwen-math-7b", "--reward", "math", "--variant", "best"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /flag --variant: "best" is not one of gt, mv, incorrect, oneshot/);
});

test("eval and pretrain CLIs: unknown family lists the valid ids; malformed numbers name the flag", () => {
  let r = cli("eval.ts", ["--family", "mistral"]);
  assert.match(r.err, /unknown family "mistral"; valid ids: qwen-math-7b, qwen-math-1.5b, qwen-7b, olmo-7b-sft, olmo-7b, llama-8b-instruct/);
  r = cli("eval.ts", ["--family", "qwen-7b", "--hard-k", "eight"]);
  assert.match(r.err, /flag --hard-k needs an integer, got "eight"/);
  r = cli("pretrain.ts", ["--family", "qwen-7b", "--steps", "-5"]);
  assert.match(r.err, /--steps must be >= 1/);
});
