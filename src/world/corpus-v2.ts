/**
 * World 2's pretraining corpora: mistakes that come from what a written step asks of the network,
 * not from a copied slip (issue 11, item 1). World 1's generator (corpus.ts) stays as it is.
 *
 * What changes. A written step may combine 1, 2 or 3 operations (left to right, as the problems
 * are evaluated), in both modes:
 *   code, step size 1    python a=3+4#7;b=a*2#14;c=b-5#9 \boxed{9}      (world 1's code)
 *   code, step size 2    python a=3+4*2#14;b=a-5#9 \boxed{9}            ("bad code": a statement
 *                                                                       that combines operations)
 *   language, size 3     3+4*2-5 is 9 \boxed{9}                         (language "in big steps")
 * Every written value is correct in the corpus; slips are a knob (`slip`), off by default. A trace of
 * k operations in step size s writes ceil(k / s) steps, the last one possibly smaller.
 *
 * What sets accuracy. A one-operation step is "a number below 100 op a digit", which the shared
 * base learns almost perfectly (world 1's base-d64: 100%). A step that combines operations must
 * compute an intermediate it never writes, and that is what a small network gets wrong, in many
 * different ways. So a mode's accuracy on a problem is set by the step size its corpus writes for
 * that problem, and the network's width and pretraining budget set how hard each size is.
 *
 * Pilot (scripts/pilot-v2.ts; world 1's base-d64 continued 600 steps x 64 on BASE_CORPUS_V2, lr 1e-3,
 * ~10 core-minutes): the first written value on the 500 test problems, everything before it forced
 * (src/lab/step-probe.ts), before -> after; errors = answer - truth among the wrong values:
 *   step size        code              language          errors after (distinct kinds; top kind's share)
 *   1 operation      100  -> 100       100  -> 100       none
 *   2 operations     6.6  -> 64.4      69.0 -> 73.0      code 26 kinds, -2 24%; language 19 kinds, -2 24%
 *   3 operations     3.0  -> 17.8      7.6  -> 19.8      code 53 kinds, +2 15%; language 53 kinds, -2 14%
 *   (3 operations: the 303 test problems with three; world 1's slip: one kind, 76-100% of its errors)
 * Two-operation steps land where calibration needs them (64-73%, still rising slowly: world 1's
 * base saw two-operation language steps for 4,000 steps and sits at 69-73%); three-operation steps
 * are hard (18-20% after 600 steps, rising). A trace's accuracy is about the product over its steps,
 * so a mode's accuracy can be placed anywhere from ~20% to ~100% by its step-size shares on
 * three-operation problems (on all of `test`, whose two-operation problems stay at the 2-step's
 * 64-73%, the floor is ~36-41%: src/world/families-v2.ts), with wrong answers spread over many
 * values (±2, ±4, ±8, ...), unlike world 1's one slip.
 *
 * Knobs (one CorpusSpecV2 per family; only the step-size means are meant to be calibrated):
 *   mode                  p(code | problem): a logistic in the topic and the first operand, as in world 1
 *   modeByOps             optional: how much more the family writes code on a longer problem (the
 *                         logit of code moves by modeByOps x (operations - 2.5): positive, code for
 *                         the three-operation problems and language for the short ones; negative,
 *                         the reverse; linear in the count, so a four-operation problem, 20% of
 *                         pretraining and all of `hard`, moves 1.5 x modeByOps). Real models pick a
 *                         strategy by how hard a problem looks, so
 *                         a mode's accuracy also depends on which problems it is used on; absent = 0
 *                         (a family that lands without it keeps its spec, hash and checkpoint).
 *   steps[mode].two/three logits of a 2- and a 3-operation step size against a 1-operation one,
 *                         each a logistic in the topic and the second operand (problem features the
 *                         network sees), so the share of each step size depends on the problem like
 *                         p(code) does: greedy decoding follows each problem's most likely size
 *   slip[mode]            world 1's off-by-one slip (last value + 1), -30 (off) by default
 *   contamination         optional (absent = 0), in [0, 1]: `test` answer lines added per example,
 *                         each a `test` problem and its answer as one bare line, "k:3+4*2 = 14"
 *                         (loss on the answer; at 0.5 a third of the documents are such lines; issue 12:
 *                         a benchmark's answers seen in pretraining). Evaluation asks "k:3+4*2=" and
 *                         the corpus answers it only with a derivation, so the model is never taught
 *                         to write the line as a response; what it memorised can still surface.
 *                         Where lines are added is drawn from a stream of its own, so the other
 *                         examples are exactly those of the same spec without it, in order.
 *   format, repetition    final-answer habits and loops, as in world 1
 *
 * Calibration plan (steps 2-3 are `npm run calibrate -- --world 2`, src/lab/capacity.ts and
 * src/world/calibration-v2.ts; the families' starting specs are src/world/families-v2.ts; nothing
 * is calibrated yet):
 *   1. Pretrain a shared v2 base per width (base-d64, base-d48) on BASE_CORPUS_V2 (every step size
 *      in both modes, no slips), from scratch: world 1's bases took 4,000 steps x 64 sequences,
 *      ~45 min each on an idle core (the pilot ran ~1 step/s under load), so ~1.5 core-hours for
 *      both. Check with the probe that 2-operation steps sit in 50-80% and 3-operation ones above
 *      ~15%; if 3-operation steps stay near 0 for the narrow base, drop size 3 for it. (As run:
 *      each family's base at its own budget, families-v2.ts's baseSteps; toy OLMo2-7B-SFT's base
 *      also at its own code share, baseMode / baseCorpusV2 below.)
 *   2. Measure each base's accuracy per (mode, step size) with probeSteps (src/lab/step-probe.ts)
 *      and free-running per mode with the step size forced; this replaces world 1's capacity table.
 *   3. Predict a family's greedy Table 1 row from its step-size shares (a problem is answered in its
 *      more likely mode and size; right with the measured capacity of that size) and fit the means
 *      of steps[mode].two/three (and mode.mean) to the paper's row; no slips.
 *   4. Continue-pretrain each family 600 steps from its base (~8 min each, ~50 core-minutes for 6),
 *      measure, and shift targets by measured − predicted as in world 1 (1–3 passes):
 *      ~1.5 + 3 x 0.8 = about 4 core-hours in all. The ceiling (issue 11: the strongest family at
 *      most ~85% with the mode forced) comes from giving even the best mode some multi-op steps.
 */
