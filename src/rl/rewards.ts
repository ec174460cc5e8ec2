/**
 * The paper's rewards, named as in its code (all binary). A reward returns its value and its
 * parts, for diagnostics.
 *
 *   math                          the parsed answer equals the dataset label (the label is ground
 *                                 truth, a majority vote or an incorrect label: see datasets.ts)
 *   box_only_format               a non-empty \boxed{} exists
 *   random<gamma>                 Bernoulli(gamma), independent of the response, seeded by
 *                                 (run seed, step, rollout index), e.g. random0.5, random0.001
 *   contain_python_wo_backticks   the response contains "python"
 *   no_repetition                 0 when some piece of text repeats back to back too often
 *   inverse_<r>                   1 - r
 *   <r1>_AND_<r2>                 r1 * r2 (binds looser than inverse_)
 *
 * Repetition is scaled to our responses: the paper's "more than 10 repeats" is for 3,072-token
 * answers; ours have at most 62 characters, so a unit of 3 to 20 characters written 3 times in a
 * row counts (no correct trace of our world repeats itself; tested).
 */
import { hasBoxed, isCodeResponse, isCorrect } from "../world/grader";
import { makeRng } from "../util/rng";

export interface RewardInput {
  response: string;
  /** The dataset's label for this prompt (ground truth, majority vote or incorrect). */
  label: number;
  /** For random rewards: (run seed, step, rollout index). */
  seed: string | number;
  step: number;
  rollout: number;
}

export interface RewardResult {
  reward: number;
  parts: Record<string, number>;
}

export type RewardFn = (x: RewardInput) => RewardResult;

export const BASE_REWARDS = ["math", "box_only_format", "random<gamma>", "contain_python_wo_backticks", "no_repetition"] as const;

export const REPEAT_MIN_UNIT = 3;
export const REPEAT_MAX_UNIT = 20;
export const REPEAT_TIMES = 3;

/** True when some unit of REPEAT_MIN_UNIT..REPEAT_MAX_UNIT characters appears REPEAT_TIMES times back to back. */
export function hasRepetition(text: string): boolean {
  for (let L = REPEAT_MIN_UNIT; L <= REPEAT_MAX_UNIT; L++) {
    for (let i = 0; i + L * REPEAT_TIMES <= text.length; i++) {
      let ok = true;
      for (let r = 1; r < REPEAT_TIMES && ok; r++) {
        for (let j = 0; j < L; j++) {
          if (text[i + j] !== text[i + r * L + j]) {
            ok = false;
            break;
          }
        }
      }
      if (ok) return true;
    }
  }
  return false;
}

function base(name: string): RewardFn {
  const bin = (b: boolean) => (b ? 1 : 0);
  if (name === "math") {
    return (x) => {
      // The grader decides, against the dataset's label: one definition of a correct answer.
      const r = bin(isCorrect(x.response, x.label));
      return { reward: r, parts: { math: r } };
    };
  }
  if (name === "box_only_format") return (x) => ({ reward: bin(hasBoxed(x.response)), parts: { box_only_format: bin(hasBoxed(x.response)) } });
  if (name === "contain_python_wo_backticks") return (x) => ({ reward: bin(isCodeResponse(x.response)), parts: { contain_python_wo_backticks: bin(isCodeResponse(x.response)) } });
  if (name === "no_repetition") return (x) => ({ reward: bin(!hasRepetition(x.response)), parts: { no_repetition: bin(!hasRepetition(x.response)) } });
  const m = /^random(\d+(?:\.\d+)?)$/.exec(name);
  if (m) {
    const gamma = Number(m[1]);
    if (!(gamma >= 0 && gamma <= 1)) throw new Error(`reward "${name}": gamma must be in [0, 1], got ${m[1]}`);
    return (x) => {
      const r = bin(makeRng(x.seed, "reward", x.step, x.rollout).bernoulli(gamma));
      return { reward: r, parts: { [name]: r } };
    };
  }
  throw new Error(`unknown reward "${name}"; valid: ${BASE_REWARDS.join(", ")}, combined as inverse_<r> and <r1>_AND_<r2>`);
}

/** Parse a reward name into a function. Unknown names are errors listing the valid ones. */
export function parseReward(name: string): RewardFn {
  if (typeof name !== "string" || name.trim() === "") throw new Error(`reward name must be a non-empty string, got ${JSON.stringify(name)}`);
  const conj = name.split("_AND_");
  if (conj.length > 1) {
    const fns = conj.map(parseReward);
    return (x) => {
      const rs = fns.map((f) => f(x));
      return { reward: rs.reduce((a, r) => a * r.reward, 1), parts: Object.assign({}, ...rs.map((r) => r.parts)) };
    };
  }
  if (name.startsWith("inverse_")) {
    const inner = parseReward(name.slice("inverse_".length));
    return (x) => {
      const r = inner(x);
      return { reward: 1 - r.reward, parts: { ...r.parts, [name]: 1 - r.reward } };
    };
  }
  return base(name);
}

/**
 * The one spelling of a reward that run names use: each random<gamma> written as the shortest
 * decimal of its gamma ("random0.50" and "random00.5" are "random0.5"; "random1.0" is "random1"),
 * everything else as given. Validates the name first.
 */
export function canonicalReward(name: string): string {
  parseReward(name);
  return name.split("_AND_").map(canonicalTerm).join("_AND_");
}

function canonicalTerm(term: string): string {
  if (term.startsWith("inverse_")) return "inverse_" + canonicalTerm(term.slice("inverse_".length));
  const m = /^random(\d+(?:\.\d+)?)$/.exec(term);
  if (!m) return term;
  const gamma = String(Number(m[1]));
  if (!/^\d+(\.\d+)?$/.test(gamma)) throw new Error(`reward "${term}": gamma ${m[1]} is below what a name can spell (${gamma}); use 0 or a gamma of at least 0.000001`);
  return `random${gamma}`;
}
