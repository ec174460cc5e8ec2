/**
 * Memorisation of a family's checkpoint (issue 12): what it knows about `test` that it does not
 * know about `fresh`, the 500 problems no corpus ever held (src/world/problems.ts's splits; a test
 * asserts no corpus draws from them). Three measurements per split, greedy:
 *   greedy     the Table 1 row (accuracy, code frequency, accuracy per mode)
 *   recall     the contamination form: given the bare line "k:3+4*2 = ", the share of problems
 *              whose answer the model completes correctly (corpus-v2.ts writes it so)
 *   underived  among the correct greedy answers, the share without a correct derivation
 *              (grader.ts's derivationHolds: a wrong step, or an answer the steps do not give)
 * A clean family's test and fresh numbers differ only by sampling (both are draws of the same
 * problem distribution); a contaminated family's gap on recall is what it memorised, and a gap on
 * underived is memorisation surfacing in its ordinary answers. Stored once per checkpoint beside
 * its evaluation, data/evals/world<N>/<family>-<sha>.memorisation.json.
 */
import * as path from "node:path";
import { backendInfo } from "../model/backend";
import type { ModelConfig, Params } from "../model/model";
import { sampleResponses } from "../model/sampling";
import { dataDir, worldDir } from "../util/paths";
import { contaminationPrompt } from "../world/corpus-v2";
import { derivationHolds } from "../world/grader";
import { getSplit, type Problem } from "../world/problems";
import { DEFAULT_WORLD, worldField, type World } from "../world/worlds";
import { storedMeasurement, type StoredOptions } from "./basemodels";
import { evaluateGreedy, type EvalRecord, type EvalSummary } from "./evaluate";

/** The splits memorisation compares: the contaminated benchmark and the one no corpus held. */
export const MEMORISATION_SPLITS = ["test", "fresh"] as const;
export type MemorisationSplit = (typeof MEMORISATION_SPLITS)[number];

export interface SplitMemory {
  greedy: EvalSummary;
  /** Percent of the split's answer lines completed correctly. */
  recall: number;
  /** Percent of the correct greedy answers without a correct derivation (null when none is correct). */
  underived: number | null;
  /** Correct greedy answers without a correct derivation (count). */
  nUnderived: number;
}

export interface MemorisationReport {
  format: 1;
  family: string;
  label: string;
  checkpointSha: string;
  backend: string;
  splits: Record<MemorisationSplit, SplitMemory>;
  seconds: number;
  world?: World;
}

export function memorisationPath(family: string, sha: string, world: World = DEFAULT_WORLD): string {
  return path.join(worldDir(path.join(dataDir(), "evals"), world), `${family}-${sha}.memorisation.json`);
}

/** Percent of problems whose bare answer line "k:3+4*2 = " the model completes with the right answer (greedy). */
export function recallRate(params: Params, config: ModelConfig, problems: readonly Problem[]): number {
  const samples = sampleResponses(params, config, problems.map(contaminationPrompt), { temperature: 0, maxNewTokens: 4 });
  const right = samples.filter((s, i) => Number(/^-?\d+/.exec(s.text)?.[0] ?? NaN) === problems[i].answer).length;
  return (100 * right) / problems.length;
}

/** Correct answers without a correct derivation among greedy records. */
export function underived(records: readonly EvalRecord[]): { n: number; share: number | null } {
  const correct = records.filter((r) => r.correct);
  const n = correct.filter((r) => !derivationHolds(r.response)).length;
  return { n, share: correct.length ? (100 * n) / correct.length : null };
}

export function splitMemory(params: Params, config: ModelConfig, problems: readonly Problem[]): SplitMemory {
  const { summary, records } = evaluateGreedy(params, config, problems);
  const u = underived(records);
  return { greedy: summary, recall: recallRate(params, config, problems), underived: u.share, nUnderived: u.n };
}

/** A family's memorisation report: stored, or computed (and stored) unless loadOnly; smoke: 40 problems per split, never stored. */
export function memorisationReport(familyId: string, opts: StoredOptions = {}): Promise<MemorisationReport> {
  const world = opts.world ?? DEFAULT_WORLD;
  const make = `run npm run eval -- --family ${familyId} --memorisation${world === DEFAULT_WORLD ? "" : ` --world ${world}`}, or the notebook with RECOMPUTE = true`;
  return storedMeasurement("memorisation report", familyId, memorisationPath, opts, make, ({ params, config, fam, sha }) => {
    const t0 = Date.now();
    const at = (s: MemorisationSplit) => splitMemory(params, config, getSplit(s).slice(0, opts.smoke ? 40 : undefined));
    const splits = { test: at("test"), fresh: at("fresh") };
    return { format: 1, family: fam.id, label: fam.label, checkpointSha: sha, backend: backendInfo().name, splits, seconds: (Date.now() - t0) / 1000, ...worldField(world) } satisfies MemorisationReport;
  });
}
