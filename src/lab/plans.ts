/**
 * The experiments behind the figures, as named plans. A plan turns its knobs (defaults, or a
 * cell's overrides) into runs, each with the label its condition carries in figures. Notebooks,
 * `npm run sweep -- <plan>` and the tests all read these, so a figure and the sweep that computes
 * it never disagree about which runs it needs, and no figure guesses a condition from its settings.
 *
 * A study that varies GRPO settings around one configuration is a `grid` (a centre, axes varied one
 * at a time, optional pairs such as clip on/off run on the same seeds): one entry in PLAN_DEFS.
 */
import { SCALE_PRESETS, type ExperimentSpec, type Scale } from "./experiments";
import { getFamily, FAMILY_IDS, type FamilyId } from "../world/families";
import { ALGORITHM_NAMES, resolveGrpoConfig, type AlgorithmName, type GrpoConfig } from "../rl/grpo";
import type { Variant } from "../rl/datasets";
import type { World } from "../world/worlds";
import { choiceList, family, familyList, grpoSettings, numberList, resolveKnobs, seedList, type GrpoOverrides, type KnobOverrides, type KnobSet, type KnobValues } from "./knobs";

export type Spec = Partial<ExperimentSpec> & { family: string; reward: string };

/** A run of a plan and the name of its condition in figures (seeds of a condition share it). */
export interface PlannedRun {
  spec: Spec;
  label: string;
}

export interface PlanDef<S extends KnobSet = KnobSet> {
  about: string;
  knobs: S;
  runs(k: KnobValues<S>, scale: Scale): PlannedRun[];
  /** A plan defined at one scale (e.g. 200-step curves): its runs use it whatever the caller's, except smoke. */
  scale?: Scale;
  /** The worlds it was pre-registered and run in (default: every world). */
  worlds?: readonly World[];
}

function def<S extends KnobSet>(d: PlanDef<S>): PlanDef<S> {
  return d;
}

/** The rewards of Fig. 1, as the paper labels them. */
export const FIG1_REWARDS = [
  { id: "gt", label: "ground truth", reward: "math", variant: "gt" },
  { id: "mv", label: "majority vote", reward: "math", variant: "mv" },
  { id: "oneshot", label: "one-shot RL", reward: "math", variant: "oneshot" },
  { id: "incorrect", label: "incorrect label", reward: "math", variant: "incorrect" },
  { id: "format", label: "format", reward: "box_only_format", variant: "gt" },
  { id: "random", label: "random", reward: "random0.5", variant: "gt" },
] as const satisfies readonly { id: string; label: string; reward: string; variant: Variant }[];
const FIG1_IDS = FIG1_REWARDS.map((r) => r.id);

/** Seeds for comparisons that are differences between conditions (the paper's main contrast). */
export const SEEDS = [0, 1, 2];
/** Rewards whose gain is compared across seeds; the others run on the first seed only. */
const MULTI_SEED = new Set(["gt", "random"]);

export const GAMMAS = [0.7, 0.5, 0.3, 0.001, 0];

/** The GRPO settings a scale runs with before any override (ablations are defined relative to them). */
export function presetGrpo(scale: Scale): GrpoConfig {
  return resolveGrpoConfig(SCALE_PRESETS[scale].grpo);
}

/** The studies pre-registered and run in world 1, before world 2 existed: the batch-shape investigation and the regime study. */
const WORLD_1: readonly World[] = [1];

// ---------------------------------------------------------------------------------------------
// Grids: a centre and GRPO settings varied around it.

/** A point on an axis: GRPO overrides (may depend on the scale's preset) and its label. */
export interface GridPoint {
  label: string | ((g: GrpoConfig) => string);
  grpo: GrpoOverrides | ((g: GrpoConfig) => GrpoOverrides);
  /** The pairs this point runs under (default: all). A point that varies the clip has no
   *  unclipped arm of its own: without the clip its runs would be the centre's. */
  pairs?: readonly string[];
}

