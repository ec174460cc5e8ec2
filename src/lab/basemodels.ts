/**
 * The pre-RL evaluation of a family checkpoint: everything Table 1, Fig. 5 and Table 3 need.
 * Stored once per checkpoint in data/evals/<family>-<checkpoint hash>.json and reused, so the
 * notebooks and `npm start` read it instead of recomputing. A world N > 1's reports live in
 * data/evals/world<N>/ and say their world; reading one as another world is an error naming both.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../util/store";
import { backendInfo, initBackend } from "../model/backend";
import { checkpointSha, loadCheckpoint } from "../model/checkpoint";
import { evaluateAvgAtK, evaluateGreedy, type EvalSummary } from "./evaluate";
import { getFamily, type AnyFamilyId, type FamilySpec } from "../world/families";
import { disposeParams, type ModelConfig, type Params } from "../model/model";
import { readJson } from "../util/store";
import { checkpointPath, dataDir, worldDir } from "../util/paths";
import { getSplit } from "../world/problems";
import { makeRng } from "../util/rng";
import { CODE_OPENING } from "../world/traces";
import { checkWorld, DEFAULT_WORLD, storedWorld, worldField, type World } from "../world/worlds";

/** The forced prefix of the "use python" intervention (Table 3's "Let's solve this using Python."): code mode's opening. */
export const PYTHON_PREFIX = CODE_OPENING;

export interface BaseModelReport {
  family: AnyFamilyId;
  label: string;
  checkpointSha: string;
  backend: string;
  test: EvalSummary;
  hard: EvalSummary;
  /** Greedy on test with the response forced to start with PYTHON_PREFIX. */
  forcedPython: EvalSummary;
  /** One greedy test response per mode (first found), for Fig. 5. */
  examples: { mode: "code" | "language"; problem: string; label: number; response: string; correct: boolean }[];
  seconds: number;
  /** The checkpoint's world; absent = world 1. */
  world?: World;
}

export function reportPath(family: string, sha: string, world: World = DEFAULT_WORLD): string {
  return path.join(worldDir(path.join(dataDir(), "evals"), world), `${family}-${sha}.json`);
}

/** A family's checkpoint in a world, its identity, and the evaluation file `evalFile` names for it. */
export function familyCheckpoint(familyId: string, world: World, evalFile: (family: string, sha: string, world: World) => string) {
  const fam = getFamily(familyId);
  const ck = checkpointPath(fam.id, world);
  const sha = checkpointSha(ck, world);
  return { fam, ck, sha, file: evalFile(fam.id, sha, world) };
}

export interface StoredOptions {
  world?: World;
  loadOnly?: boolean;
  /** Compute on a few problems and store nothing (tests). */
  smoke?: boolean;
}

/**
 * A measurement of a family's checkpoint stored beside its evaluation (`evalFile`): the stored one
 * when there is one (checked to be of the asked world), else `compute` on the loaded checkpoint,
 * stored unless smoke. With loadOnly a missing file is an error that ends with `howToMake`.
 */
export async function storedMeasurement<T extends object>(what: string, familyId: string, evalFile: (family: string, sha: string, world: World) => string, opts: StoredOptions, howToMake: string, compute: (c: { params: Params; config: ModelConfig; fam: FamilySpec; sha: string; world: World }) => T): Promise<T> {
  const world = opts.world ?? DEFAULT_WORLD;
  const { fam, ck, sha, file } = familyCheckpoint(familyId, world, evalFile);
  if (!opts.smoke && fs.existsSync(file)) {
    const stored = readJson(file, "move it away to recompute") as T & { world?: unknown };
    checkWorld(`${what} ${file}`, storedWorld(stored, `${what} ${file}`), world, "move it away to recompute");
    return stored;
  }
  if (opts.loadOnly) throw new Error(`no stored ${what} of ${fam.id} (${file}); ${howToMake}`);
  await initBackend({ quiet: true });
  const { params, header } = loadCheckpoint(ck, { world });
  try {
    const out = compute({ params, config: header.config, fam, sha, world });
    if (!opts.smoke) writeFileAtomic(file, JSON.stringify(out));
    return out;
  } finally {
    disposeParams(params);
  }
}

/**
 * The stored report for a family's current checkpoint, computing it when missing (unless loadOnly).
 * `smoke` evaluates only a few problems and stores nothing (tests).
 */
export async function baseModelReport(familyId: string, opts: { loadOnly?: boolean; quiet?: boolean; smoke?: boolean; world?: World } = {}): Promise<BaseModelReport> {
  const world = opts.world ?? DEFAULT_WORLD;
  const { fam, ck, sha, file } = familyCheckpoint(familyId, world, reportPath);
  if (!opts.smoke && fs.existsSync(file)) {
    let stored: BaseModelReport;
    try {
      stored = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
      throw new Error(`report ${file} is corrupt (${(e as Error).message}); move it away to recompute`);
    }
    checkWorld(`report ${file}`, storedWorld(stored, `report ${file}`), world, "evaluations are stored per world (data/evals/, data/evals/world<N>/); move it away to recompute");
    return stored;
  }
  if (opts.loadOnly) throw new Error(`no stored evaluation of ${fam.id} (${file}); run npm run eval -- --family ${fam.id}${world === DEFAULT_WORLD ? "" : ` --world ${world}`}, or the notebook with RECOMPUTE`);
  await initBackend({ quiet: opts.quiet });
  const t0 = Date.now();
  const { params, header } = loadCheckpoint(ck, { world });
  const test = getSplit("test").slice(0, opts.smoke ? 40 : undefined);
  const greedy = evaluateGreedy(params, header.config, test);
  const forced = evaluateGreedy(params, header.config, test, { prefix: PYTHON_PREFIX });
  const hard = evaluateAvgAtK(params, header.config, getSplit("hard").slice(0, opts.smoke ? 10 : undefined), { k: opts.smoke ? 2 : 8, temperature: 0.6, rng: makeRng("eval-hard", fam.id) });
  disposeParams(params);
  const examples: BaseModelReport["examples"] = [];
  for (const mode of ["code", "language"] as const) {
    const r = greedy.records.find((x) => x.code === (mode === "code"));
    if (r) examples.push({ mode, problem: r.problem, label: r.label, response: r.response, correct: r.correct });
  }
  const report: BaseModelReport = {
    family: fam.id, label: fam.label, checkpointSha: sha, backend: backendInfo().name,
    test: greedy.summary, hard, forcedPython: forced.summary, examples, seconds: (Date.now() - t0) / 1000, ...worldField(world),
  };
  if (!opts.smoke) writeFileAtomic(file, JSON.stringify(report, null, 1));
  return report;
}
