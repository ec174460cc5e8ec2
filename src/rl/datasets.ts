/**
 * RL datasets: the train split with labels of one of four variants.
 *
 *   gt         ground truth
 *   mv         majority vote: the most common answer of 64 samples (temperature 1.0) from the
 *              pre-RL model, made once, offline, stored in data/labels/<family>.json
 *   incorrect  only the prompts whose majority label is wrong, labelled with that wrong label
 *   oneshot    one example, repeated: the train prompt whose 64-sample accuracy is closest to
 *              50% (the base model solves it sometimes, not always, as the paper's pi1 was picked)
 * Labels of world N > 1 live in data/labels/world<N>/ and say their world; a label file of another
 * world or another checkpoint is an error naming both, never relabelled over.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { removeDebris, writeFileAtomic } from "../util/store";
import { checkpointSha, loadCheckpoint } from "../model/checkpoint";
import { parseAnswer } from "../world/grader";
import { disposeParams } from "../model/model";
import { checkpointPath, dataDir, worldDir } from "../util/paths";
import { getSplit, type Problem } from "../world/problems";
import { makeProgress } from "../util/progress";
import { makeRng } from "../util/rng";
import { sampleResponses } from "../model/sampling";
import { MAX_RESPONSE_TOKENS } from "../world/corpus";
import { checkWorld, DEFAULT_WORLD, storedWorld, worldField, type World } from "../world/worlds";

export const VARIANTS = ["gt", "mv", "incorrect", "oneshot"] as const;
export type Variant = (typeof VARIANTS)[number];

export const LABEL_SAMPLES = 64;
const LABELS_FORMAT = 1;

export interface LabelRecord {
  problem: string;
  truth: number;
  /** Majority answer (null when no sample gave a parseable answer). */
  majority: number | null;
  /** How many of the samples gave the majority answer. */
  majorityCount: number;
  /** How many of the samples were correct. */
  correctCount: number;
}

export interface LabelFile {
  format: number;
  checkpoint: string;
  /** Identity of the checkpoint that labelled (labels of a retrained family are stale). */
  checkpointSha: string;
  samples: number;
  temperature: number;
  records: LabelRecord[];
  /** The world of the checkpoint that labelled; absent = world 1. */
  world?: World;
}

export function labelsPath(checkpointName: string, world: World = DEFAULT_WORLD): string {
  return path.join(worldDir(path.join(dataDir(), "labels"), world), `${checkpointName}.json`);
}

/** Majority answer of a list (ties: the answer that reached the top count first). */
export function majority(answers: readonly (number | null)[]): { value: number | null; count: number } {
  const counts = new Map<number, number>();
  let best: number | null = null;
  let bestCount = 0;
  for (const a of answers) {
    if (a === null) continue;
    const c = (counts.get(a) ?? 0) + 1;
    counts.set(a, c);
    if (c > bestCount) {
      best = a;
      bestCount = c;
    }
  }
  return { value: best, count: bestCount };
}

/** Majority-vote records for problems: `samples` answers each at temperature 1 from the checkpoint. */
function labelProblems(checkpointName: string, world: World, problems: readonly Problem[], samples: number, quiet: boolean): LabelRecord[] {
  const ck = loadCheckpoint(checkpointPath(checkpointName, world), { world });
  const rng = makeRng("labels", checkpointName);
  const records: LabelRecord[] = [];
  const chunk = 16;
  const progress = quiet ? null : makeProgress(`[labels ${checkpointName}]`, problems.length, { unit: "prompts" });
  for (let s = 0; s < problems.length; s += chunk) {
    const probs = problems.slice(s, s + chunk);
    const prompts = probs.flatMap((p) => Array.from({ length: samples }, () => p.prompt));
    const out = sampleResponses(ck.params, ck.header.config, prompts, { temperature: 1, maxNewTokens: MAX_RESPONSE_TOKENS, rng: rng.fork(s) });
    probs.forEach((p, j) => {
      const answers = out.slice(j * samples, (j + 1) * samples).map((x) => parseAnswer(x.text).value);
      const m = majority(answers);
      records.push({ problem: p.text, truth: p.answer, majority: m.value, majorityCount: m.count, correctCount: answers.filter((a) => a === p.answer).length });
    });
    progress?.tick(Math.min(s + chunk, problems.length));
  }
  progress?.finish();
  disposeParams(ck.params);
  return records;
}