export interface GridDef {
  about: string;
  /** The worlds it was pre-registered and run in (default: every world). */
  worlds?: readonly World[];
  /** The centre: family, reward, variant; `label` names the centre's condition; `grpo` moves the
   *  centre away from the scale's preset (the knob `grpo` applies on top of it). */
  centre: { family: FamilyId; reward: string; variant?: Variant; label: GridPoint["label"]; grpo?: GridPoint["grpo"] };
  seeds: number[];
  /** Each axis: named points, varied one axis at a time with the others at the centre. An axis's
   *  knob lists the points to run, "centre" among them (default: all). */
  axes: Record<string, Record<string, GridPoint>>;
  /** Every point (the centre too) also runs under each of these, on the same seeds (paired). */
  pairs?: Record<string, GridPoint>;
}

const at = <T>(x: T | ((g: GrpoConfig) => T), g: GrpoConfig): T => (typeof x === "function" ? (x as (g: GrpoConfig) => T)(g) : x);

function gridKnobs(d: GridDef) {
  const axes: Record<string, ReturnType<typeof choiceList<string>>> = {};
  for (const [axis, points] of Object.entries(d.axes)) axes[axis] = choiceList(["centre", ...Object.keys(points)]);
  return {
    family: family(d.centre.family),
    seeds: seedList(d.seeds),
    /** GRPO settings of the centre (every point inherits them). */
    grpo: grpoSettings({}),
    ...(d.pairs ? { pairs: choiceList(Object.keys(d.pairs)) } : {}),
    ...axes,
  } as KnobSet;
}

/** The runs of a grid: centre, then each axis's points; × pairs; × seeds. Duplicates dropped. */
/** A grid's centre at a scale: its GRPO overrides (the centre's, then a cell's knob) and the resolved config. */
function gridCentre(centre: { grpo?: GridPoint["grpo"] }, scale: Scale, knob: GrpoOverrides = {}): { centreGrpo: GrpoOverrides; g0: GrpoConfig } {
  const centreGrpo = { ...at(centre.grpo ?? {}, presetGrpo(scale)), ...knob };
  return { centreGrpo, g0: resolveGrpoConfig({ ...SCALE_PRESETS[scale].grpo, ...centreGrpo }) };
}

function gridRuns(d: GridDef, k: Record<string, unknown>, scale: Scale, reward = d.centre.reward): PlannedRun[] {
  const { centreGrpo, g0 } = gridCentre(d.centre, scale, k.grpo as GrpoOverrides);
  const points: { label: string; grpo: GrpoOverrides; pairs?: readonly string[] }[] = [];
  for (const [axis, pts] of Object.entries(d.axes)) for (const id of k[axis] as string[]) {
    const p: GridPoint = id === "centre" ? { label: d.centre.label, grpo: {} } : pts[id];
    if (!points.some((q) => q.label === at(p.label, g0))) points.push({ label: at(p.label, g0), grpo: at(p.grpo, g0), pairs: p.pairs });
  }
  const pairs: [string, GridPoint][] | [null] = d.pairs ? (k.pairs as string[]).map((id) => [id, d.pairs![id]] as [string, GridPoint]) : [null];
  const out: PlannedRun[] = [];
  for (const p of points) for (const pair of pairs) {
    if (pair && p.pairs && !p.pairs.includes(pair[0])) continue;
    for (const seed of k.seeds as number[]) {
      const overrides = { ...centreGrpo, ...p.grpo, ...(pair ? at(pair[1].grpo, g0) : {}) };
      out.push({ spec: { family: k.family as string, reward, variant: d.centre.variant ?? "gt", seed, overrides }, label: pair ? `${p.label}, ${at(pair[1].label, g0)}` : p.label });
    }
  }
  return out;
}

export function grid(d: GridDef): PlanDef {
  return def({ about: d.about, knobs: gridKnobs(d), runs: (k, scale) => gridRuns(d, k, scale), worlds: d.worlds });
}

// ---------------------------------------------------------------------------------------------
// The paper's experiments.

/**
 * The three ways the paper removes clipping (Fig. 11), relative to a scale's batch sizes: in the
 * loss; one update per step (mini-batch = rollout batch); a rollout batch as small as a mini-batch.
 * At the default scale: {clip: false}, {miniBatchSize: 128}, {promptsPerStep: 2}.
 */
