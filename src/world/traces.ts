/**
 * How a response is written: the two reasoning modes and the final-answer habits.
 *
 *   code mode      "python a=3+4#7;b=a*2#14;c=b-5#9 \boxed{9}"
 *                  "thinking in code without executing it": one operation per statement, each
 *                  followed by the value the writer predicts for it.
 *   language mode  "3+4 is 7, 7*2 is 14, 14-5 is 9 \boxed{9}"      (one operation a step)
 *                  "3+4*2 is 14, 14-5 is 9 \boxed{9}"              (big steps: two at a time)
 *                  natural-language steps; a family that takes big steps writes fewer steps,
 *                  each genuinely harder for a small model.
 *
 * Final-answer habits: " \boxed{N}", " the answer is N", nothing, or a loop that repeats the
 * last step until the token limit. A slip writes the last step's value off by one (and the
 * final answer follows it), so a slipping trace is wrong but self-consistent.
 */
import type { Problem } from "./problems";

export type Mode = "code" | "language";
export const MODES: readonly Mode[] = ["code", "language"];
export type AnswerFormat = "boxed" | "answerIs" | "none";
export const ANSWER_FORMATS: readonly AnswerFormat[] = ["boxed", "answerIs", "none"];

export interface TraceChoice {
  mode: Mode;
  /** The last step's value is written off by one. */
  slip: boolean;
  format: AnswerFormat;
  /** Degenerate into a loop instead of stating an answer. */
  loop: boolean;
  /** Language mode only: two operations per written step. */
  bigSteps: boolean;
}

export const VARS = "abcdefgh";

/** One written step: the text before its value, and the value. */
export interface WrittenStep {
  lhs: string;
  value: number;
}

/** Steps of the trace: [text before the value, value]. */
function steps(p: Problem, mode: Mode, bigSteps: boolean): { lhs: string; value: number }[] {
  const k = p.ops.length;
  if (mode === "code") {
    return p.ops.map((op, i) => ({
      lhs: `${VARS[i]}=${i === 0 ? p.operands[0] : VARS[i - 1]}${op}${p.operands[i + 1]}#`,
      value: p.values[i],
    }));
  }
  const out: { lhs: string; value: number }[] = [];
  let start = p.operands[0];
  const stride = bigSteps ? 2 : 1;
  for (let i = 0; i < k; i += stride) {
    let lhs = `${start}${p.ops[i]}${p.operands[i + 1]}`;
    let j = i;
    if (bigSteps && i + 1 < k) {
      lhs += `${p.ops[i + 1]}${p.operands[i + 2]}`;
      j = i + 1;
    }
    out.push({ lhs: lhs + " is ", value: p.values[j] });
    start = p.values[j];
  }
  return out;
}

/** How every code-mode response opens: the word the paper's code detector looks for. */
export const CODE_OPENING = "python ";

/**
 * The response text for a problem and a choice of behaviour. `maxChars` bounds a loop (the
 * caller passes the response token budget; one character is one token).
 */
export function renderTrace(p: Problem, choice: TraceChoice, maxChars: number): string {
  return renderSteps(steps(p, choice.mode, choice.bigSteps), choice, maxChars);
}

/** A response from its written steps (world 2 writes its own steps): slip, separator, final answer habit or loop. */
export function renderSteps(st: WrittenStep[], choice: Pick<TraceChoice, "mode" | "slip" | "format" | "loop">, maxChars: number): string {
  if (choice.slip) st[st.length - 1] = { ...st[st.length - 1], value: st[st.length - 1].value + 1 };
  const sep = choice.mode === "code" ? ";" : ", ";
  const body = st.map((s) => s.lhs + s.value).join(sep);
  const answer = st[st.length - 1].value;
  let text = choice.mode === "code" ? CODE_OPENING + body : body;
  if (choice.loop) {
    const unit = sep + st[st.length - 1].lhs + answer;
    while (text.length < maxChars) text += unit;
    return text.slice(0, maxChars);
  }
  if (choice.format === "boxed") text += ` \\boxed{${answer}}`;
  else if (choice.format === "answerIs") text += ` the answer is ${answer}`;
  return text;
}