/** Smoke-scale stand-in for the labels (tests): the first 32 train prompts, 4 samples each, never stored. */
export const SMOKE_LABELS = { prompts: 32, samples: 4 };
const smokeCache = new Map<string, LabelRecord[]>();
function smokeLabels(checkpointName: string, world: World): LabelRecord[] {
  const key = `${checkpointName}:${world}:${checkpointSha(checkpointPath(checkpointName, world), world)}`;
  let r = smokeCache.get(key);
  if (!r) smokeCache.set(key, (r = labelProblems(checkpointName, world, getSplit("train").slice(0, SMOKE_LABELS.prompts), SMOKE_LABELS.samples, true)));
  return r;
}

/** Label the train split by majority vote with the named checkpoint of a world (cached on disk). */
export function majorityLabels(checkpointName: string, opts: { quiet?: boolean; world?: World } = {}): LabelFile {
  const world = opts.world ?? DEFAULT_WORLD;
  const file = labelsPath(checkpointName, world);
  const ckFile = checkpointPath(checkpointName, world);
  if (fs.existsSync(file)) {
    let parsed: LabelFile;
    try {
      parsed = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
      throw new Error(`label file ${file} is corrupt (${(e as Error).message}); delete it to relabel`);
    }
    const train = getSplit("train");
    if (parsed.format !== LABELS_FORMAT || parsed.records?.length !== train.length || parsed.records.some((r, i) => r.problem !== train[i].text)) {
      throw new Error(`label file ${file} does not match this code (format or train split); delete it to relabel`);
    }
    checkWorld(`label file ${file}`, storedWorld(parsed, `label file ${file}`), world, "labels are made per world, in data/labels/ (world 1) or data/labels/world<N>/; move it there, or delete it to relabel");
    const sha = checkpointSha(ckFile, world);
    if (parsed.checkpointSha !== sha) throw new Error(`label file ${file} was made by another ${checkpointName} checkpoint (${parsed.checkpointSha}, now ${sha}); delete it to relabel`);
    return parsed;
  }
  // Temporaries of a labelling killed inside its atomic write go before a new one starts.
  removeDebris(path.dirname(file), path.basename(file));
  const records = labelProblems(checkpointName, world, getSplit("train"), LABEL_SAMPLES, opts.quiet ?? false);
  const out: LabelFile = { format: LABELS_FORMAT, checkpoint: checkpointName, checkpointSha: checkpointSha(ckFile, world), samples: LABEL_SAMPLES, temperature: 1, records, ...worldField(world) };
  writeFileAtomic(file, JSON.stringify(out));
  return out;
}

export interface LabelledProblem {
  problem: Problem;
  label: number;
}

/**
 * The RL dataset of a variant for a checkpoint (mv/incorrect/oneshot label with it, once).
 * `smoke` labels only the first prompts with a few samples (the tests' smoke runs).
 */
export function buildDataset(variant: string, checkpointName: string, opts: { smoke?: boolean; world?: World } = {}): LabelledProblem[] {
  const world = opts.world ?? DEFAULT_WORLD;
  if (!(VARIANTS as readonly string[]).includes(variant)) throw new Error(`unknown dataset variant "${variant}"; valid: ${VARIANTS.join(", ")}`);
  const train = getSplit("train").slice(0, opts.smoke ? SMOKE_LABELS.prompts : undefined);
  if (variant === "gt") return train.map((p) => ({ problem: p, label: p.answer }));
  const labels = opts.smoke ? smokeLabels(checkpointName, world) : majorityLabels(checkpointName, { world }).records;
  if (variant === "mv") return train.flatMap((p, i) => (labels[i].majority === null ? [] : [{ problem: p, label: labels[i].majority! }]));
  if (variant === "incorrect") return train.flatMap((p, i) => (labels[i].majority !== null && labels[i].majority !== p.answer ? [{ problem: p, label: labels[i].majority! }] : []));
  const samples = opts.smoke ? SMOKE_LABELS.samples : LABEL_SAMPLES;
  let best = 0;
  labels.forEach((r, i) => {
    if (Math.abs(r.correctCount / samples - 0.5) < Math.abs(labels[best].correctCount / samples - 0.5)) best = i;
  });
  return [{ problem: train[best], label: train[best].answer }];
}