const CLIP_ABLATIONS: GridDef = {
  about: "random reward with the clip, and with the clip removed three ways (Figs. 11-13)",
  centre: { family: "qwen-math-7b", reward: "random0.5", label: "clipped (default)" },
  seeds: SEEDS,
  axes: {
    ablations: {
      "no-clip": { label: "no clip in the loss", grpo: { clip: false } },
      "one-update": { label: (g) => `mini-batch = rollout batch (${g.promptsPerStep * g.samplesPerPrompt}; 1 update/step)`, grpo: (g) => ({ miniBatchSize: g.promptsPerStep * g.samplesPerPrompt }) },
      "small-rollout": { label: (g) => `rollout batch = mini-batch (${g.miniBatchSize / g.samplesPerPrompt}x${g.samplesPerPrompt}; 1 update/step)`, grpo: (g) => ({ promptsPerStep: g.miniBatchSize / g.samplesPerPrompt }) },
    },
  },
};

const shapeLabel = (g: GrpoConfig) => `${g.promptsPerStep * g.samplesPerPrompt} rollouts/step, ${g.miniBatchSize} per update`;
/** The paper's rollout-batch shape: 8x the rollouts per step and per update, same 8 updates per step. */
const paperShape = (g: GrpoConfig): GrpoOverrides => ({ promptsPerStep: g.promptsPerStep * 4, samplesPerPrompt: g.samplesPerPrompt * 2, miniBatchSize: g.miniBatchSize * 8 });

/**
 * Random reward by rollout-batch shape, clip on and off on the same seeds. The `paper` shape alone
 * is the pre-registered investigation (data/investigations/README.md states its question and
 * prediction, committed before its runs); the centre is the shape the other figures use.
 */
const BATCH_SHAPE: GridDef = {
  about: "random reward at the figures' and at the paper's rollout-batch shape, clip on and off",
  worlds: WORLD_1,
  centre: { family: "qwen-math-7b", reward: "random0.5", label: shapeLabel },
  seeds: SEEDS,
  axes: { shapes: { paper: { label: (g) => shapeLabel(resolveGrpoConfig({ ...g, ...paperShape(g) })), grpo: paperShape } } },
  pairs: { clipped: { label: "clipped", grpo: {} }, "no-clip": { label: "no clip", grpo: { clip: false } } },
};
const batchShape = grid(BATCH_SHAPE);

/**
 * The regime study's stage 1 (pre-registered: data/investigations/README.md, "regime"): the random
 * reward at three learning rates with the same lr x steps budget (1e-4 x 60, 3e-5 x 200, 1e-5 x
 * 600 at the default scale; the smoke scale shrinks the steps in proportion), each clipped,
 * unclipped and with one update per step, paired by seed. Seeds 3-5 are added by the knob where
 * rule B reads a cell (src/lab/regime.ts).
 */
export const REGIME_LRS = [1e-4, 3e-5, 1e-5] as const;
/** The arms of every regime cell, as its runs are labelled ("<cell>, <arm>"): figures read these labels. */
export const REGIME_ARMS = { clipped: "clipped", unclipped: "no clip", oneUpdate: "one update per step" } as const;
const lrBudget = (lr: number): GridPoint => ({
  label: (g) => `lr ${lr} × ${Math.round((g.steps * g.lr) / lr)} steps`,
  grpo: (g) => ({ lr, steps: Math.round((g.steps * g.lr) / lr) }),
});
const REGIME_LR: GridDef = {
  about: "regime study, stage 1: random reward at lr 1e-4 x 60, 3e-5 x 200, 1e-5 x 600, clipped / unclipped / one update per step",
  worlds: WORLD_1,
  centre: { family: "qwen-math-7b", reward: "random0.5", label: (g) => `lr ${g.lr} × ${g.steps} steps` },
  seeds: SEEDS,
  axes: { lr: { "3e-5": lrBudget(3e-5), "1e-5": lrBudget(1e-5) } },
  pairs: {
    clipped: { label: REGIME_ARMS.clipped, grpo: {} },
    "no-clip": { label: REGIME_ARMS.unclipped, grpo: { clip: false } },
    "one-update": { label: REGIME_ARMS.oneUpdate, grpo: (g) => ({ miniBatchSize: g.promptsPerStep * g.samplesPerPrompt }) },
  },
};

