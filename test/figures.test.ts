import { test } from "node:test";
import assert from "node:assert/strict";
import { conditions, pooledContributions, smooth, std, steered, stepCurve, transitions } from "../src/lab/analysis";
import { gainBarFigure, gainRows, transitionRows, conditionCurves, rewardLabel } from "../src/figures/figures-runs";
import { table1Rows, forcedPythonRows } from "../src/figures/figures-base";
import { markdownTable } from "../src/figures/tables";
import { resolveSpec, type RunResult } from "../src/lab/experiments";
import type { BaseModelReport } from "../src/lab/basemodels";
import type { EvalSummary } from "../src/lab/evaluate";

const summary = (accuracy: number, codeFrequency: number): EvalSummary => ({ n: 4, accuracy, codeFrequency, accuracyCode: null, accuracyLanguage: null, boxedRate: 100, nCode: 0, nLanguage: 0 });

/** A small fixed run: evals at steps 0 and 10, per-problem records over 4 problems. */
function run(family: string, reward: string, seed: number, acc: [number, number], code0: string, code1: string, ok0: string, ok1: string): RunResult {
  const spec = resolveSpec({ family, reward, seed, scale: "smoke" });
  return {
    format: 1, name: `${family}-${reward}-${seed}`, spec, checkpointSha: "x", codeVersion: "x", backend: "cpu", status: "complete",
    metrics: [], evals: [{ step: 0, test: summary(acc[0], 50) }, { step: 10, test: summary(acc[1], 75) }],
    records: { initial: { step: 0, code: code0, correct: ok0, answers: [], examples: [] }, final: { step: 10, code: code1, correct: ok1, answers: [], examples: [] } },
    host: "h", wallSeconds: 1,
  };
}

const runs = [
  run("qwen-math-7b", "math", 0, [50, 75], "1100", "1110", "1000", "1110"),
  run("qwen-math-7b", "math", 1, [50, 65], "1100", "1100", "1000", "1100"),
  run("qwen-math-7b", "random0.5", 0, [50, 55], "1100", "1111", "1000", "1010"),
];

test("analysis helpers: sample std, trailing smoothing", () => {
  assert.equal(std([1, 3]), Math.SQRT2);
  assert.equal(std([5]), 0);
  assert.deepEqual(smooth([0, 2, 4, 6], 2), [0, 1, 3, 5]);
});

test("conditions pool seeds: gain mean and std", () => {
  const c = conditions(runs);
  assert.equal(c.length, 2);
  const gt = c.find((x) => x.reward === "math")!;
  assert.equal(gt.gainMean, 20);
  assert.equal(gt.gainStd, Math.sqrt(50));
  assert.deepEqual(gt.seeds, [0, 1]);
  const rows = gainRows(runs);
  assert.deepEqual(rows[0], { model: "toy Qwen2.5-Math-7B", reward: "ground truth", "base acc.": 50, "final acc.": 70, "gain (mean)": 20, "gain (std)": 7.1, seeds: "0 1", "final code %": 75 });
});

test("steered runs: code frequency moved by at least 5 points and a net gain (the paper's summary set)", () => {
  const t = (codeBefore: number, codeAfter: number, net: number) => ({ ...transitions(runs[0]), codeBefore, codeAfter, net });
  const picked = steered([t(50, 75, 2), t(50, 54, 3), t(50, 40, 1), t(50, 80, 0), t(60, 55, 1)]);
  assert.deepEqual(picked.map((x) => [x.codeBefore, x.codeAfter, x.net]), [[50, 75, 2], [50, 40, 1], [60, 55, 1]]);
  assert.equal(steered([t(50, 53, 2)], 3).length, 1);
  // on the fixture: run 0 moved code 50 -> 75 and gained; run 1 did not move code
  assert.equal(steered(runs.slice(0, 2).map(transitions)).length, 1);
});

