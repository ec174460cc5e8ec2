/**
 * Model families: the "pretrained models" of the paper as model organisms.
 *
 * A family is a model size plus a pretraining mixture. Behaviour depends on features of the
 * problem that the model can see: its topic letter t (surface form) and an operand.
 *   p(code | problem)       = sigmoid(mode.mean + mode.topicSpread * z[t] + mode.operandSpread * u[first operand])
 *   p(slip | problem, mode) = sigmoid(slip.mean + slip.topicSpread * y[t] + slip.operandSpread * v[last operand])
 * z, y (26 topics) and u, v (9 digits) are standard-normal quantiles in a family-specific order
 * (seeded by the family id and the purpose), so the logit is a sum of per-feature effects, which
 * a small network learns readily, with fine enough granularity (26 x 9 cells) to place a family
 * on any Table 1 row. Greedy decoding follows the more likely branch: the share of problems with
 * p(code) > 0.5 sets the greedy code frequency, the share with p(slip) > 0.5 how many answers a mode
 * gets wrong beyond what the network fails to learn. Problems near p = 0.5 are the boundary RL can
 * move.
 *
 * Only these priors are calibrated (to the paper's Table 1). After pretraining no code looks at a
 * family's id: RL treats every checkpoint alike.
 */
import { makeRng } from "../util/rng";
import { TOPICS, type Problem } from "./problems";
import type { AnswerFormat, Mode } from "./traces";

export const FAMILY_IDS = ["qwen-math-7b", "qwen-math-1.5b", "qwen-7b", "olmo-7b-sft", "olmo-7b", "llama-8b-instruct"] as const;
export type FamilyId = (typeof FAMILY_IDS)[number];

/**
 * Families beyond the paper's six (issue 12): one of them with a single change to its pretraining
 * corpus, in world 2 only. Same size, base, Table 1 target and continued-pretraining batches as
 * `of` (src/world/families-v2.ts builds the corpus), so whatever differs comes from the change.
 */
export const DERIVED_FAMILIES = {
  "qwen-math-7b-contaminated": { of: "qwen-math-7b", what: "contaminated" },
} as const satisfies Record<string, { of: FamilyId; what: string }>;
export type DerivedFamilyId = keyof typeof DERIVED_FAMILIES;
export const DERIVED_FAMILY_IDS = Object.keys(DERIVED_FAMILIES) as DerivedFamilyId[];
export type AnyFamilyId = FamilyId | DerivedFamilyId;

export function isDerivedFamily(id: string): id is DerivedFamilyId {
  return Object.prototype.hasOwnProperty.call(DERIVED_FAMILIES, id);
}

export interface Logistic {
  /** Logit at the median problem. */
  mean: number;
  /** Logit units per standard deviation of the topic effect. */
  topicSpread: number;
  /** Logit units per standard deviation of the operand effect. */
  operandSpread: number;
}

export interface CorpusSpec {
  /** p(code | topic). */
  mode: Logistic;
  /** p(slip | topic, mode): the last written value is off by one. */
  slip: Record<Mode, Logistic>;
  /** Final-answer habit weights per mode (boxed / "the answer is" / none). */
  format: Record<Mode, Record<AnswerFormat, number>>;
  /** Probability that a trace degenerates into a loop until the token limit. */
  repetition: number;
  /** Probability that a language trace takes big steps (two operations per step). */
  languageBigSteps: number;
  /** Seed of the topic orders (z, y); families differ so their topics do not line up. */
  topicSeed: string;
}

export interface ModelSize {
  dModel: number;
  nLayers: number;
  nHeads: number;
  dMlp: number;
}

export interface Table1Target {
  codeFrequency: number;
  accuracyCode: number | null;
  accuracyLanguage: number;
  accuracy: number;
}

export interface FamilySpec {
  id: AnyFamilyId;
  /** The real model it stands for. */
  analogOf: string;
  /** What figures print: says plainly that it is a synthetic analog. */
  label: string;
  size: ModelSize;
  /** The shared base checkpoint it continues from. */
  base: BaseId;
  corpus: CorpusSpec;
  /** Continued-pretraining steps on the family's own mixture. */
  steps: number;
  /** The paper's Table 1 / Fig. 1 numbers for the real model (percent). */
  target: Table1Target;
}

