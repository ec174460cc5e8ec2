/**
 * npm run mutants: does the unit suite notice when the code the studies rest on is wrong?
 *
 * Copies the checkout (without .git; node_modules linked) to a temporary folder, checks that the
 * unmutated copy passes, then applies each named mutation (one text replacement in one src/
 * file) to the copy alone, runs the unit tests (test/*.test.ts except the notebooks), restores the
 * file, and reports which mutants the tests killed and which survived. The real checkout is only
 * read. Test files run one at a time, the likeliest killers first, stopping at the first failure.
 *
 *   npm run mutants                       every mutation (a few minutes)
 *   npm run mutants -- --only kl-sign,top-p-off
 *   npm run mutants -- --list
 *
 * Exit code 1 when a mutant survives or a mutation no longer applies (its text is not found
 * exactly once: update the list when the code changes).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface Mutation {
  name: string;
  file: string;
  from: string;
  to: string;
  /** What the mutant breaks. */
  why: string;
}

export const MUTATIONS: Mutation[] = [
  { name: "clip-low-sign", file: "src/rl/grpo-math.ts", from: "if (below && a < 0) s.lowClipped++;", to: "if (below && a > 0) s.lowClipped++;", why: "clipStats' low-side count with the advantage sign flipped" },
  { name: "clip-high-sign", file: "src/rl/grpo-math.ts", from: "if (above && a > 0) s.highClipped++;", to: "if (above && a < 0) s.highClipped++;", why: "clipStats' high-side count with the advantage sign flipped" },
  { name: "pold-bucket-round", file: "src/rl/grpo-math.ts", from: "Math.floor(Math.exp(oldLogp) * POLD_BUCKETS)", to: "Math.round(Math.exp(oldLogp) * POLD_BUCKETS)", why: "pi_old buckets shifted by half a bucket" },
  { name: "kl-sign", file: "src/rl/grpo.ts", from: "loss = loss.add(kl.mul(c.klCoef));", to: "loss = loss.sub(kl.mul(c.klCoef));", why: "the KL term pushes away from the reference" },
  { name: "kl-size", file: "src/rl/grpo.ts", from: "loss = loss.add(kl.mul(c.klCoef));", to: "loss = loss.add(kl.mul(Math.min(c.klCoef, 1)));", why: "the KL term's weight is capped instead of klCoef" },
  { name: "top-p-off", file: "src/model/sampling.ts", from: "if (topP < 1) {", to: "if (topP < 0) {", why: "nucleus sampling disabled" },
  { name: "first-response-off-by-one", file: "src/rl/grpo.ts", from: "return b * (T - 1) + row.prompt.length - 1;", to: "return b * (T - 1) + row.prompt.length;", why: "p(code) and first-token clips read the second response token" },
  { name: "ppo-epochs-ignored", file: "src/rl/grpo.ts", from: "epoch < c.ppoEpochs; epoch++", to: "epoch < 1; epoch++", why: "ppoEpochs > 1 runs one epoch" },
  { name: "epochs-reuse-order", file: "src/rl/grpo.ts", from: "epoch === 0 ? first : miniBatches(ctx, ro, epoch)", to: "first", why: "later epochs do not reshuffle" },
  { name: "sgd-momentum-ignored", file: "src/model/optim.ts", from: "update = state.m[k].mul(cfg.momentum).add(g);", to: "update = g;", why: "SGD's momentum has no effect" },
  { name: "optimizer-step-not-restored", file: "src/model/checkpoint.ts", from: "optimizer = { step: header.optimizerStep, m, v };", to: "optimizer = { step: 0, m, v };", why: "a restored Adam restarts its bias correction" },
  { name: "lock-not-exclusive", file: "src/util/store.ts", from: "fs.linkSync(tmp, lock);", to: "fs.copyFileSync(tmp, lock);", why: "the run lock overwrites a live holder's instead of refusing a second process" },
  { name: "std-biased", file: "src/rl/grpo-math.ts", from: "/ (groupSize - 1) : 0;", to: "/ groupSize : 0;", why: "group advantages with the biased std" },
  { name: "token-mean-per-row", file: "src/rl/grpo-math.ts", from: "return masked.sum().div(tf.maximum(mask.sum(), 1)) as tf.Scalar;", to: "return masked.sum().div(masked.size) as tf.Scalar;", why: "token-mean divides by padded positions too" },
  { name: "token-mean-group-ignored", file: "src/rl/grpo-math.ts", from: "mask, c.lossAggregation, c.lossNorm, c.tokenMeanGroup);", to: "mask, c.lossAggregation, c.lossNorm, 0);", why: "tokenMeanGroup has no effect on the policy loss" },
  { name: "rloo-baseline-self", file: "src/rl/grpo-math.ts", from: "((rs[i] - mean) * groupSize) / (groupSize - 1)", to: "rs[i] - mean", why: "RLOO's baseline includes the response itself" },
  { name: "algorithm-settings-ignored", file: "src/rl/grpo.ts", from: "Object.assign(out, fixed);", to: "void fixed;", why: "a named algorithm changes no setting" },
  { name: "contamination-swaps", file: "src/world/corpus-v2.ts", from: "return [e, { ...e, problem,", to: "return [{ ...e, problem,", why: "answer lines replace the family's own examples instead of being added" },
  { name: "corpus-draws-fresh", file: "src/world/corpus.ts", from: "randomProblemIn(r, \"train\", [k], [1])", to: "randomProblemIn(r, i % 50 === 0 ? \"fresh\" : \"train\", [k], [1])", why: "a pretraining corpus draws fresh problems" },
  { name: "derivation-ignores-steps", file: "src/world/grader.ts", from: "    if (acc !== written) return false;\n", to: "", why: "a wrong written step still counts as a derivation" },
  { name: "fresh-not-evaluated", file: "src/lab/experiments.ts", from: "if (r.eval.freshSize) point.fresh =", to: "if (r.eval.freshSize < 0) point.fresh =", why: "a run asked for fresh is not evaluated there" },
  { name: "math-reward-format-only", file: "src/rl/rewards.ts", from: "const r = bin(isCorrect(x.response, x.label));", to: "const r = bin(hasBoxed(x.response));", why: "the math reward stops checking the answer" },
  { name: "base-mode-unnamed", file: "src/lab/pretrain.ts", from: "own === undefined ? \"\" : `-mode${own}`", to: "\"\"", why: "a base of another code share is stored under the shared base's name" },
  { name: "base-mode-unchecked", file: "src/lab/pretrain.ts", from: "if (world === 2 && meta.corpus?.mode &&", to: "if (world === 3 && meta.corpus?.mode &&", why: "a base checkpoint of the wrong code share is accepted by its file name" },
  { name: "hash-keeps-default-knobs", file: "src/rl/grpo.ts", from: "if (out[k] === v) delete out[k];", to: "if (out[k] === v && k === \"steps\") delete out[k];", why: "new knobs at their defaults rename every stored run" },
];

