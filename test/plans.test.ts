import { test } from "node:test";
import assert from "node:assert/strict";
import { grid, plan, plannedRuns, planWorlds, PLANS, SEEDS, type Spec } from "../src/lab/plans";
import * as fs from "node:fs";
import * as path from "node:path";
import { resolveSpec, runName } from "../src/lab/experiments";
import { ROOT } from "../src/util/paths";
import { estimateMinutes, notebookMode, sweepCommand } from "../src/figures/notebook";
import { resolveKnobs, numberList } from "../src/lab/knobs";

test("every plan resolves at every scale (a bad spec would fail here, not in a notebook)", () => {
  for (const p of PLANS) for (const scale of ["smoke", "default", "full"] as const) {
    const specs = plan(p, scale);
    assert.ok(specs.length > 0);
    // the 200-step plans are defined at the full scale and keep it, except at the smoke scale
    const expected = ["gt-200", "random-200", "contamination-200"].includes(p) && scale === "default" ? "full" : scale;
    // a plan of some worlds only resolves in them (the contaminated family exists in world 2 only)
    const world = planWorlds(p)?.[0];
    for (const s of specs) assert.equal(resolveSpec({ ...s, ...(world ? { world } : {}) }).scale, expected, `${p} at ${scale}`);
  }
  assert.throws(() => plan("fig99"), /unknown plan "fig99"; valid: rewards/);
});

test("clip ablations remove the clip three ways, relative to the scale's batches, and carry their labels", () => {
  const d = plannedRuns("clip-ablations", "default", { seeds: [0] });
  assert.deepEqual(d.map((r) => r.label), ["clipped (default)", "no clip in the loss", "mini-batch = rollout batch (128; 1 update/step)", "rollout batch = mini-batch (2x8; 1 update/step)"]);
  const g = d.map((r) => resolveSpec(r.spec).grpo);
  assert.deepEqual(g.map((x) => x.clip), [true, false, true, true]);
  assert.deepEqual(g.map((x) => (x.promptsPerStep * x.samplesPerPrompt) / x.miniBatchSize), [8, 8, 1, 1]);
  const s = plannedRuns("clip-ablations", "smoke", { seeds: [0] });
  assert.deepEqual(s.map((r) => resolveSpec(r.spec).grpo).map((x) => (x.promptsPerStep * x.samplesPerPrompt) / x.miniBatchSize), [2, 2, 1, 1]);
  assert.equal(s[3].label, "rollout batch = mini-batch (2x4; 1 update/step)");
});

test("a cell's knobs select and change runs: the issue's example", () => {
  const runs = plannedRuns("clip-ablations", "default", { gamma: [0.7, 0.3], clip: { epsLow: 0.1 }, ablations: ["centre", "no-clip"], seeds: [1] });
  assert.deepEqual(runs.map((r) => [r.spec.reward, r.label]), [
    ["random0.7", "clipped (default), γ=0.7"], ["random0.7", "no clip in the loss, γ=0.7"],
    ["random0.3", "clipped (default), γ=0.3"], ["random0.3", "no clip in the loss, γ=0.3"],
  ]);
  for (const r of runs) assert.equal(resolveSpec(r.spec).grpo.epsLow, 0.1);
  assert.deepEqual(runs.map((r) => resolveSpec(r.spec).grpo.clip), [true, false, true, false]);
  assert.deepEqual(plan("rewards", "default", { families: ["olmo-7b"], rewards: ["gt", "format"], seeds: [4, 5] }).map((s) => `${s.reward}/${s.variant}/${s.seed}`), ["math/gt/4", "math/gt/5", "box_only_format/gt/4"]);
});

