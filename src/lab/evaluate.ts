/**
 * Evaluation as the paper does it: greedy pass@1 on `test`, avg@k at temperature 0.6 on `hard`,
 * code frequency (responses containing "python"), accuracy per mode, boxed rate, and per-problem
 * records (mode, correctness, answer) for the strategy-transition analysis.
 */
import { MAX_RESPONSE_TOKENS } from "../world/corpus";
import { hasBoxed, isCodeResponse, parseAnswer } from "../world/grader";
import type { ModelConfig, Params } from "../model/model";
import type { Problem } from "../world/problems";
import type { Rng } from "../util/rng";
import { sampleResponses } from "../model/sampling";

export interface EvalRecord {
  /** Problem text (its identity), e.g. "k:3+4*2". */
  problem: string;
  label: number;
  response: string;
  answer: number | null;
  code: boolean;
  correct: boolean;
  boxed: boolean;
}

export interface EvalSummary {
  n: number;
  /** Percentages 0-100; null where a mode has no responses. */
  accuracy: number;
  codeFrequency: number;
  accuracyCode: number | null;
  accuracyLanguage: number | null;
  boxedRate: number;
  nCode: number;
  nLanguage: number;
}

const pct = (a: number, b: number) => (b === 0 ? null : (100 * a) / b);

export function gradeResponse(problem: Problem, response: string): EvalRecord {
  const { value } = parseAnswer(response);
  return { problem: problem.text, label: problem.answer, response, answer: value, code: isCodeResponse(response), correct: value === problem.answer, boxed: hasBoxed(response) };
}

export function summarize(records: readonly EvalRecord[]): EvalSummary {
  const n = records.length;
  if (n === 0) throw new Error("cannot summarise zero records");
  const code = records.filter((r) => r.code);
  const lang = records.filter((r) => !r.code);
  const ok = (rs: readonly EvalRecord[]) => rs.filter((r) => r.correct).length;
  return {
    n,
    accuracy: pct(ok(records), n)!,
    codeFrequency: pct(code.length, n)!,
    accuracyCode: pct(ok(code), code.length),
    accuracyLanguage: pct(ok(lang), lang.length),
    boxedRate: pct(records.filter((r) => r.boxed).length, n)!,
    nCode: code.length,
    nLanguage: lang.length,
  };
}

export interface EvalOptions {
  /** Forced response prefix (e.g. the "use python" intervention). */
  prefix?: string;
  /** Per-problem forced prefixes. */
  prefixes?: readonly string[];
  maxNewTokens?: number;
}

/** Greedy pass@1 with per-problem records. */
export function evaluateGreedy(params: Params, config: ModelConfig, problems: readonly Problem[], opts: EvalOptions = {}): { summary: EvalSummary; records: EvalRecord[] } {
  const samples = sampleResponses(params, config, problems.map((p) => p.prompt), { temperature: 0, maxNewTokens: opts.maxNewTokens ?? MAX_RESPONSE_TOKENS, prefix: opts.prefix, prefixes: opts.prefixes });
  const records = problems.map((p, i) => gradeResponse(p, samples[i].text));
  return { summary: summarize(records), records };
}

/** avg@k: k samples per problem at `temperature`, accuracy averaged over all of them. */
export function evaluateAvgAtK(params: Params, config: ModelConfig, problems: readonly Problem[], opts: { k: number; temperature: number; rng: Rng; maxNewTokens?: number }): EvalSummary {
  const prompts: string[] = [];
  const owners: Problem[] = [];
  for (const p of problems) for (let j = 0; j < opts.k; j++) {
    prompts.push(p.prompt);
    owners.push(p);
  }
  const samples = sampleResponses(params, config, prompts, { temperature: opts.temperature, maxNewTokens: opts.maxNewTokens ?? MAX_RESPONSE_TOKENS, rng: opts.rng });
  return summarize(owners.map((p, i) => gradeResponse(p, samples[i].text)));
}