/**
 * The regime study's stage 2 (pre-registered: data/investigations/README.md, "regime", stage 2):
 * one axis at a time around rule A's centre, lr 3e-5 at the same lr x steps budget (200 steps at the
 * default scale), each point clipped and unclipped on the same seeds. A plan per axis, so that a
 * sweep can run the cheap axes first and each axis lands on its own.
 */
export const REGIME_CENTRE_LR = 3e-5;
const REGIME_CENTRE = lrBudget(REGIME_CENTRE_LR);
const CLIP_PAIRS: Record<string, GridPoint> = {
  clipped: { label: REGIME_ARMS.clipped, grpo: {} },
  "no-clip": { label: REGIME_ARMS.unclipped, grpo: { clip: false } },
};
function stage2(about: string, axis: string, points: Record<string, GridPoint>, fam: FamilyId = "qwen-math-7b"): PlanDef {
  return grid({ about, worlds: WORLD_1, centre: { family: fam, reward: "random0.5", label: REGIME_CENTRE.label, grpo: REGIME_CENTRE.grpo }, seeds: SEEDS, axes: { [axis]: points }, pairs: CLIP_PAIRS });
}
/** The clip's points run clipped only: unclipped, each would be the centre's unclipped run again. */
const clipOnly = (label: string, grpo: GrpoOverrides): GridPoint => ({ label, grpo, pairs: ["clipped"] });

/** SGD's learning rates tried on ground truth (pre-registered); the chosen one is SGD_LR below. */
export const SGD_LRS = [0.01, 0.03, 0.1, 0.3, 1];
export const SGD_MOMENTUM = 0.9;
/**
 * Chosen in session 4 by the pre-registered rule (src/lab/regime.ts chooseSgdLr) from the step-10
 * test accuracy of the ground-truth runs only: Adam 97.8; SGD 0.01: 90.6, 0.03: 6.8, 0.1: 1.0, 0.3: 0,
 * 1: 0 (data/investigations/README.md records it). It is the grid's lowest lr, and its per-step KL to
 * the pre-step policy is ~20x Adam's: matched in ground-truth speed, not in step size.
 */
export const SGD_LR = 0.01;
/**
 * The second SGD point, pre-registered in session 4 because lr 0.01 matches Adam's speed but not its
 * step size: the lr among {0.001, 0.003} whose ground-truth mean per-step KL to the pre-step policy
 * over steps 1-10 is closest to Adam's (1.09e-3): 0.001 (1.32e-3) against 0.003 (3.51e-3).
 */
export const SGD_LR_MATCHED_KL = 0.001;

/** The centre's cell label at a scale (a clip point's unclipped arm is this cell's). */
export function regimeCentreLabel(scale: Scale): string {
  return at(REGIME_CENTRE.label, gridCentre(REGIME_CENTRE, scale).g0);
}

