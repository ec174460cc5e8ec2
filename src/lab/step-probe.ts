/**
 * What a written step asks of the network (world 2's design): the accuracy of the value a model
 * writes for one step, by mode and step size, with everything before the value forced.
 *
 * For each problem with at least `size` operations the response is forced up to the first step's
 * value (code: "python a=3+4*2#", language: "3+4*2 is "), the model continues greedily, and the
 * number it writes is compared with the step's true value. Forcing the text isolates the step's
 * computation from the choice of mode and step size, so the numbers are the network's capacity per
 * step size, which world 2's calibration needs in place of world 1's per-mode capacity.
 */
import type { ModelConfig, Params } from "../model/model";
import { sampleResponses } from "../model/sampling";
import { MAX_RESPONSE_TOKENS } from "../world/corpus";
import { chunkedSteps, type StepSize } from "../world/corpus-v2";
import { parseAnswer } from "../world/grader";
import type { Problem } from "../world/problems";
import { CODE_OPENING, type Mode } from "../world/traces";
import { mistakeSpread, type Answered, type MistakeSpread } from "./mistakes";

export interface StepProbe {
  mode: Mode;
  size: StepSize;
  /** Problems probed (those with at least `size` operations). */
  n: number;
  /** Percent of first-step values written right. */
  accuracy: number;
  /** How the wrong values spread. */
  spread: MistakeSpread;
}

/** The text forced before the first step's value, and that value. */
export function firstStepPrefix(p: Problem, mode: Mode, size: StepSize): { prefix: string; value: number } {
  const first = chunkedSteps(p, mode, size)[0];
  return { prefix: (mode === "code" ? CODE_OPENING : "") + first.lhs, value: first.value };
}

/** The integer a continuation starts with, or null. */
export function leadingInteger(text: string): number | null {
  const m = /^-?\d+/.exec(text);
  return m ? Number(m[0]) : null;
}

export function probeSteps(params: Params, config: ModelConfig, problems: readonly Problem[], mode: Mode, size: StepSize): StepProbe {
  const eligible = problems.filter((p) => p.ops.length >= size);
  if (eligible.length === 0) throw new Error(`probeSteps: no problem has ${size} operations`);
  const forced = eligible.map((p) => firstStepPrefix(p, mode, size));
  const longest = Math.max(...forced.map((f) => f.prefix.length));
  // a value below 100 and its delimiter fit in 4 tokens
  const out = sampleResponses(params, config, eligible.map((p) => p.prompt), { temperature: 0, maxNewTokens: longest + 4, prefixes: forced.map((f) => f.prefix) });
  const answered = out.map((o, i) => ({ answer: leadingInteger(o.text.slice(forced[i].prefix.length)), truth: forced[i].value }));
  const spread = mistakeSpread(answered);
  return { mode, size, n: eligible.length, accuracy: (100 * (spread.n - spread.wrong)) / spread.n, spread };
}

/** One free-running response after a forced first step: its first written value and its final answer, each beside the truth. */
export interface ForcedTrace {
  problem: Problem;
  first: Answered;
  final: Answered;
}

/**
 * Free-running greedy responses with the first step forced at `size` (world 2's calibration,
 * src/lab/capacity.ts): the forced first step fixes the mode and the step size (a corpus trace
 * keeps one size throughout), and the model writes the rest, so the final answer's accuracy is a
 * mode's capacity at that size, every later step included. Problems with fewer than `size`
 * operations are left out (their one step would be the same text as at their own size).
 */
export function probeForcedSize(params: Params, config: ModelConfig, problems: readonly Problem[], mode: Mode, size: StepSize): ForcedTrace[] {
  const eligible = problems.filter((p) => p.ops.length >= size);
  if (eligible.length === 0) return [];
  const forced = eligible.map((p) => firstStepPrefix(p, mode, size));
  const out = sampleResponses(params, config, eligible.map((p) => p.prompt), { temperature: 0, maxNewTokens: MAX_RESPONSE_TOKENS, prefixes: forced.map((f) => f.prefix) });
  return out.map((o, i) => ({
    problem: eligible[i],
    first: { answer: leadingInteger(o.text.slice(forced[i].prefix.length)), truth: forced[i].value },
    final: { answer: parseAnswer(o.text).value, truth: eligible[i].answer },
  }));
}