test("transitions and partial contribution scores, by hand", () => {
  // problems: 0 Code->Code ok->ok, 1 Code->Code wrong->ok, 2 Lang->Code wrong->ok, 3 Lang->Lang wrong->wrong
  const t = transitions(runs[0]);
  assert.deepEqual(t.counts, { "Code→Code": 2, "Code→Lang": 0, "Lang→Code": 1, "Lang→Lang": 1 });
  assert.equal(t.netGain, 50);
  assert.equal(t.contribution["Code→Code"], 50);
  assert.equal(t.contribution["Lang→Code"], 50);
  assert.equal(t.contribution["Lang→Lang"], 0);
  assert.equal(t.accBefore["Code→Code"], 50);
  assert.equal(t.accAfter["Code→Code"], 100);
  assert.equal(t.accBefore["Code→Lang"], null);
  assert.equal(t.codeBefore, 50);
  assert.equal(t.codeAfter, 75);
  const pooled = pooledContributions([t, transitions(runs[1])]);
  // run 1: problem 1 Code->Code wrong->ok (+1); net over both runs = 2 + 1
  assert.equal(pooled["Code→Code"], (100 * 2) / 3);
  assert.equal(pooled["Lang→Code"], 100 / 3);
  const rows = transitionRows([runs[0]]);
  assert.equal(rows[0]["Lang→Code C%"], 50);
});

test("Fig. 1 builder: one bar series per reward, gains and error bars from seeds, gaps for missing runs", () => {
  const fig = gainBarFigure(runs, ["qwen-math-7b", "llama-8b-instruct"]);
  assert.equal(fig.data.length, 6);
  const gt = fig.data.find((d) => d.name === "ground truth")!;
  assert.deepEqual(gt.y, [20, null]);
  assert.deepEqual((gt.error_y as { array: unknown[] }).array, [7.1, null]);
  assert.deepEqual(fig.data.find((d) => d.name === "random")!.y, [5, null]);
  assert.match(JSON.stringify(fig.layout), /toy families/);
});

test("step curves average the seeds that logged a metric (older runs lack some)", () => {
  const withMetrics = (r: RunResult, codeProb: (number | undefined)[]) => ({ ...r, metrics: codeProb.map((c) => ({ codeProb: c }) as unknown as RunResult["metrics"][number]) });
  const c = stepCurve([withMetrics(runs[2], [0.2, 0.4]), withMetrics(runs[2], [undefined, undefined])], (m) => m.codeProb, 1);
  assert.deepEqual(c.mean, [0.2, 0.4]);
  assert.ok(Number.isNaN(stepCurve([withMetrics(runs[2], [undefined])], (m) => m.codeProb, 1).mean[0]));
});

test("curves: mean over seeds at each evaluation step", () => {
  const fig = conditionCurves(runs, (e) => e.test.accuracy, { title: "t", yTitle: "y" });
  assert.deepEqual(fig.data[0].x, [0, 10]);
  assert.deepEqual(fig.data[0].y, [50, 70]);
  assert.equal(fig.data[0].name, "ground truth (2 seeds)");
  assert.equal(rewardLabel("random0.001", "gt"), "random (γ=0.001)");
  assert.equal(rewardLabel("box_only_format_AND_inverse_contain_python_wo_backticks", "gt"), "format ∧ no python");
});

test("Table 1 and Table 3 builders put ours beside the paper's", () => {
  const rep: BaseModelReport = { family: "qwen-math-7b", label: "toy Qwen2.5-Math-7B", checkpointSha: "x", backend: "cpu", test: { ...summary(49.44, 65.04), accuracyCode: 60.91, accuracyLanguage: 35.02, nCode: 325, nLanguage: 175 }, hard: summary(20, 60), forcedPython: summary(64.4, 100), examples: [], seconds: 1 };
  const row = table1Rows([rep])[0];
  assert.equal(row["code freq. (ours)"], 65);
  assert.equal(row["code freq. (paper)"], 65);
  assert.equal(row["acc. code (ours)"], 60.9);
  assert.equal(row["acc. language (paper)"], 35);
  const t3 = forcedPythonRows([rep], { "qwen-math-7b": [49.4, 64.4] })[0];
  assert.equal(t3["change (ours)"], 15);
  assert.equal(t3["change (paper)"], 15);
});

test("markdown tables: header, separator, dashes for missing cells, escaped pipes", () => {
  assert.equal(markdownTable([{ a: 1, b: null }, { a: "x|y", b: 2.5 }]), "| a | b |\n|---|---|\n| 1 | – |\n| x\\|y | 2.5 |");
  assert.equal(markdownTable([]), "(no rows)");
});