const REGIME_STAGE2 = {
  "regime-shape": stage2("regime study, stage 2: rollouts per update 16 (centre) and 128 (the paper's shape), clip on and off", "shape", {
    paper: { label: (g) => `lr ${g.lr} × ${g.steps} steps, ${shapeLabel(resolveGrpoConfig({ ...g, ...paperShape(g) }))}`, grpo: paperShape },
  }),
  "regime-clip": stage2("regime study, stage 2: the clip's side and width (low only, high only, ε = 0.05); unclipped arm = the centre's", "clip", {
    "low-only": clipOnly("clip low side only (ε_low 0.2, ε_high 0.999)", { epsLow: 0.2, epsHigh: 0.999 }),
    "high-only": clipOnly("clip high side only (ε_low 0.999, ε_high 0.2)", { epsLow: 0.999, epsHigh: 0.2 }),
    "eps-0.05": clipOnly("clip ε = 0.05", { epsLow: 0.05, epsHigh: 0.05 }),
  }),
  "regime-loss": stage2("regime study, stage 2: the paper's token-mean over packed micro-batches of 4 rows, clip on and off", "loss", {
    "token-mean": { label: "token-mean (packed groups of 4)", grpo: { lossAggregation: "token-mean", tokenMeanGroup: 4 } },
  }),
  "regime-optimizer": stage2("regime study, stage 2: SGD (momentum 0.9) at the lr matched to Adam's ground-truth speed and at the lr matched to its per-step KL, clip on and off", "optimizer", {
    sgd: { label: `SGD (momentum ${SGD_MOMENTUM}), lr ${SGD_LR}`, grpo: { optimizer: "sgd", momentum: SGD_MOMENTUM, lr: SGD_LR } },
    "sgd-matched-kl": { label: `SGD (momentum ${SGD_MOMENTUM}), lr ${SGD_LR_MATCHED_KL}, matched KL`, grpo: { optimizer: "sgd", momentum: SGD_MOMENTUM, lr: SGD_LR_MATCHED_KL } },
  }),
  "regime-control": stage2("regime study, stage 2: a family with no code (toy OLMo2-7B) at the centre and at the default lr 1e-4 x 60, clip on and off", "lr", { "1e-4": lrBudget(1e-4) }, "olmo-7b"),
  "regime-sgd-lr": def({
    about: "regime study, stage 2: choosing SGD's lr on ground truth only (Adam at the centre beside SGD with momentum 0.9 at each lr)",
    worlds: WORLD_1,
    knobs: { lrs: numberList(0, 10, SGD_LRS), seeds: seedList([0]) },
    runs: (k, scale) => {
      const centre = at(REGIME_CENTRE.grpo, presetGrpo(scale));
      const arms = [{ label: `Adam, lr ${REGIME_CENTRE_LR}`, grpo: centre }, ...k.lrs.map((lr) => ({ label: `SGD (momentum ${SGD_MOMENTUM}), lr ${lr}`, grpo: { ...centre, optimizer: "sgd" as const, momentum: SGD_MOMENTUM, lr } }))];
      return arms.flatMap((a) => k.seeds.map((seed) => ({ spec: { family: "qwen-math-7b", reward: "math", variant: "gt" as Variant, seed, overrides: a.grpo }, label: a.label })));
    },
  }),
};

/**
 * Seeds 3-5 of the cells rule B's screen sent to confirmation (pre-registered: a cell whose clipped
 * arm ends above the base in >= 2 of 3 seeds gets seeds 3-5 in both arms; data/investigations/README.md
 * records each): clip high side only (2 of 3, session 4) and, because a clip point's unclipped arm is
 * the centre's, the centre's unclipped seeds 3-5. The knob `seeds` replaces 3-5 (a smoke run's [0]).
 */
const REGIME_CONFIRM = [
  { plan: "regime-clip", knobs: { clip: ["high-only"] } },
  { plan: "regime-clip", knobs: { clip: ["centre"], pairs: ["no-clip"] } },
] as const satisfies readonly { plan: keyof typeof REGIME_STAGE2; knobs: object }[];
const regimeConfirm = def({
  about: "regime study: seeds 3-5 of the cells rule B's screen sent to confirmation (clip high side only, and the centre's unclipped arm it shares)",
  worlds: WORLD_1,
  knobs: { seeds: seedList([3, 4, 5]) },
  runs: (k, scale) => REGIME_CONFIRM.flatMap(({ plan: p, knobs }) => {
    const d = REGIME_STAGE2[p];
    return d.runs(resolveKnobs(`plan "${p}"`, d.knobs, { ...knobs, seeds: k.seeds }), scale);
  }),
});

/** Stage 2's axes on toy Qwen2.5-Math-7B: the cells rule B reads beside stage 1's. */
export const REGIME_AXIS_PLANS = ["regime-shape", "regime-clip", "regime-loss", "regime-optimizer"] as const;
/** Stage 2 as rule B reads it: the axes (seeds 0-2) and the confirmations (seeds 3-5). */
export const REGIME_STAGE2_PLANS = [...REGIME_AXIS_PLANS, "regime-confirm"] as const;