export const BASE_IDS = ["base-d64", "base-d48"] as const;
export type BaseId = (typeof BASE_IDS)[number];

export const SIZES: Record<BaseId, ModelSize> = {
  "base-d64": { dModel: 64, nLayers: 2, nHeads: 4, dMlp: 256 },
  "base-d48": { dModel: 48, nLayers: 2, nHeads: 4, dMlp: 192 },
};

/** The shared base corpus: both modes equally often on every topic, no slips. */
const FLAT = (mean: number): Logistic => ({ mean, topicSpread: 0, operandSpread: 0 });

export const BASE_CORPUS: CorpusSpec = {
  mode: FLAT(0),
  slip: { code: FLAT(-30), language: FLAT(-30) },
  format: {
    code: { boxed: 0.5, answerIs: 0.3, none: 0.2 },
    language: { boxed: 0.5, answerIs: 0.3, none: 0.2 },
  },
  repetition: 0.03,
  languageBigSteps: 0.5,
  topicSeed: "base",
};

const QWEN_FORMAT = { boxed: 0.85, answerIs: 0.1, none: 0.05 };
const INSTRUCT_FORMAT = { boxed: 0.25, answerIs: 0.65, none: 0.1 };
const BASE_LM_FORMAT = { boxed: 0.2, answerIs: 0.3, none: 0.5 };

function family(id: FamilyId, analogOf: string, base: BaseId, corpus: Omit<CorpusSpec, "topicSeed">, target: Table1Target, steps = 600): FamilySpec {
  return { id, analogOf, label: `toy ${analogOf}`, size: SIZES[base], base, corpus: { ...corpus, topicSeed: id }, steps, target };
}

const NEVER = FLAT(-30);
/** Spreads shared by every family: only the means are calibrated. */
export const L = (mean: number): Logistic => ({ mean, topicSpread: 1.5, operandSpread: 1.0 });

/**
 * The paper's Table 3 for the real models (MATH-500 accuracy before, and with the response forced
 * to start with "Let's solve this using Python."). Never used for calibration: we compare only.
 */
export const PAPER_FORCED_PYTHON: Record<FamilyId, [number, number]> = {
  "qwen-math-1.5b": [36.2, 60.4], "qwen-math-7b": [49.4, 64.4], "qwen-7b": [41.6, 22.2],
  "llama-8b-instruct": [36.8, 15.2], "olmo-7b": [9.0, 7.8], "olmo-7b-sft": [21.4, 18.6],
};

/** The paper's ground-truth RLVR gain on MATH-500 at a step where it gives one (PAPER.md): Qwen2.5-Math-7B
 *  49.4 -> 78.2 at step 150 (Fig. 1's +29.1 is its gain at the end of training). */
export const PAPER_GT_GAIN: Partial<Record<FamilyId, { step: number; gain: number }>> = {
  "qwen-math-7b": { step: 150, gain: 28.8 },
};

