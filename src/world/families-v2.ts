/**
 * World 2's family corpora (issue 11): the same six families, Table 1 targets, widths and shared
 * bases as world 1 (families.ts), with mistakes that come from the step sizes their corpora write
 * (corpus-v2.ts) instead of slips. Slips are off in every family.
 *
 * Knobs per family. Only the means of p(code) and of the step-size logits steps[mode].two/.three
 * are calibrated; their spreads are world 1's shared L(...) (topic 1.5, operand 1.0); formats and
 * repetition are world 1's per family.
 *
 * The starting means (nothing here is calibrated yet: `calibrated: false` everywhere). mode.mean is
 * world 1's calibrated one: both worlds read p(code) off the same topic and operand orders (the
 * family id seeds them, purpose "mode"), so it gives the same greedy code frequency. The step means
 * start from each family's character and were then fitted (calibration-v2.ts) under PILOT_CAPACITY,
 * the pilot's first-step accuracies taken as trace accuracies, and rounded:
 *   qwen-math-7b / 1.5b   code: "bad code", statements mostly of one or two operations, some of
 *                         three; language: big steps, mostly two and three operations
 *   qwen-7b               the reverse balance: code in big statements, language in small steps
 *   olmo-7b-sft           code in big statements (its code is the worse mode, 21%); language too
 *   olmo-7b, llama        no code (their code means are unused by their corpora: they write none);
 *                         language in big steps, OLMo's almost all three-operation steps
 * What the pilot's capacities already say (PILOT_CAPACITY, predictTableV2 on `test`): a mode can be
 * placed anywhere between ~100% (every step one operation) and a floor of about 36% (code) / 41%
 * (language), every problem in one step: a two-operation problem written in one step is still right
 * 64-73% of the time, and 40% of `test` has two operations (the doc comment of corpus-v2.ts counted
 * only three-operation problems when it said ~20%). So, under the pilot's capacities, these starting
 * means predict (code frequency / acc. code / acc. language, paper's in brackets):
 *   qwen-math-7b    64.8 / 61.0 / 37.3   (65.0 / 60.9 / 35.0)   language at its floor, within 5
 *   qwen-math-1.5b  53.2 / 52.8 / 40.7   (53.6 / 52.6 / 17.2)   language 23 points above, at its floor
 *   qwen-7b         92.8 / 40.0 / 61.2   (92.2 / 39.9 / 61.5)
 *   olmo-7b-sft     92.8 / 36.6 / 39.8   (98.0 / 21.0 / 40.0)   code 16 points above, at its floor
 *   olmo-7b          0   /  -   / 41.0   ( 0   /  -   /  9.0)   32 points above, at its floor
 *   llama            0   /  -   / 41.0   ( 0   /  -   / 36.8)   at its floor, within 5
 * and no mode forced on `test` above 74% (qwen-7b's language), under the issue's ~85% ceiling.
 * The real v2 bases set the real floors, and they depend on the base's pretraining budget (session 5,
 * `npm run calibrate -- --world 2 --base base-d64 --base-steps N`; REPRODUCTION.md, "World 2"): at
 * 4,000 steps every mode's floor is ~74% (three operations in one step are right 62-64% of the time),
 * so no row is reachable; at 2,000 steps qwen-math-7b, qwen-7b and llama fit within 1.3 points and
 * OLMo2-7B (9%) and OLMo2-7B-SFT's code (21%) stay below a ~36-41% floor. Next: a per-family base
 * budget (a pre-RL prior, fitted before any RL), then family pretraining and the refit passes.
 */
import type { CapacityTable } from "./calibration-v2";
import { SLIPS_OFF, type CorpusSpecV2 } from "./corpus-v2";
import { FAMILIES, getFamily, L, type FamilyId, type FamilySpec } from "./families";
import { MODES } from "./traces";

export interface FamilyCorpusV2 {
  corpus: CorpusSpecV2;
  /** True once its measured base model lands on its Table 1 row (issue 11, item 2); false = starting means. */
  calibrated: boolean;
}

/** World 1's shared spreads: only the means are calibrated. */

function corpusV2(id: FamilyId, steps: { code: [number, number]; language: [number, number] }): CorpusSpecV2 {
  const v1 = FAMILIES[id].corpus;
  return {
    world: 2,
    mode: v1.mode,
    steps: { code: { two: L(steps.code[0]), three: L(steps.code[1]) }, language: { two: L(steps.language[0]), three: L(steps.language[1]) } },
    slip: SLIPS_OFF,
    format: v1.format,
    repetition: v1.repetition,
    topicSeed: id,
  };
}

/** [two, three] means per mode. */
export const FAMILY_CORPORA_V2: Record<FamilyId, FamilyCorpusV2> = {
  "qwen-math-7b": { corpus: corpusV2("qwen-math-7b", { code: [0.5, 0], language: [-2, 4.5] }), calibrated: false },
  "qwen-math-1.5b": { corpus: corpusV2("qwen-math-1.5b", { code: [0.9, 0.9], language: [-0.4, 4.1] }), calibrated: false },
  "qwen-7b": { corpus: corpusV2("qwen-7b", { code: [0.1, 2.9], language: [0.3, -1.1] }), calibrated: false },
  "olmo-7b-sft": { corpus: corpusV2("olmo-7b-sft", { code: [-0.7, 4.8], language: [-1.8, 0.8] }), calibrated: false },
  "olmo-7b": { corpus: corpusV2("olmo-7b", { code: [1, 3], language: [-1.5, 5.4] }), calibrated: false },
  "llama-8b-instruct": { corpus: corpusV2("llama-8b-instruct", { code: [1, 2], language: [0.3, 4.7] }), calibrated: false },
};

/** A family of world 2: world 1's spec (size, base, steps, target) with its world-2 corpus. */
export interface FamilySpecV2 extends Omit<FamilySpec, "corpus"> {
  corpus: CorpusSpecV2;
  calibrated: boolean;
}

export function getFamilyV2(id: string): FamilySpecV2 {
  const fam = getFamily(id);
  return { ...fam, ...FAMILY_CORPORA_V2[fam.id] };
}

/**
 * The pilot's capacities (corpus-v2.ts: world 1's base-d64 continued 600 steps on BASE_CORPUS_V2),
 * first-step accuracies taken as trace accuracies (a trace's other steps are one-operation steps at
 * 100%, or the single step of a whole problem). Only for choosing starting means: the v2 bases are
 * measured by `npm run calibrate -- --world 2`.
 */
export const PILOT_CAPACITY: CapacityTable = {
  cells: MODES.flatMap((mode) => {
    const [c2, c3] = mode === "code" ? [64.4, 17.8] : [73.0, 19.8];
    return [
      { mode, size: 1 as const, ops: 2, accuracy: 100 },
      { mode, size: 1 as const, ops: 3, accuracy: 100 },
      { mode, size: 2 as const, ops: 2, accuracy: c2 },
      { mode, size: 2 as const, ops: 3, accuracy: c2 },
      { mode, size: 3 as const, ops: 3, accuracy: c3 },
    ].map((c) => ({ ...c, n: 1, firstStep: c.accuracy }));
  }),
};
