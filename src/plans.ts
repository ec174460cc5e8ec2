/**
 * The experiments behind each notebook, as named plans: one list of specs that the notebook reads
 * and `npm run sweep -- <plan>` computes. Keeping them here (not in the notebooks) means the
 * sweep and the figures can never disagree about which runs a figure needs.
 */
import { SCALE_PRESETS, type ExperimentSpec, type Scale } from "./experiments";
import { resolveGrpoConfig } from "./grpo";
import type { Variant } from "./datasets";
import { FAMILY_IDS, type FamilyId } from "./families";

export type Spec = Partial<ExperimentSpec> & { family: string; reward: string };

/** The rewards of Fig. 1, as the paper labels them. */
export const FIG1_REWARDS: { label: string; reward: string; variant: Variant }[] = [
  { label: "ground truth", reward: "math", variant: "gt" },
  { label: "majority vote", reward: "math", variant: "mv" },
  { label: "one-shot RL", reward: "math", variant: "oneshot" },
  { label: "incorrect label", reward: "math", variant: "incorrect" },
  { label: "format", reward: "box_only_format", variant: "gt" },
  { label: "random", reward: "random0.5", variant: "gt" },
];

/** Seeds for comparisons that are differences between conditions (the paper's main contrast). */
export const SEEDS = [0, 1, 2];
/** Rewards whose gain is compared across seeds. */
const MULTI_SEED = new Set(["math/gt", "random0.5/gt"]);

export const GAMMAS = [0.7, 0.5, 0.3, 0.001, 0];

/** The GRPO settings a scale runs with before any override (ablations are defined relative to them). */
function presetGrpo(scale: Scale) {
  return resolveGrpoConfig(SCALE_PRESETS[scale].grpo);
}

/**
 * The three ways the paper removes clipping (Fig. 11), relative to a scale's batch sizes: in the
 * loss; one update per step (mini-batch = rollout batch); a rollout batch as small as a mini-batch.
 * At the default scale: {clip: false}, {miniBatchSize: 128}, {promptsPerStep: 2}.
 */
export function clipAblations(scale: Scale): { label: string; overrides: ExperimentSpec["overrides"] }[] {
  const g = presetGrpo(scale);
  return [
    { label: "clipped (default)", overrides: {} },
    { label: "no clip in the loss", overrides: { clip: false } },
    { label: "mini-batch = rollout batch (1 update/step)", overrides: { miniBatchSize: g.promptsPerStep * g.samplesPerPrompt } },
    { label: "rollout batch = mini-batch", overrides: { promptsPerStep: g.miniBatchSize / g.samplesPerPrompt } },
  ];
}

/**
 * Pre-registered investigations (data/investigations/README.md states each question and prediction,
 * committed before its runs). `paper-batch`: the random reward with the paper's rollout-batch shape,
 * 8x the rollouts per step and per update at the same 8 updates per step (default scale: 64 prompts
 * x 16 samples, mini-batch 128, as in the paper), clip on and off, 3 seeds each.
 */
export function investigationSpecs(scale: Scale, family = "qwen-math-7b"): Spec[] {
  const g = presetGrpo(scale);
  const shape = { promptsPerStep: g.promptsPerStep * 4, samplesPerPrompt: g.samplesPerPrompt * 2, miniBatchSize: g.miniBatchSize * 8 };
  const out: Spec[] = [];
  for (const clip of [true, false]) for (const seed of SEEDS) out.push({ family, reward: "random0.5", variant: "gt", seed, overrides: clip ? shape : { ...shape, clip: false } });
  return out;
}

export const PLANS = ["rewards", "code-reasoning", "interventions", "clipping", "investigations"] as const;
export type PlanName = (typeof PLANS)[number];

function withScale(specs: Spec[], scale: Scale): Spec[] {
  return specs.map((s) => ({ ...s, scale }));
}

export function rewardSpecs(families: readonly FamilyId[] = FAMILY_IDS): Spec[] {
  const out: Spec[] = [];
  for (const family of families) for (const r of FIG1_REWARDS) {
    const seeds = MULTI_SEED.has(`${r.reward}/${r.variant}`) ? SEEDS : [SEEDS[0]];
    for (const seed of seeds) out.push({ family, reward: r.reward, variant: r.variant, seed });
  }
  return out;
}

/** "Use python" (the python reward) and "no python" compound rewards (Figs. 8-9). */
export function interventionSpecs(): Spec[] {
  const out: Spec[] = [];
  for (const family of FAMILY_IDS) out.push({ family, reward: "contain_python_wo_backticks", variant: "gt", seed: 0 });
  for (const family of ["qwen-math-7b", "olmo-7b-sft"]) {
    out.push({ family, reward: "box_only_format_AND_inverse_contain_python_wo_backticks", variant: "gt", seed: 0 });
    out.push({ family, reward: "math_AND_inverse_contain_python_wo_backticks", variant: "incorrect", seed: 0 });
  }
  return out;
}

export function clippingSpecs(scale: Scale, family = "qwen-math-7b"): Spec[] {
  const out: Spec[] = [];
  for (const g of GAMMAS) if (g !== 0.5) out.push({ family, reward: `random${g}`, variant: "gt", seed: 0 });
  for (const a of clipAblations(scale)) for (const seed of SEEDS) out.push({ family, reward: "random0.5", variant: "gt", seed, overrides: a.overrides });
  return out;
}

/** The specs of a plan at a scale. */
export function plan(name: string, scale: Scale = "default"): Spec[] {
  switch (name) {
    case "rewards":
      return withScale(rewardSpecs(), scale);
    case "code-reasoning":
      return withScale(rewardSpecs(["qwen-math-7b", "qwen-math-1.5b", "qwen-7b"]), scale);
    case "interventions":
      return withScale(interventionSpecs(), scale);
    case "clipping":
      return withScale(clippingSpecs(scale), scale);
    case "investigations":
      return withScale(investigationSpecs(scale), scale);
    default:
      throw new Error(`unknown plan "${name}"; valid: ${PLANS.join(", ")}`);
  }
}