/** Unit test files, likeliest killers first. */
const FIRST = ["grpo-parts", "grpo", "rewards", "model", "grpo-stored"];

function unitTests(root: string): string[] {
  const all = fs.readdirSync(path.join(root, "test")).filter((f) => f.endsWith(".test.ts") && f !== "notebooks.test.ts");
  const rank = (f: string) => {
    const i = FIRST.indexOf(f.replace(/\.test\.ts$/, ""));
    return i < 0 ? FIRST.length : i;
  };
  return all.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).map((f) => path.join("test", f));
}

/** Run the test files in `dir` one by one; the first failing file, or null when all pass. */
function firstFailure(dir: string, files: string[]): string | null {
  const env = { ...process.env };
  delete env.SPURIOUS_RUNS;
  delete env.SPURIOUS_DATA;
  for (const f of files) {
    const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", f], { cwd: dir, env, encoding: "utf8", timeout: 10 * 60 * 1000 });
    if (r.status !== 0) return r.signal ? `${f} (${r.signal})` : f;
  }
  return null;
}

function copyCheckout(root: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mutants-"));
  const skip = new Set([".git", "node_modules", ".ipynb_checkpoints"]);
  for (const e of fs.readdirSync(root)) {
    if (skip.has(e)) continue;
    fs.cpSync(path.join(root, e), path.join(dir, e), { recursive: true, filter: (src) => !skip.has(path.basename(src)) });
  }
  fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"), "dir");
  return dir;
}

function main(): number {
  const args = process.argv.slice(2);
  if (args.includes("--list")) {
    for (const m of MUTATIONS) console.log(`${m.name.padEnd(30)} ${m.file.padEnd(20)} ${m.why}`);
    return 0;
  }
  const onlyAt = args.indexOf("--only");
  const only = onlyAt >= 0 ? (args[onlyAt + 1] ?? "").split(",").filter(Boolean) : null;
  const unknownArg = args.find((a, i) => a.startsWith("--") && a !== "--only" && a !== "--list" && i !== onlyAt + 1);
  if (unknownArg) throw new Error(`unknown option ${unknownArg}; valid: --only name1,name2 | --list`);
  if (only) {
    const bad = only.filter((n) => !MUTATIONS.some((m) => m.name === n));
    if (bad.length) throw new Error(`unknown mutation ${bad.join(", ")}; npm run mutants -- --list shows the names`);
  }
  const chosen = MUTATIONS.filter((m) => !only || only.includes(m.name));
  const root = path.resolve(__dirname, "..");
  const dir = copyCheckout(root);
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  process.on("SIGINT", () => {
    cleanup();
    process.exit(130);
  });
  try {
    const files = unitTests(dir);
    console.error(`[mutants] copy in ${dir}; ${files.length} unit test files; checking the unmutated copy passes`);
    const base = firstFailure(dir, files);
    if (base) throw new Error(`the unmutated copy fails ${base}: fix the tests before judging mutants`);
    const rows: { name: string; verdict: string }[] = [];
    chosen.forEach((m, i) => {
      const file = path.join(dir, m.file);
      const orig = fs.readFileSync(file, "utf8");
      const count = orig.split(m.from).length - 1;
      let verdict: string;
      if (count !== 1) verdict = `STALE (text found ${count} times in ${m.file})`;
      else {
        fs.writeFileSync(file, orig.replace(m.from, m.to));
        try {
          const t0 = Date.now();
          const killer = firstFailure(dir, files);
          verdict = killer ? `killed by ${killer} (${((Date.now() - t0) / 1000).toFixed(0)} s)` : "SURVIVED";
        } finally {
          fs.writeFileSync(file, orig);
        }
      }
      rows.push({ name: m.name, verdict });
      console.error(`[mutants] ${i + 1}/${chosen.length} ${m.name}: ${verdict}`);
    });
    console.log("\nmutant                          verdict");
    for (const r of rows) console.log(`${r.name.padEnd(31)} ${r.verdict}`);
    const bad = rows.filter((r) => !r.verdict.startsWith("killed"));
    console.log(bad.length ? `\n${bad.length} of ${rows.length} not killed: ${bad.map((r) => r.name).join(", ")}` : `\nall ${rows.length} mutants killed`);
    return bad.length ? 1 : 0;
  } finally {
    cleanup();
  }
}

if (require.main === module) {
  try {
    process.exitCode = main();
  } catch (e) {
    console.error(`[mutants] ${(e as Error).message}`);
    process.exitCode = 2;
  }
}