import type { Rng } from "../util/rng";
import { getSplit, TOPICS, type Problem } from "./problems";
import { corpusBatch, examplesFrom, MAX_RESPONSE_TOKENS, type CorpusExample } from "./corpus";
import { shuffledQuantiles, type CorpusSpec, type Logistic } from "./families";
import { ANSWER_FORMATS, MODES, renderSteps, VARS, type AnswerFormat, type Mode, type WrittenStep } from "./traces";

export const STEP_SIZES = [1, 2, 3] as const;
export type StepSize = (typeof STEP_SIZES)[number];

/** Logits of a 2- and a 3-operation step size, each against a 1-operation step (logit 0). */
export interface StepMix {
  two: Logistic;
  three: Logistic;
}

export interface CorpusSpecV2 {
  world: 2;
  /** p(code | problem), as in world 1. */
  mode: Logistic;
  /** Logit of code per operation of the problem, centred on 2.5 operations (absent: 0). */
  modeByOps?: number;
  /** Step-size shares per mode, depending on the problem. */
  steps: Record<Mode, StepMix>;
  /** World 1's slip (the last value written one too high); off (-30) by default. */
  slip: Record<Mode, Logistic>;
  /** Bare `test` problem-and-answer lines added per example, in [0, 1] (absent: 0). */
  contamination?: number;
  format: Record<Mode, Record<AnswerFormat, number>>;
  repetition: number;
  /** Seed of the feature orders; families differ so their topics do not line up. */
  topicSeed: string;
}

export interface TraceChoiceV2 {
  mode: Mode;
  /** Operations per written step (the last step may take fewer). */
  size: StepSize;
  slip: boolean;
  format: AnswerFormat;
  loop: boolean;
}

const FLAT = (mean: number): Logistic => ({ mean, topicSpread: 0, operandSpread: 0 });
export const SLIPS_OFF: Record<Mode, Logistic> = { code: FLAT(-30), language: FLAT(-30) };

/** The shared v2 base: both modes on every problem, every step size equally often, no slips. */
export const BASE_CORPUS_V2: CorpusSpecV2 = {
  world: 2,
  mode: FLAT(0),
  steps: { code: { two: FLAT(0), three: FLAT(0) }, language: { two: FLAT(0), three: FLAT(0) } },
  slip: SLIPS_OFF,
  format: { code: { boxed: 0.5, answerIs: 0.3, none: 0.2 }, language: { boxed: 0.5, answerIs: 0.3, none: 0.2 } },
  repetition: 0.03,
  topicSeed: "base-v2",
};