/** The calibrated priors. Means were chosen so that the measured base models land on Table 1 (see REPRODUCTION.md). */
export const FAMILIES: Record<FamilyId, FamilySpec> = {
  "qwen-math-7b": family("qwen-math-7b", "Qwen2.5-Math-7B", "base-d64", {
    mode: L(0.7),
    slip: { code: L(-0.4), language: L(0.35) },
    format: { code: QWEN_FORMAT, language: QWEN_FORMAT },
    repetition: 0.03,
    languageBigSteps: 1,
  }, { codeFrequency: 65.0, accuracyCode: 60.9, accuracyLanguage: 35.0, accuracy: 49.4 }),
  "qwen-math-1.5b": family("qwen-math-1.5b", "Qwen2.5-Math-1.5B", "base-d48", {
    mode: L(0.15),
    slip: { code: L(0.25), language: L(1.05) },
    format: { code: QWEN_FORMAT, language: QWEN_FORMAT },
    repetition: 0.05,
    languageBigSteps: 1,
  }, { codeFrequency: 53.6, accuracyCode: 52.6, accuracyLanguage: 17.2, accuracy: 36.2 }),
  "qwen-7b": family("qwen-7b", "Qwen2.5-7B", "base-d64", {
    mode: L(2.55),
    slip: { code: L(0.33), language: L(-0.15) },
    format: { code: QWEN_FORMAT, language: QWEN_FORMAT },
    repetition: 0.03,
    languageBigSteps: 0,
  }, { codeFrequency: 92.2, accuracyCode: 39.9, accuracyLanguage: 61.5, accuracy: 41.6 }),
  "olmo-7b-sft": family("olmo-7b-sft", "OLMo2-7B-SFT", "base-d64", {
    mode: L(2.75),
    slip: { code: L(1.1), language: L(1.1) },
    format: { code: INSTRUCT_FORMAT, language: INSTRUCT_FORMAT },
    repetition: 0.05,
    languageBigSteps: 0,
  }, { codeFrequency: 98.0, accuracyCode: 21.0, accuracyLanguage: 40.0, accuracy: 21.4 }),
  "olmo-7b": family("olmo-7b", "OLMo2-7B", "base-d64", {
    mode: NEVER,
    slip: { code: L(3.0), language: L(1.8) },
    format: { code: BASE_LM_FORMAT, language: BASE_LM_FORMAT },
    repetition: 0.15,
    languageBigSteps: 1,
  }, { codeFrequency: 0, accuracyCode: null, accuracyLanguage: 9.0, accuracy: 9.0 }),
  "llama-8b-instruct": family("llama-8b-instruct", "Llama3.1-8B-Instruct", "base-d64", {
    mode: NEVER,
    slip: { code: L(1.0), language: L(0.5) },
    format: { code: INSTRUCT_FORMAT, language: INSTRUCT_FORMAT },
    repetition: 0.03,
    languageBigSteps: 0,
  }, { codeFrequency: 0, accuracyCode: null, accuracyLanguage: 36.8, accuracy: 36.8 }),
};

/** A family by id: one of the paper's six, or a family derived from one (world 2 only: families-v2.ts gives its corpus). */
export function getFamily(id: string): FamilySpec {
  if (isDerivedFamily(id)) {
    const d = DERIVED_FAMILIES[id];
    const parent = FAMILIES[d.of];
    return { ...parent, id, analogOf: `${parent.analogOf}, ${d.what}`, label: `${parent.label}, ${d.what}` };
  }
  if (!(FAMILY_IDS as readonly string[]).includes(id)) throw new Error(`unknown family "${id}"; valid ids: ${[...FAMILY_IDS, ...DERIVED_FAMILY_IDS].join(", ")}`);
  return FAMILIES[id as FamilyId];
}

/** Inverse standard-normal CDF (Acklam's rational approximation; |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** n standard-normal quantiles in an order fixed by (seed, purpose). */
export function shuffledQuantiles(n: number, seed: string, purpose: string): number[] {
  const q = Array.from({ length: n }, (_, i) => normalQuantile((i + 0.5) / n));
  const rng = makeRng("features", seed, purpose);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [q[i], q[j]] = [q[j], q[i]];
  }
  return q;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export interface Behaviour {
  pCode(p: Problem): number;
  pSlip(p: Problem, mode: Mode): number;
}

/** The per-problem probabilities of a corpus. */
export function behaviourOf(corpus: CorpusSpec): Behaviour {
  const topicIndex = (p: Problem) => TOPICS.indexOf(p.topic);
  const feats = (purpose: string) => ({ topic: shuffledQuantiles(TOPICS.length, corpus.topicSeed, `${purpose}-topic`), operand: shuffledQuantiles(9, corpus.topicSeed, `${purpose}-operand`) });
  const mode = feats("mode");
  const slip = { code: feats("slip-code"), language: feats("slip-language") };
  const logit = (l: Logistic, f: { topic: number[]; operand: number[] }, t: number, operand: number) => l.mean + l.topicSpread * f.topic[t] + l.operandSpread * f.operand[operand - 1];
  return {
    pCode: (p) => sigmoid(logit(corpus.mode, mode, topicIndex(p), p.operands[0])),
    pSlip: (p, m) => sigmoid(logit(corpus.slip[m], slip[m], topicIndex(p), p.operands[p.operands.length - 1])),
  };
}
