/**
 * Pretraining corpora: (prompt, response) pairs drawn from a family's mixture.
 * Problems come only from the train hash buckets, so no evaluation problem is ever pretrained on.
 */
import { CORPUS_KS, CORPUS_K_WEIGHTS, randomProblemIn, type Problem } from "./problems";
import type { Rng } from "../util/rng";
import { behaviourOf, type Behaviour, type CorpusSpec } from "./families";
import { ANSWER_FORMATS, renderTrace, type TraceChoice } from "./traces";

/** Response budget in tokens, EOS included. */
export const MAX_RESPONSE_TOKENS = 62;
/** Longest sequence: BOS + longest prompt (12) + response budget. */
export const CONTEXT_LENGTH = 76;

export interface CorpusExample {
  problem: Problem;
  choice: TraceChoice;
  response: string;
  /** False when the response runs to the token limit (a loop, or a trace too long for the budget). */
  eos: boolean;
  /** The prompt, when it is not the problem's (a contamination line has none: corpus-v2.ts). */
  prompt?: string;
  /** A `test` problem's answer line, not a derivation (world 2's contamination knob). */
  contaminated?: boolean;
}

/** Draw the behaviour of one trace for a problem under a corpus spec. */
export function drawChoice(corpus: CorpusSpec, problem: Problem, rng: Rng, behaviour: Behaviour = behaviourOf(corpus)): TraceChoice {
  const mode = rng.bernoulli(behaviour.pCode(problem)) ? "code" : "language";
  const slip = rng.bernoulli(behaviour.pSlip(problem, mode));
  const w = corpus.format[mode];
  const format = ANSWER_FORMATS[rng.categorical(ANSWER_FORMATS.map((f) => w[f]))];
  const loop = rng.bernoulli(corpus.repetition);
  const bigSteps = mode === "language" && rng.bernoulli(corpus.languageBigSteps);
  return { mode, slip, format, loop, bigSteps };
}

/**
 * A stream of corpus examples: example i of a batch depends only on (rng, i). `write` draws the
 * behaviour of one trace for its problem and renders it (each world has its own).
 */
export function examplesFrom<C extends { loop: boolean }>(rng: Rng, size: number, write: (problem: Problem, r: Rng) => { choice: C; full: string }): { problem: Problem; choice: C; response: string; eos: boolean }[] {
  return Array.from({ length: size }, (_, i) => {
    const r = rng.fork(i);
    const k = CORPUS_KS[r.categorical([...CORPUS_K_WEIGHTS])];
    const problem = randomProblemIn(r, "train", [k], [1]);
    const { choice, full } = write(problem, r);
    // A looping trace fills the budget and has no EOS; others end with EOS. The rare trace longer
    // than the budget (four small steps, two-digit values, "the answer is") is cut at the limit,
    // as the sampler cuts a response there.
    const eos = !choice.loop && full.length < MAX_RESPONSE_TOKENS;
    return { problem, choice, response: full.slice(0, MAX_RESPONSE_TOKENS), eos };
  });
}

/** World 1's corpus stream. */
export function corpusBatch(corpus: CorpusSpec, rng: Rng, size: number): CorpusExample[] {
  const behaviour = behaviourOf(corpus);
  return examplesFrom(rng, size, (problem, r) => {
    const choice = drawChoice(corpus, problem, r, behaviour);
    return { choice, full: renderTrace(problem, choice, MAX_RESPONSE_TOKENS) };
  });
}
