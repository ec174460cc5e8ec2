/**
 * How a base model is wrong (issue 11, item 3): the spread of its wrong answers, per family.
 *
 * A real model's wrong answers are diverse; world 1's are mostly one shared slip (the last value
 * off by one), so any reward that touches that one token decision flips it everywhere at once.
 * Two measurements, both diagnostics (never calibration targets):
 *   greedy   the wrong greedy answers on `test`: how many distinct values, and the share of the
 *            most common error kind (answer − truth, e.g. "+1"; "no answer" when none parses)
 *   labels   the wrong majority-vote labels on `train` (data/labels): the same two numbers, which
 *            decide what the incorrect-label reward teaches
 * The greedy answers are computed once per checkpoint (500 test problems, a few seconds) and stored
 * beside its evaluation, data/evals/[world<N>/]<family>-<sha>.answers.json.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { labelsPath, majorityLabels } from "../rl/datasets";
import { dataDir, worldDir } from "../util/paths";
import { getFamily, type AnyFamilyId } from "../world/families";
import { getSplit } from "../world/problems";
import { DEFAULT_WORLD, worldField, type World } from "../world/worlds";
import { storedMeasurement, type StoredOptions } from "./basemodels";
import { evaluateGreedy } from "./evaluate";

/** One answer beside the truth; null when no answer parses. */
export interface Answered {
  answer: number | null;
  truth: number;
}

export interface MistakeSpread {
  /** Answers looked at. */
  n: number;
  /** Of them wrong (no answer counts as wrong). */
  wrong: number;
  /** Distinct wrong values ("no answer" counts as one). */
  distinctWrong: number;
  /** Distinct error kinds (answer − truth, or "no answer"): a slip shared by every problem is one kind. */
  distinctKinds: number;
  /** The most common error kind and its share of the wrong answers (percent); null when none is wrong. */
  topKind: string | null;
  topKindShare: number | null;
  /** The most common kinds, with counts, most common first (at most 5). */
  kinds: { kind: string; count: number }[];
}

/** answer − truth as a signed string ("+1", "-12"), or "no answer". */
export function errorKind(a: Answered): string {
  if (a.answer === null) return "no answer";
  const d = a.answer - a.truth;
  return d > 0 ? `+${d}` : String(d);
}

/** The spread of the wrong answers among `answered` (ties between kinds: the first seen). */
export function mistakeSpread(answered: readonly Answered[]): MistakeSpread {
  const wrong = answered.filter((a) => a.answer !== a.truth);
  const counts = new Map<string, number>();
  for (const a of wrong) counts.set(errorKind(a), (counts.get(errorKind(a)) ?? 0) + 1);
  const kinds = [...counts.entries()].map(([kind, count]) => ({ kind, count })).sort((x, y) => y.count - x.count);
  const distinct = new Set(wrong.map((a) => (a.answer === null ? "none" : String(a.answer))));
  return {
    n: answered.length,
    wrong: wrong.length,
    distinctWrong: distinct.size,
    distinctKinds: kinds.length,
    topKind: kinds[0]?.kind ?? null,
    topKindShare: kinds.length ? (100 * kinds[0].count) / wrong.length : null,
    kinds: kinds.slice(0, 5),
  };
}

interface AnswersFile {
  format: 1;
  family: string;
  checkpointSha: string;
  /** Greedy answers on the first answers.length test problems, in split order. */
  answers: (number | null)[];
  /** "1" where the response is code mode (contains "python"). */
  code: string;
  world?: World;
}

export function answersPath(family: string, sha: string, world: World = DEFAULT_WORLD): string {
  return path.join(worldDir(path.join(dataDir(), "evals"), world), `${family}-${sha}.answers.json`);
}

/** A family's greedy test answers: stored, or computed (and stored) unless loadOnly; smoke: 40 problems, never stored. */
export function greedyAnswers(familyId: string, opts: StoredOptions = {}): Promise<AnswersFile> {
  return storedMeasurement("greedy answers", familyId, answersPath, opts, "run the notebook with RECOMPUTE = true", ({ params, config, fam, sha, world }) => {
    const { records } = evaluateGreedy(params, config, getSplit("test").slice(0, opts.smoke ? 40 : undefined));
    return { format: 1, family: fam.id, checkpointSha: sha, answers: records.map((r) => r.answer), code: records.map((r) => (r.code ? "1" : "0")).join(""), ...worldField(world) } satisfies AnswersFile;
  });
}

export interface MistakeReport {
  family: AnyFamilyId;
  label: string;
  world: World;
  /** Wrong greedy answers on test: all, and per mode. */
  greedy: MistakeSpread;
  greedyCode: MistakeSpread;
  greedyLanguage: MistakeSpread;
  /** Wrong majority-vote labels on train; null when the family has no stored labels. */
  labels: MistakeSpread | null;
}

/** The mistake diagnostics of a family's checkpoint (labels read from data/labels, never computed here). */
export async function mistakeReport(familyId: string, opts: { world?: World; loadOnly?: boolean; smoke?: boolean } = {}): Promise<MistakeReport> {
  const fam = getFamily(familyId);
  const world = opts.world ?? DEFAULT_WORLD;
  const g = await greedyAnswers(fam.id, opts);
  const test = getSplit("test");
  const answered = g.answers.map((answer, i) => ({ answer, truth: test[i].answer, code: g.code[i] === "1" }));
  const labels = fs.existsSync(labelsPath(fam.id, world)) ? majorityLabels(fam.id, { world }).records.map((r) => ({ answer: r.majority, truth: r.truth })) : null;
  return {
    family: fam.id, label: fam.label, world,
    greedy: mistakeSpread(answered),
    greedyCode: mistakeSpread(answered.filter((a) => a.code)),
    greedyLanguage: mistakeSpread(answered.filter((a) => !a.code)),
    labels: labels && mistakeSpread(labels),
  };
}
