/**
 * The answer parser, as the paper's evaluation does it:
 * the last non-empty \boxed{...}; else the number after the last "the answer is"; else the last
 * number anywhere in the response. Answers compare as integers.
 */

export type AnswerSource = "boxed" | "answer_is" | "last_number" | "none";

export interface ParsedAnswer {
  /** The integer answer, or null when nothing parses. */
  value: number | null;
  /** Which rule produced it. */
  source: AnswerSource;
}

const BOXED = /\\boxed\{([^{}]*)\}/g;
const INTEGER = /-?\d+/g;

function lastMatch(re: RegExp, text: string): RegExpExecArray | null {
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  let last: RegExpExecArray | null = null;
  while ((m = re.exec(text)) !== null) last = m;
  return last;
}

function toInt(s: string): number | null {
  const m = /^\s*(-?\d+)\s*\.?\s*$/.exec(s);
  return m ? Number.parseInt(m[1], 10) : null;
}

/** Content of the last non-empty \boxed{} (trimmed), or null. */
export function lastBoxed(response: string): string | null {
  BOXED.lastIndex = 0;
  let m: RegExpExecArray | null;
  let last: string | null = null;
  while ((m = BOXED.exec(response)) !== null) if (m[1].trim() !== "") last = m[1].trim();
  return last;
}

export function parseAnswer(response: string): ParsedAnswer {
  const boxed = lastBoxed(response);
  if (boxed !== null) return { value: toInt(boxed), source: "boxed" };
  const idx = response.lastIndexOf("the answer is");
  if (idx >= 0) {
    const m = /^\s*(-?\d+)/.exec(response.slice(idx + "the answer is".length));
    if (m) return { value: Number.parseInt(m[1], 10), source: "answer_is" };
  }
  const last = lastMatch(INTEGER, response);
  if (last) return { value: Number.parseInt(last[0], 10), source: "last_number" };
  return { value: null, source: "none" };
}

/** True when the parsed answer equals `label` as an integer. */
export function isCorrect(response: string, label: number): boolean {
  const { value } = parseAnswer(response);
  return value !== null && value === label;
}

/** The paper's code-reasoning detector: the response contains the substring "python". */
export function isCodeResponse(response: string): boolean {
  return response.includes("python");
}

/** A non-empty \boxed{} exists (the paper's format reward). */
export function hasBoxed(response: string): boolean {
  return lastBoxed(response) !== null;
}
