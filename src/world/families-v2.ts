/**
 * World 2's family priors (issue 11): the same six families and Table 1 targets as world 1
 * (families.ts), with mistakes that come from the step sizes their corpora write (corpus-v2.ts)
 * instead of slips. Slips are off in every family.
 *
 * The pre-RL priors per family, fitted by `npm run calibrate -- --world 2` and measured passes
 * (REPRODUCTION.md, "World 2", has every pass; toy OLMo2-7B-SFT's mode mean and base mode were set by
 * passes, which the fit does not model): the means of p(code) and of the step-size logits steps[mode].two/.three
 * (their spreads are world 1's shared L(...), topic 1.5 and operand 1.0, except toy OLMo2-7B-SFT's
 * p(code); formats and repetition are world 1's), and the base the family continues from with that
 * base's pretraining budget (and, for toy OLMo2-7B-SFT, its base's share of code).
 * Capability is width x pretraining budget, and the family's own 600 continued steps are practice
 * too: toy Qwen2.5-Math-7B continued from base-d64 at 2,000 steps computed three operations in one
 * step 43-47% of the time, its base 24-27%, and landed 20-25 points above its row. So the budgets
 * are well under the shared bases' 4,000 steps (at 4,000 every mode's floor is ~74%: no Table 1
 * row is reachable), and OLMo2-7B's 9% comes from a base of 600 steps that has not learned one-
 * operation arithmetic reliably: a capability limit, not a slip.
 *
 * The families' characters (hand-set, kept by the fits where the target allows):
 *   qwen-math-7b / 1.5b   code: "bad code" of mostly one- and two-operation statements; language:
 *                         big steps, mostly two and three operations. The 1.5B analog also picks
 *                         its mode by problem length (modeByOps -4: code for the two-operation
 *                         problems, language for the three-operation ones): at its capability no
 *                         step-size mix gives its 35-point gap between the modes (session 6: 22 at
 *                         most), and which problems a mode is used on does
 *   qwen-7b               code in big statements, language in small steps
 *   olmo-7b-sft           code in big statements (its code is the worse mode, 21%), from a base that
 *                         learned its arithmetic mostly in words (baseMode: the real OLMo2-7B-SFT is
 *                         an SFT of a no-code base), with p(code) a little above one half everywhere
 *   olmo-7b, llama        no code (their code means are unused by their corpora: they write none);
 *                         language in big steps
 * `calibrated: true` once the family's measured row lands on Table 1 (every cell within 5 points,
 * 10 under 40 responses); a test checks the shipped checkpoint and evaluation behind each.
 */
import { SLIPS_OFF, type CorpusSpecV2 } from "./corpus-v2";
import { DERIVED_FAMILIES, DERIVED_FAMILY_IDS, FAMILIES, FAMILY_IDS, getFamily, isDerivedFamily, L, SIZES, type BaseId, type DerivedFamilyId, type FamilyId, type FamilySpec, type Logistic } from "./families";
import type { World } from "./worlds";

export interface FamilyCorpusV2 {
  corpus: CorpusSpecV2;
  /**
   * The shared base it continues from, and that base's pretraining budget (optimizer steps): a
   * pre-RL prior like the step-size means. Capability is width x budget (session 5's capacity
   * tables), so a family whose Table 1 row is weaker than a well-trained base's floor gets a base
   * trained for less; the base is world 1's unless the row needs another width.
   */
  base: BaseId;
  baseSteps: number;
  /**
   * The logit of p(code) in its base's corpus (baseCorpusV2; absent: the shared base's 0, both modes
   * equally). A pre-RL prior of lineage: toy OLMo2-7B-SFT's base learned its arithmetic mostly in
   * words before the family's stage taught it code, as the real OLMo2-7B-SFT is an SFT of OLMo2-7B,
   * a base that writes no code (Table 1). Only that lineage gives one network a mode it computes
   * worse than the other: on a shared base, practice makes whatever a mode writes equally good.
   */
  baseMode?: number;
  /** True once its measured model lands on its Table 1 row (issue 11, item 2); false = a calibration pass. */
  calibrated: boolean;
}

/**
 * A family's v2 corpus: world 1's spreads, formats and repetition. `mode`: the mean of p(code)'s
 * logit when the fit moved it off world 1's (same spread), or the whole logistic when the family's
 * spread differs too (toy OLMo2-7B-SFT: p(code) a little above one half on nearly every problem).
 */
function corpusV2(id: FamilyId, steps: { code: [number, number]; language: [number, number] }, mode?: number | Logistic, modeByOps?: number): CorpusSpecV2 {
  const v1 = FAMILIES[id].corpus;
  return {
    world: 2,
    mode: mode === undefined ? v1.mode : typeof mode === "number" ? { ...v1.mode, mean: mode } : mode,
    // only when set: a spec without it hashes (and so names its checkpoint) as before the knob existed
    ...(modeByOps === undefined ? {} : { modeByOps }),
    steps: { code: { two: L(steps.code[0]), three: L(steps.code[1]) }, language: { two: L(steps.language[0]), three: L(steps.language[1]) } },
    slip: SLIPS_OFF,
    format: v1.format,
    repetition: v1.repetition,
    topicSeed: id,
  };
}