const rewardKnobs = (families: readonly FamilyId[]) => ({ families: familyList(families), rewards: choiceList(FIG1_IDS), seeds: seedList(SEEDS) });
function rewardRuns(k: KnobValues<ReturnType<typeof rewardKnobs>>): PlannedRun[] {
  const out: PlannedRun[] = [];
  for (const fam of k.families) for (const id of k.rewards) {
    const r = FIG1_REWARDS.find((x) => x.id === id)!;
    for (const seed of MULTI_SEED.has(id) ? k.seeds : k.seeds.slice(0, 1)) out.push({ spec: { family: fam, reward: r.reward, variant: r.variant, seed }, label: r.label });
  }
  return out;
}

const PYTHON = "contain_python_wo_backticks";
const NO_PYTHON = [
  { label: "format", reward: "box_only_format", variant: "gt" },
  { label: "incorrect label", reward: "math", variant: "incorrect" },
  { label: "format ∧ no python", reward: `box_only_format_AND_inverse_${PYTHON}`, variant: "gt" },
  { label: "incorrect label ∧ no python", reward: `math_AND_inverse_${PYTHON}`, variant: "incorrect" },
] as const;

const pythonReward = def({
  about: 'the "python" reward on every family (Fig. 8)',
  knobs: { families: familyList(), seeds: seedList([0]) },
  runs: (k) => k.families.flatMap((f) => k.seeds.map((seed) => ({ spec: { family: f, reward: PYTHON, variant: "gt" as Variant, seed }, label: getFamily(f).label }))),
});

const noPython = def({
  about: '"no python" compound rewards beside their originals (Fig. 9)',
  knobs: { families: familyList(["qwen-math-7b", "olmo-7b-sft"]), seeds: seedList([0]) },
  runs: (k) => k.families.flatMap((f) => NO_PYTHON.flatMap((r) => k.seeds.map((seed) => ({ spec: { family: f, reward: r.reward, variant: r.variant as Variant, seed }, label: r.label })))),
});

const gamma = def({
  about: "random rewards with probability γ of reward 1 (Fig. 10)",
  knobs: { family: family(), gamma: numberList(0, 1, GAMMAS), seeds: seedList([0]), grpo: grpoSettings() },
  runs: (k) => k.gamma.flatMap((g) => k.seeds.map((seed) => ({ spec: { family: k.family, reward: `random${g}`, variant: "gt" as Variant, seed, overrides: k.grpo }, label: `random (γ=${g})` }))),
});

const clipAblationKnobs: KnobSet = { ...gridKnobs(CLIP_ABLATIONS), gamma: numberList(0, 1, [0.5]), clip: grpoSettings({}, ["epsLow", "epsHigh"]) };
const clipAblations = def({
  about: CLIP_ABLATIONS.about,
  knobs: clipAblationKnobs,
  runs: (k, scale) => {
    const gammas = k.gamma as number[];
    const centre = { ...k, grpo: { ...(k.grpo as GrpoOverrides), ...(k.clip as GrpoOverrides) } };
    return gammas.flatMap((g) => gridRuns(CLIP_ABLATIONS, centre, scale, `random${g}`).map((r) => (gammas.length > 1 ? { ...r, label: `${r.label}, γ=${g}` } : r)));
  },
});

/**
 * Rewards over 200 steps by learning rate, in world 2 (issue 11, item 6), defined at the full scale
 * (200 steps, evaluation every 20). Two plans share it, each a pre-registered investigation
 * (data/investigations/README.md): `gt-200` is ground truth at lr 1e-4, 3e-5, 1e-5 ("v2-gt-lr", whose
 * spec list it reproduces together with session 6's lr-1e-4 curves); `random-200` is the random
 * reward beside ground truth at lr 3e-5 and 1e-5 ("v2-random-3e-5", "v2-random-1e-5").
 */