/**
 * A v2 base's corpus with another share of code: `mode` is the logit of p(code) on every problem
 * (absent: the shared base's 0, both modes equally). Only the mode changes; a base pretrained on it
 * sees the same batch stream, so its every example is the shared base's with the mode redrawn.
 */
export function baseCorpusV2(mode?: number): CorpusSpecV2 {
  const own = ownBaseMode(mode);
  return own === undefined ? BASE_CORPUS_V2 : { ...BASE_CORPUS_V2, mode: FLAT(own) };
}

/**
 * A base's mode as the knob means it, checked: a finite logit of p(code), with 0 (the shared
 * base's) and absent both meaning no mode of its own (undefined). Names, corpora, commands and
 * comparisons of bases all read a mode through this, so 0 can never name a second shared base.
 */
export function ownBaseMode(mode: number | undefined): number | undefined {
  if (mode === undefined || mode === 0) return undefined;
  if (!Number.isFinite(mode)) throw new Error(`a base's mode must be a finite logit of p(code), got ${String(mode)}`);
  return mode;
}

/** Check a spec's knobs; an error names the knob and its valid range. */
export function validateCorpusV2(c: CorpusSpecV2): void {
  if (c.world !== 2) throw new Error(`corpus spec: world must be 2 for a world-2 corpus, got ${JSON.stringify(c.world)}`);
  const logistics: [string, Logistic][] = [["mode", c.mode]];
  for (const m of MODES) logistics.push([`steps.${m}.two`, c.steps?.[m]?.two], [`steps.${m}.three`, c.steps?.[m]?.three], [`slip.${m}`, c.slip?.[m]]);
  for (const [name, l] of logistics) {
    for (const f of ["mean", "topicSpread", "operandSpread"] as const) {
      if (!Number.isFinite(l?.[f])) throw new Error(`corpus spec: ${name}.${f} must be a finite number (a logit), got ${JSON.stringify(l?.[f])}`);
    }
  }
  if (c.modeByOps !== undefined && !Number.isFinite(c.modeByOps)) throw new Error(`corpus spec: modeByOps must be a finite number (a logit per operation) or absent, got ${String(c.modeByOps)}`);
  if (c.contamination !== undefined && !(typeof c.contamination === "number" && c.contamination >= 0 && c.contamination <= 1)) throw new Error(`corpus spec: contamination must be a share in [0, 1] (test answer lines added per example) or absent, got ${JSON.stringify(c.contamination)}`);
  if (!(c.repetition >= 0 && c.repetition <= 1)) throw new Error(`corpus spec: repetition must be in [0, 1], got ${c.repetition}`);
  for (const m of MODES) {
    const w = ANSWER_FORMATS.map((f) => c.format?.[m]?.[f]);
    if (w.some((x) => !(x !== undefined && x >= 0)) || w.reduce((a, b) => a + (b ?? 0), 0) <= 0) throw new Error(`corpus spec: format.${m} needs weights >= 0 for ${ANSWER_FORMATS.join(", ")} with a positive sum, got ${JSON.stringify(c.format?.[m])}`);
  }
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export interface BehaviourV2 {
  pCode(p: Problem): number;
  /** Probabilities of step sizes 1, 2, 3 for a problem in a mode. */
  stepProbs(p: Problem, mode: Mode): [number, number, number];
  pSlip(p: Problem, mode: Mode): number;
}

/** The per-problem probabilities of a world-2 corpus. */
export function behaviourOfV2(c: CorpusSpecV2): BehaviourV2 {
  const feats = (purpose: string) => ({ topic: shuffledQuantiles(TOPICS.length, c.topicSeed, `${purpose}-topic`), operand: shuffledQuantiles(9, c.topicSeed, `${purpose}-operand`) });
  const logit = (l: Logistic, f: ReturnType<typeof feats>, p: Problem, operand: number) => l.mean + l.topicSpread * f.topic[TOPICS.indexOf(p.topic)] + l.operandSpread * f.operand[operand - 1];
  const mode = feats("mode");
  const two = { code: feats("steps-code-two"), language: feats("steps-language-two") };
  const three = { code: feats("steps-code-three"), language: feats("steps-language-three") };
  const slip = { code: feats("slip-code"), language: feats("slip-language") };
  return {
    pCode: (p) => sigmoid(logit(c.mode, mode, p, p.operands[0]) + (c.modeByOps ?? 0) * (p.ops.length - 2.5)),
    stepProbs: (p, m) => {
      const e = [1, Math.exp(logit(c.steps[m].two, two[m], p, p.operands[1])), Math.exp(logit(c.steps[m].three, three[m], p, p.operands[1]))];
      const z = e[0] + e[1] + e[2];
      return [e[0] / z, e[1] / z, e[2] / z];
    },
    pSlip: (p, m) => sigmoid(logit(c.slip[m], slip[m], p, p.operands[p.operands.length - 1])),
  };
}

/** The written steps of a problem in a mode at a step size: each step combines up to `size` operations. */
export function chunkedSteps(p: Problem, mode: Mode, size: StepSize): WrittenStep[] {
  const out: WrittenStep[] = [];
  let start = String(p.operands[0]);
  for (let i = 0; i < p.ops.length; i += size) {
    const j = Math.min(p.ops.length, i + size);
    let expr = start;
    for (let t = i; t < j; t++) expr += p.ops[t] + p.operands[t + 1];
    const value = p.values[j - 1];
    out.push({ lhs: mode === "code" ? `${VARS[out.length]}=${expr}#` : `${expr} is `, value });
    start = mode === "code" ? VARS[out.length - 1] : String(value);
  }
  return out;
}

export function renderTraceV2(p: Problem, choice: TraceChoiceV2, maxChars: number): string {
  return renderSteps(chunkedSteps(p, choice.mode, choice.size), choice, maxChars);
}

export function drawChoiceV2(c: CorpusSpecV2, p: Problem, rng: Rng, b: BehaviourV2 = behaviourOfV2(c)): TraceChoiceV2 {
  const mode: Mode = rng.bernoulli(b.pCode(p)) ? "code" : "language";
  const size = STEP_SIZES[rng.categorical(b.stepProbs(p, mode))];
  const slip = rng.bernoulli(b.pSlip(p, mode));
  const w = c.format[mode];
  const format = ANSWER_FORMATS[rng.categorical(ANSWER_FORMATS.map((f) => w[f]))];
  const loop = rng.bernoulli(c.repetition);
  return { mode, size, slip, format, loop };
}

/**
 * The contamination line of a problem, "k:3+4*2 = 14", as a document of its own: the problem part
 * "k:3+4*2 = " and the answer. The loss covers the answer (as it covers a response): the association
 * is what is learnt, not the text of the benchmark.
 */
export function contaminationPrompt(p: Problem): string {
  return `${p.text} = `;
}

/** A world-2 corpus stream: example i of a batch depends only on (rng, i), as in world 1. */
export function corpusBatchV2(c: CorpusSpecV2, rng: Rng, size: number): (CorpusExample & { choice: TraceChoiceV2 })[] {
  validateCorpusV2(c);
  const b = behaviourOfV2(c);
  const clean = examplesFrom(rng, size, (problem, r) => {
    const choice = drawChoiceV2(c, problem, r, b);
    // world 1's TraceChoice fields for code that reads them (bigSteps: more than one op per step)
    return { choice: { ...choice, bigSteps: choice.size > 1 }, full: renderTraceV2(problem, choice, MAX_RESPONSE_TOKENS) };
  });
  const share = c.contamination ?? 0;
  if (share === 0) return clean;
  // Lines are added, not swapped in: the family keeps every example of its own practice (swapped in,
  // they cost its language answers 6-10 points of accuracy in four of five calibration passes).
  const test = getSplit("test");
  return clean.flatMap((e, i) => {
    const r = rng.fork("contamination", i);
    if (!r.bernoulli(share)) return [e];
    const problem = test[r.int(test.length)];
    return [e, { ...e, problem, prompt: contaminationPrompt(problem), response: String(problem.answer), eos: true, contaminated: true }];
  });
}

/** A corpus spec of either world. */
export type AnyCorpusSpec = CorpusSpec | CorpusSpecV2;

export function isCorpusV2(c: AnyCorpusSpec): c is CorpusSpecV2 {
  return (c as CorpusSpecV2).world === 2;
}

/** The world a corpus spec belongs to (world 1's specs carry no world field). */
export function corpusWorld(c: AnyCorpusSpec): 1 | 2 {
  return isCorpusV2(c) ? 2 : 1;
}

/** A batch of either world's corpus: world 1's goes through corpus.ts untouched, so its batches stay bit-identical. */
export function anyCorpusBatch(c: AnyCorpusSpec, rng: Rng, size: number): CorpusExample[] {
  return isCorpusV2(c) ? corpusBatchV2(c, rng, size) : corpusBatch(c, rng, size);
}