test("bad knobs: the error names the knob and its valid range, before any run", () => {
  assert.throws(() => plan("gamma", "default", { gama: [0.3] }), /plan "gamma" has no knob "gama"; valid knobs: family \(one of: qwen-math-7b, .*gamma \(a non-empty list of distinct numbers in \[0, 1\]\)/);
  assert.throws(() => plan("gamma", "default", { gamma: [0.3, 1.5] }), /plan "gamma": knob "gamma" must be a non-empty list of distinct numbers in \[0, 1\]; got \[0.3,1.5\]/);
  assert.throws(() => plan("gamma", "default", { gamma: [] }), /knob "gamma" must be a non-empty list/);
  assert.throws(() => plan("clip-ablations", "default", { clip: { epsLow: 1.5 } }), /knob "clip" must be an object of GRPO settings \(epsLow, epsHigh\); got \{"epsLow":1.5\} \(GRPO setting epsLow must be in \[0, 1\), got 1.5\)/);
  assert.throws(() => plan("clip-ablations", "default", { clip: { lr: 1 } }), /knob "clip" .*"lr" is not one of epsLow, epsHigh/);
  assert.throws(() => plan("gamma", "default", { grpo: { lr: -1 } }), /knob "grpo" .*GRPO setting lr must be > 0, got -1/);
  assert.throws(() => plan("rewards", "default", { families: ["gpt-5"] }), /knob "families" must be a non-empty list from: qwen-math-7b/);
  assert.throws(() => plan("rewards", "default", { seeds: [1, 1] }), /knob "seeds" must be a non-empty list of distinct integers >= 0; got \[1,1\] \(it repeats a value\)/);
  assert.throws(() => plan("clip-ablations", "default", { ablations: ["no-clip", "nope"] }), /knob "ablations" must be a non-empty list from: centre, no-clip, one-update, small-rollout/);
  assert.throws(() => plan("investigations", "default", { seeds: [0] }), /plan "investigations" has no knob "seeds"; valid knobs: none/);
  assert.deepEqual(resolveKnobs("t", { x: numberList(0, 2, [1]) }), { x: [1] });
});

test("a grid is one entry: centre, axes one at a time, pairs on the same seeds", () => {
  const g = grid({
    about: "t", centre: { family: "qwen-math-7b", reward: "random0.5", label: "centre" }, seeds: [0, 1],
    axes: { lr: { low: { label: "lr 3e-5", grpo: { lr: 3e-5 } }, high: { label: "lr 3e-4", grpo: { lr: 3e-4 } } }, shape: { wide: { label: (p) => `P=${p.promptsPerStep * 2}`, grpo: (p) => ({ promptsPerStep: p.promptsPerStep * 2 }) } } },
    pairs: { on: { label: "clip", grpo: {} }, off: { label: "no clip", grpo: { clip: false } } },
  });
  const k = resolveKnobs("grid", g.knobs, { lr: ["centre", "high"], grpo: { epsHigh: 0.3 } });
  const runs = g.runs(k, "default");
  // centre (from lr; shape's centre is the same point), lr high, shape wide; x 2 pairs x 2 seeds
  assert.deepEqual([...new Set(runs.map((r) => r.label))], ["centre, clip", "centre, no clip", "lr 3e-4, clip", "lr 3e-4, no clip", "P=32, clip", "P=32, no clip"]);
  assert.equal(runs.length, 12);
  const wideOff = runs.find((r) => r.label === "P=32, no clip" && r.spec.seed === 1)!;
  assert.deepEqual(wideOff.spec.overrides, { epsHigh: 0.3, promptsPerStep: 32, clip: false });
  assert.throws(() => resolveKnobs("grid", g.knobs, { lr: ["mid"] }), /knob "lr" must be a non-empty list from: centre, low, high/);
});

test("the investigations plan runs exactly the pre-registered specs, at the paper's batch shape", () => {
  const registered = JSON.parse(fs.readFileSync(path.join(ROOT, "data/investigations/paper-batch.json"), "utf8"));
  const names = (specs: Spec[]) => specs.map((s) => runName(resolveSpec({ scale: "default", ...s }))).sort();
  assert.deepEqual(names(plan("investigations")), names(registered));
  const g = resolveSpec(plan("investigations")[0]).grpo;
  assert.deepEqual([g.promptsPerStep * g.samplesPerPrompt, g.miniBatchSize], [1024, 128]);
});

test("gt-200 is the pre-registered v2-gt-lr spec list plus the lr-1e-4 curves, at the full scale whatever the caller's (smoke stays smoke)", () => {
  const registered: Spec[] = JSON.parse(fs.readFileSync(path.join(ROOT, "data/investigations/v2-gt-lr.json"), "utf8"));
  const names = (specs: Spec[]) => specs.map((s) => runName(resolveSpec({ world: 2, ...s }))).sort();
  const planned = plan("gt-200", "default").map((s) => ({ ...s, world: 2 as const }));
  assert.ok(planned.every((s) => s.scale === "full"));
  const lr1e4 = planned.filter((s) => (s.overrides as { lr: number }).lr === 1e-4);
  assert.deepEqual(names(planned.filter((s) => !lr1e4.includes(s))), names(registered));
  // lr 1e-4 is the full scale's default: the same runs as session 6's curves, stored without an lr override.
  assert.deepEqual(names(lr1e4), names(lr1e4.map((s) => ({ ...s, overrides: {} }))));
  assert.ok(plan("gt-200", "smoke").every((s) => s.scale === "smoke"));
  assert.equal(resolveSpec(planned[0]).grpo.steps, 200);
  // random-200 is the grids of v2-random-3e-5 and v2-random-1e-5 (random, with ground truth beside it)
  const random = plan("random-200", "default");
  assert.deepEqual([...new Set(random.map((s) => `${s.family} ${s.reward} ${(s.overrides as { lr: number }).lr}`))].sort(), ["llama-8b-instruct math 0.00001", "llama-8b-instruct math 0.00003", "llama-8b-instruct random0.5 0.00001", "llama-8b-instruct random0.5 0.00003", "qwen-math-7b math 0.00001", "qwen-math-7b math 0.00003", "qwen-math-7b random0.5 0.00001", "qwen-math-7b random0.5 0.00003"]);
});

test("the regime study's stage 1 runs exactly the pre-registered spec list, paired by seed at the same lr x steps budget", () => {
  const registered = JSON.parse(fs.readFileSync(path.join(ROOT, "data/investigations/regime-lr.json"), "utf8"));
  const names = (specs: Spec[]) => specs.map((s) => runName(resolveSpec({ scale: "default", ...s }))).sort();
  assert.deepEqual(names(plan("regime-lr")), names(registered));
  const g = plan("regime-lr").map((s) => resolveSpec(s).grpo);
  assert.deepEqual([...new Set(g.map((x) => x.lr * x.steps))].map((b) => b.toFixed(6)), ["0.006000"]);
  assert.deepEqual(g.map((x) => (x.promptsPerStep * x.samplesPerPrompt) / x.miniBatchSize).filter((u) => u === 1).length, 9);
  assert.equal(g.filter((x) => !x.clip).length, 9);
  // the smoke scale keeps the budget's proportions in a few steps
  assert.deepEqual([...new Set(plan("regime-lr", "smoke").map((s) => resolveSpec(s).grpo.steps))], [2, 7, 20]);
});

test("stage 2 of the regime study varies one axis around rule A's centre, sharing the centre's stored runs", () => {
  const names = (specs: Spec[]) => new Set(specs.map((s) => runName(resolveSpec(s))));
  const centre = new Set(plannedRuns("regime-lr").filter((r) => /^lr 0\.00003 × 200 steps, (clipped|no clip)$/.test(r.label)).map((r) => runName(resolveSpec(r.spec))));
  assert.equal(centre.size, 6);
  for (const p of ["regime-shape", "regime-clip", "regime-loss"]) {
    const runs = plannedRuns(p);
    for (const n of centre) assert.ok(names(runs.map((r) => r.spec)).has(n), `${p} lacks the centre's ${n}`);
    // paired by seed: every clipped point's seeds
    assert.deepEqual([...new Set(runs.map((r) => r.spec.seed))], [0, 1, 2]);
  }
  // the clip's points run clipped only: the unclipped arm is the centre's
  const clip = plannedRuns("regime-clip").map((r) => ({ ...r, g: resolveSpec(r.spec).grpo }));
  assert.equal(clip.filter((r) => !r.g.clip).length, 3);
  assert.deepEqual(clip.filter((r) => r.g.clip).map((r) => `${r.g.epsLow}/${r.g.epsHigh}`).sort(), ["0.05/0.05", "0.05/0.05", "0.05/0.05", "0.2/0.2", "0.2/0.2", "0.2/0.2", "0.2/0.999", "0.2/0.999", "0.2/0.999", "0.999/0.2", "0.999/0.2", "0.999/0.2"]);
  // the paper's shape: 1,024 rollouts per step, 128 per update, still 8 updates per step
  const paper = plannedRuns("regime-shape").map((r) => resolveSpec(r.spec).grpo).filter((g) => g.promptsPerStep * g.samplesPerPrompt === 1024);
  assert.equal(paper.length, 6);
  assert.ok(paper.every((g) => g.miniBatchSize === 128 && g.lr === 3e-5 && g.steps === 200));
  assert.equal(plannedRuns("regime-loss").filter((r) => resolveSpec(r.spec).grpo.lossAggregation === "token-mean" && resolveSpec(r.spec).grpo.tokenMeanGroup === 4).length, 6);
  // the control's default point is the stored Fig. 1 random runs of toy OLMo2-7B
  const control = plannedRuns("regime-control");
  const fig1 = names(plan("rewards", "default", { families: ["olmo-7b"], rewards: ["random"] }));
  assert.deepEqual([...names(control.filter((r) => r.label === "lr 0.0001 × 60 steps, clipped").map((r) => r.spec))].sort(), [...fig1].sort());
  assert.ok(control.every((r) => r.spec.family === "olmo-7b"));
  // SGD's lr is chosen on ground truth only: no random-reward run in that plan
  const sgd = plannedRuns("regime-sgd-lr").map((r) => resolveSpec(r.spec));
  assert.ok(sgd.every((s) => s.reward === "math" && s.variant === "gt" && s.grpo.steps === 200));
  assert.deepEqual(sgd.map((s) => `${s.grpo.optimizer} ${s.grpo.lr}`), ["adam 0.00003", "sgd 0.01", "sgd 0.03", "sgd 0.1", "sgd 0.3", "sgd 1"]);
  // the optimizer axis: SGD at the speed-matched and the KL-matched lr, same steps, clip on and off on the centre's seeds
  const opt = plannedRuns("regime-optimizer").map((r) => resolveSpec(r.spec).grpo).filter((g) => g.optimizer === "sgd");
  const arms = (lr: number) => [true, false].flatMap((clip) => [0, 1, 2].map(() => `${lr} 0.9 200 ${clip}`));
  assert.deepEqual(opt.map((g) => `${g.lr} ${g.momentum} ${g.steps} ${g.clip}`), [...arms(0.01), ...arms(0.001)]);
});

test("the shipped plans resolve to the same runs as before the registry (stored results stay valid)", () => {
  const names = (p: string) => new Set(plan(p).map((s) => runName(resolveSpec(s))));
  const union = new Set(["rewards", "code-reasoning", "interventions", "clipping", "investigations"].flatMap((p) => [...names(p)]));
  assert.equal(union.size, 89);
  // every plan's default runs are among them: the figures need no new run
  // (the regime study's plans are new runs, pre-registered on their own: see the next test)
  // (gt-200 is world 2's, pre-registered on its own: tested above)
  // (world 2's studies, pre-registered on their own, are left out: they are not world 1's runs)
  for (const p of PLANS.filter((x) => !x.startsWith("regime") && (planWorlds(x) ?? [1]).includes(1))) for (const n of names(p)) assert.ok(union.has(n), `${p}: ${n}`);
  // the γ sweep reuses the clipped seed-0 run of the ablations
  assert.ok([...names("gamma")].some((n) => names("clip-ablations").has(n)));
});

test("time estimate and the sweep command a cell prints", () => {
  const d = resolveSpec({ family: "qwen-math-7b", reward: "random0.5" });
  // 8 evaluations of 500 problems (12 s each at 1.5 s per 500) + hard avg@8 on 200 (40 s) + 60 steps x 1.8 s
  assert.equal(estimateMinutes(d), (12 + 40 + 108) / 60);
  const paper = resolveSpec({ family: "qwen-math-7b", reward: "random0.5", overrides: { promptsPerStep: 64, samplesPerPrompt: 16, miniBatchSize: 128 } });
  assert.equal(estimateMinutes(paper), (12 + 40 + 60 * 14.4) / 60);
  assert.equal(sweepCommand("gamma", { gamma: [0.7, 0.3] }, "default"), `npm run sweep -- 'gamma={"gamma":[0.7,0.3]}'`);
  assert.equal(sweepCommand("rewards", {}, "smoke"), "npm run sweep -- rewards --scale smoke");
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
    assert.deepEqual([notebookMode(true).kind, notebookMode(true).scale, notebookMode(true).maxMinutes], ["recompute", "default", 15]);
    assert.equal(notebookMode(true, { maxMinutes: 2 }).maxMinutes, 2);
    assert.throws(() => notebookMode(true, { maxMinutes: -1 }), /MAX_MINUTES must be a number >= 0, got -1/);
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

test("a cell's GRPO knobs are validated together: settings that need each other are accepted, a lone one is named", () => {
  const sgd = plannedRuns("regime-lr", "default", { grpo: { optimizer: "sgd", momentum: 0.9, lr: 0.1 } });
  assert.ok(sgd.every((p) => resolveSpec(p.spec).grpo.optimizer === "sgd"));
  assert.equal(plannedRuns("regime-lr", "default", { grpo: { lossAggregation: "token-mean", tokenMeanGroup: 4 } }).length, 27);
  assert.throws(() => plannedRuns("regime-lr", "default", { grpo: { momentum: 0.9 } }), /knob "grpo".*momentum applies to optimizer "sgd" only/);
  assert.throws(() => plannedRuns("regime-lr", "default", { grpo: { epsHigh: 1.5 } }), /epsHigh must be in \[0, 1\)/);
});