export const GT_CURVE_LRS = [1e-4, 3e-5, 1e-5];
const curves200 = (about: string, rewards: ("gt" | "random")[], lrs: number[]) => def({
  about,
  knobs: { families: familyList(["qwen-math-7b", "llama-8b-instruct"]), rewards: choiceList(["gt", "random"] as const, rewards), lrs: numberList(1e-7, 1e-2, lrs), seeds: seedList(SEEDS) },
  runs: (k) => k.families.flatMap((f) => k.rewards.flatMap((id) => {
    const r = FIG1_REWARDS.find((x) => x.id === id)!;
    return k.lrs.flatMap((lr) => k.seeds.map((seed) => ({ spec: { family: f, reward: r.reward, variant: r.variant as Variant, seed, overrides: { lr } }, label: k.rewards.length > 1 ? `${r.label}, lr ${lr}` : `lr ${lr}` })));
  })),
  scale: "full",
  worlds: [2],
});

/**
 * Beyond the paper (issue 12), world 2. `contamination`: the contaminated toy Qwen2.5-Math-7B beside
 * the clean one under ground truth, format and random, 3 seeds, each run also evaluated on `fresh`;
 * in the default regime and (`contamination-200`) at lr 1e-5 over 200 steps, where ground truth
 * gains in world 2 (v2-gt-lr). `algorithms`: the random reward under each named algorithm (grpo.ts's
 * ALGORITHMS; "grpo" is the paper's, i.e. the Fig. 1 runs). Pre-registered in
 * data/investigations/README.md (v2-contamination, v2-algorithms).
 */
export const CONTAMINATION_FAMILIES = ["qwen-math-7b", "qwen-math-7b-contaminated"] as const;
const CONTAMINATION_REWARDS = ["gt", "format", "random"] as const;
const contaminationPlan = (about: string, lr: number | null, scale?: Scale) => def({
  about,
  knobs: { families: choiceList(CONTAMINATION_FAMILIES), rewards: choiceList(CONTAMINATION_REWARDS), seeds: seedList(SEEDS) },
  runs: (k) => k.families.flatMap((f) => k.rewards.flatMap((id) => {
    const r = FIG1_REWARDS.find((x) => x.id === id)!;
    return k.seeds.map((seed) => ({ spec: { family: f, reward: r.reward, variant: r.variant as Variant, seed, fresh: true, ...(lr === null ? {} : { overrides: { lr } }) }, label: r.label }));
  })),
  ...(scale ? { scale } : {}),
  worlds: [2],
});

export const ALGORITHM_LABELS: Record<AlgorithmName, string> = {
  grpo: "GRPO (paper)", reinforce: "REINFORCE, group-mean baseline", rloo: "RLOO", "dr-grpo": "Dr. GRPO", "clip-higher": "clip-higher (ε_high 0.28)",
};
const algorithms = def({
  about: "the random reward under other policy-gradient algorithms: REINFORCE, RLOO, Dr. GRPO, clip-higher beside GRPO (world 2; pre-registered: v2-algorithms)",
  knobs: { families: familyList(["qwen-math-7b", "llama-8b-instruct"]), algorithms: choiceList(ALGORITHM_NAMES), seeds: seedList(SEEDS) },
  runs: (k) => k.families.flatMap((f) => k.algorithms.flatMap((a) => k.seeds.map((seed) => ({
    spec: { family: f, reward: "random0.5", variant: "gt" as Variant, seed, ...(a === "grpo" ? {} : { overrides: { algorithm: a } }) }, label: ALGORITHM_LABELS[a],
  })))),
  worlds: [2],
});

/** Several plans' default runs as one (the sweep's historical names; a notebook's runs). */
function union(about: string, parts: PlanDef[]): PlanDef<{}> {
  return def({ about, knobs: {}, runs: (_k, scale) => parts.flatMap((p) => p.runs(resolveKnobs("", p.knobs), scale)) });
}

const rewards = def({ about: "the six Fig. 1 rewards on every family (Figs. 1-4)", knobs: rewardKnobs(FAMILY_IDS), runs: rewardRuns });