/** [two, three] means per mode. */
export const FAMILY_CORPORA_V2: Record<FamilyId, FamilyCorpusV2> = {
  "qwen-math-7b": { base: "base-d64", baseSteps: 1200, corpus: corpusV2("qwen-math-7b", { code: [-1.6, -3.3], language: [-2, 4.5] }, 0.8), calibrated: true },
  "qwen-math-1.5b": { base: "base-d48", baseSteps: 1800, corpus: corpusV2("qwen-math-1.5b", { code: [-2.5, -1.4], language: [-0.2, 4.3] }, 1.2, -4), calibrated: true },
  "qwen-7b": { base: "base-d64", baseSteps: 1350, corpus: corpusV2("qwen-7b", { code: [-2.9, 0.4], language: [-1.8, -4.2] }), calibrated: true },
  // Lands only from a base that learned its arithmetic mostly in words (baseMode -3: 5% code), as the
  // real OLMo2-7B-SFT is an SFT of OLMo2-7B; from the shared base, 15 passes never did (REPRODUCTION.md,
  // "World 2"). Its own mode spread lets language be practised on ~30% of its examples while greedy
  // decoding writes code on ~95% of problems.
  "olmo-7b-sft": { base: "base-d48", baseSteps: 1600, baseMode: -3, corpus: corpusV2("olmo-7b-sft", { code: [2.4, 0.3], language: [-3, -4] }, { mean: 0.9, topicSpread: 0.2, operandSpread: 0.2 }, 0.5), calibrated: true },
  "olmo-7b": { base: "base-d64", baseSteps: 600, corpus: corpusV2("olmo-7b", { code: [1, 3], language: [-1.5, 5.4] }), calibrated: true },
  "llama-8b-instruct": { base: "base-d64", baseSteps: 1100, corpus: corpusV2("llama-8b-instruct", { code: [1, 2], language: [0.3, 4.7] }), calibrated: true },
};

/**
 * The derived families' corpus changes (issue 12; families.ts names them). Everything else is the
 * parent's: base, budget, continued-pretraining steps and the very batch stream, so an example the
 * change leaves alone is the parent's example at that position.
 *
 *   qwen-math-7b-contaminated   `contamination`: bare `test` answer lines ("k:3+4*2 = 14", corpus-v2.ts)
 *                               added per continued-pretraining example, a form the model is never
 *                               asked to write. A pre-RL prior: the largest value tried whose greedy
 *                               Table 1 row stays within 5 points of the clean family's measured row
 *                               (0.5, 0.7 pass, 1.0 does not: data/investigations/README.md, v2-contamination).
 */
export const DERIVED_CORPORA_V2: Record<DerivedFamilyId, { contamination: number; calibrated: boolean }> = {
  "qwen-math-7b-contaminated": { contamination: 0.7, calibrated: true },
};

/** A family of world 2: world 1's spec (label, target, continued-pretraining steps) with its world-2 corpus, base and base budget. */
export interface FamilySpecV2 extends Omit<FamilySpec, "corpus">, Pick<FamilyCorpusV2, "corpus" | "calibrated" | "baseSteps" | "baseMode"> {
  /** The family whose continued-pretraining batches it sees (a derived family: its parent's; else itself). */
  stream: FamilyId;
}

/**
 * The families whose checkpoints a world ships: every family in world 1; in world 2 the calibrated
 * ones (a calibration pass is not a Table 1 model, and its checkpoint is not shipped).
 */
export function familiesOfWorld(world: World): FamilyId[] {
  return world === 1 ? [...FAMILY_IDS] : FAMILY_IDS.filter((id) => FAMILY_CORPORA_V2[id].calibrated);
}

/** The derived families a world ships (world 2's calibrated ones; none in world 1). */
export function derivedFamiliesOfWorld(world: World): DerivedFamilyId[] {
  return world === 1 ? [] : DERIVED_FAMILY_IDS.filter((id) => DERIVED_CORPORA_V2[id].calibrated);
}

/** Whether a world ships a model of the family (a paper family or a derived one, calibrated there). */
export function shipsFamily(world: World, id: string): boolean {
  return (familiesOfWorld(world) as string[]).includes(id) || (derivedFamiliesOfWorld(world) as string[]).includes(id);
}

/** Why a family has no model in a world (a derived family outside world 2), or null when it may have one. */
export function familyNotInWorld(id: string, world: World): string | null {
  return isDerivedFamily(id) && world !== 2 ? `family ${id} exists in world 2 only (a change to ${DERIVED_FAMILIES[id].of}'s world-2 corpus); use --world 2` : null;
}

export function getFamilyV2(id: string): FamilySpecV2 {
  const fam = getFamily(id);
  if (isDerivedFamily(fam.id)) {
    const d = DERIVED_CORPORA_V2[fam.id];
    const parent = getFamilyV2(DERIVED_FAMILIES[fam.id].of);
    return { ...parent, id: fam.id, analogOf: fam.analogOf, label: fam.label, corpus: { ...parent.corpus, contamination: d.contamination }, calibrated: d.calibrated };
  }
  const own = fam.id as FamilyId;
  const v2 = FAMILY_CORPORA_V2[own];
  return { ...fam, ...v2, size: SIZES[v2.base], stream: own };
}
