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

const STEP = { code: /^([a-h])=([0-9a-h+\-*]+)#(-?\d+)$/, language: /^([0-9+\-*]+) is (-?\d+)$/ };

/**
 * True when a response derives its answer: every written step (code "a=3+4*2#14", language
 * "3+4*2 is 14") holds when its expression is evaluated left to right (variables and a language
 * step's first number standing for the values written before), and the final answer is the last
 * step's value. A bare number, a wrong step or an answer that does not follow the steps is an answer
 * without a correct derivation: what a memorised answer looks like (issue 12).
 */
export function derivationHolds(response: string): boolean {
  const code = response.startsWith("python ");
  const body = (code ? response.slice("python ".length) : response).replace(/ (\\boxed\{[^{}]*\}|the answer is -?\d+)$/, "");
  const vars = new Map<string, number>();
  let last: number | null = null;
  for (const part of body.split(code ? ";" : ", ")) {
    const m = (code ? STEP.code : STEP.language).exec(part);
    if (!m) return false;
    const [expr, written] = code ? [m[2], Number(m[3])] : [m[1], Number(m[2])];
    const toks = expr.match(/[a-h]|\d+|[+\-*]/g) ?? [];
    const operand = (t: string) => (/\d/.test(t) ? Number(t) : vars.get(t));
    let acc = operand(toks[0] ?? "");
    if (acc === undefined || (!code && last !== null && acc !== last)) return false;
    for (let i = 1; i < toks.length; i += 2) {
      const b = operand(toks[i + 1] ?? "");
      if (b === undefined) return false;
      acc = toks[i] === "+" ? acc + b : toks[i] === "-" ? acc - b : acc * b;
    }
    if (acc !== written) return false;
    if (code) vars.set(m[1], written);
    last = written;
  }
  return last !== null && parseAnswer(response).value === last;
}