/** Every plan by name. Names are what cells and `npm run sweep -- <plan>` use. */
export const PLAN_DEFS = {
  rewards,
  "code-reasoning": def({ about: "the Fig. 1 rewards on the code-capable families (Figs. 6-7, Table 2)", knobs: rewardKnobs(["qwen-math-7b", "qwen-math-1.5b", "qwen-7b"]), runs: rewardRuns }),
  "gt-200": curves200("ground truth over 200 steps at lr 1e-4, 3e-5, 1e-5 (world 2; pre-registered: v2-gt-lr)", ["gt"], GT_CURVE_LRS),
  "random-200": curves200("random beside ground truth over 200 steps at lr 3e-5 and 1e-5 (world 2; pre-registered: v2-random-3e-5, v2-random-1e-5)", ["gt", "random"], [3e-5, 1e-5]),
  contamination: contaminationPlan("the contaminated toy Qwen2.5-Math-7B beside the clean one: ground truth, format, random; test and fresh (world 2; pre-registered: v2-contamination)", null),
  "contamination-200": contaminationPlan("the same at lr 1e-5 over 200 steps, where ground truth gains (world 2; pre-registered: v2-contamination)", 1e-5, "full"),
  algorithms,
  "python-reward": pythonReward,
  "no-python": noPython,
  gamma,
  "clip-ablations": clipAblations,
  "batch-shape": batchShape,
  "regime-lr": grid(REGIME_LR),
  ...REGIME_STAGE2,
  "regime-confirm": regimeConfirm,
  interventions: union("python reward and no-python compounds (everything notebook 04 shows)", [pythonReward, noPython]),
  clipping: union("the γ sweep and the clip ablations", [gamma, clipAblations]),
  investigations: def({
    about: "pre-registered: random reward at the paper's batch shape, clip on and off (data/investigations/)",
    worlds: WORLD_1,
    knobs: {},
    runs: (_k, scale) => batchShape.runs(resolveKnobs("", batchShape.knobs, { shapes: ["paper"] }), scale),
  }),
} satisfies Record<string, PlanDef<any>>; // eslint-disable-line @typescript-eslint/no-explicit-any

export type PlanName = keyof typeof PLAN_DEFS;
export const PLANS = Object.keys(PLAN_DEFS) as PlanName[];
export type PlanKnobs<P extends PlanName> = KnobOverrides<(typeof PLAN_DEFS)[P]["knobs"]>;

/**
 * The worlds a plan's runs exist in (its def's `worlds`): a study pre-registered and run in one world
 * (the batch-shape investigation and the regime study in world 1, before world 2 existed; the
 * 200-step curves in world 2); null for a plan of every world.
 */
export function planWorlds(name: PlanName): readonly World[] | null {
  return (PLAN_DEFS[name] as PlanDef).worlds ?? null;
}

/** Why a plan has no runs in a world (a study of other worlds only), or null when it has: what notebooks, sweeps and figures say. */
export function planNotInWorld(name: PlanName, world: World): string | null {
  const worlds = planWorlds(name);
  return worlds && !worlds.includes(world) ? `plan ${name} is a study of world ${worlds.join(", ")} only (set WORLD = ${worlds[0]} to see it)` : null;
}

export function isPlanName(name: string): name is PlanName {
  return Object.prototype.hasOwnProperty.call(PLAN_DEFS, name);
}

/** A plan's runs at a scale, its knobs resolved against the overrides (errors name the knob). */
export function plannedRuns(name: string, scale: Scale = "default", overrides: object = {}): PlannedRun[] {
  if (!isPlanName(name)) throw new Error(`unknown plan "${name}"; valid: ${PLANS.join(", ")}`);
  const d = PLAN_DEFS[name] as PlanDef;
  const k = resolveKnobs(`plan "${name}"`, d.knobs, overrides);
  const at = d.scale && scale !== "smoke" ? d.scale : scale;
  return d.runs(k, at).map((r) => ({ ...r, spec: { ...r.spec, scale: at } }));
}

/** The specs of a plan at a scale. */
export function plan(name: string, scale: Scale = "default", overrides: object = {}): Spec[] {
  return plannedRuns(name, scale, overrides).map((r) => r.spec);
}
