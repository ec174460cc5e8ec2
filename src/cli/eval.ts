/**
 * npm run eval -- --family <id> [--split test|hard|fresh|train] [--prefix TEXT] [--world N] [--json]
 * Greedy pass@1, code frequency, accuracy per mode and boxed rate of a shipped checkpoint, and
 * avg@8 at temperature 0.6 on `hard`. The standard evaluation of a family (test, no prefix, avg@8)
 * is stored in data/evals/ and reused, so running it again is instant.
 * --memorisation: `test` beside `fresh` (greedy row, recall of the bare answer line, correct answers
 * without a correct derivation: src/lab/contamination.ts), stored and reused the same way.
 */
import { initBackend } from "../model/backend";
import { loadCheckpoint } from "../model/checkpoint";
import { evaluateAvgAtK, evaluateGreedy, type EvalSummary } from "../lab/evaluate";
import { baseModelReport } from "../lab/basemodels";
import { disposeParams } from "../model/model";
import { DERIVED_FAMILY_IDS, FAMILY_IDS, getFamily } from "../world/families";
import { familyNotInWorld } from "../world/families-v2";
import { memorisationReport, type SplitMemory } from "../lab/contamination";
import { checkpointPath } from "../util/paths";
import { getSplit, SPLITS, type SplitName } from "../world/problems";
import { makeRng } from "../util/rng";
import { parseFlags, runMain, UsageError } from "./args";
import { WORLD_FLAG, worldFlag } from "./experiment-args";

const fmt = (x: number | null) => (x === null ? "  -  " : x.toFixed(1).padStart(5));

runMain(async () => {
  const f = parseFlags(process.argv.slice(2), {
    family: { type: "string", help: `model family: ${[...FAMILY_IDS, ...DERIVED_FAMILY_IDS].join(", ")}` },
    checkpoint: { type: "string", help: "evaluate this checkpoint file instead of a family's" },
    split: { type: "string", help: "problems to evaluate", default: "test", choices: SPLITS },
    prefix: { type: "string", help: 'force the response to start with this text (e.g. "python ")' },
    "hard-k": { type: "int", help: "samples per problem for avg@k on hard (0 = skip)", default: 8 },
    world: WORLD_FLAG,
    memorisation: { type: "boolean", help: "test beside fresh: what the checkpoint memorised (stored per checkpoint)" },
    json: { type: "boolean", help: "print one JSON object as the last stdout line" },
  }, "usage: npm run eval -- --family <id> [options]");
  if (!f.family && !f.checkpoint) throw new UsageError("--family is required");
  const notHere = f.family ? familyNotInWorld(f.family as string, worldFlag(f)) : null;
  if (notHere) throw new UsageError(notHere);
  if (f.memorisation) {
    if (!f.family || f.checkpoint) throw new UsageError("--memorisation measures a family's checkpoint: give --family (not --checkpoint)");
    const r = await memorisationReport(f.family as string, { world: worldFlag(f) });
    if (f.json) return void console.log(JSON.stringify(r));
    console.log(`${r.label}: memorisation (greedy; ${r.backend})`);
    console.log(`                        test    fresh`);
    const row = (name: string, get: (m: SplitMemory) => number | null) => console.log(`  ${name.padEnd(20)}${fmt(get(r.splits.test))}   ${fmt(get(r.splits.fresh))}`);
    row("accuracy", (m) => m.greedy.accuracy);
    row("code frequency", (m) => m.greedy.codeFrequency);
    row("answer-line recall", (m) => m.recall);
    row("underived (% right)", (m) => m.underived);
    return;
  }
  if ((f["hard-k"] as number) < 0) throw new UsageError("--hard-k must be >= 0");
  const fam = f.family ? getFamily(f.family as string) : null;
  const world = worldFlag(f);
  const file = (f.checkpoint as string | undefined) ?? checkpointPath(fam!.id, world);
  await initBackend();
  const split = f.split as SplitName;
  const t0 = Date.now();
  let summary: EvalSummary;
  let hard: EvalSummary | null = null;
  if (fam && !f.checkpoint && split === "test" && !f.prefix && f["hard-k"] === 8) {
    // The standard evaluation of a shipped family: stored in data/evals/ and reused by the notebooks.
    const report = await baseModelReport(fam.id, { world });
    summary = report.test;
    hard = report.hard;
  } else {
    const ck = loadCheckpoint(file, { world });
    summary = evaluateGreedy(ck.params, ck.header.config, getSplit(split), { prefix: f.prefix as string | undefined }).summary;
    if ((f["hard-k"] as number) > 0) {
      hard = evaluateAvgAtK(ck.params, ck.header.config, getSplit("hard"), { k: f["hard-k"] as number, temperature: 0.6, rng: makeRng("eval-hard", fam?.id ?? file) });
    }
    disposeParams(ck.params);
  }
  const testSec = (Date.now() - t0) / 1000;
  const out = { family: fam?.id ?? null, checkpoint: file, split, prefix: f.prefix ?? null, ...summary, hardAvgAt8: hard?.accuracy ?? null, hardCodeFrequency: hard?.codeFrequency ?? null, seconds: testSec };
  if (f.json) {
    console.log(JSON.stringify(out));
    return;
  }
  const t = fam?.target;
  console.log(`${fam?.label ?? file} on ${split} (n=${summary.n}, greedy${f.prefix ? `, prefix ${JSON.stringify(f.prefix)}` : ""}), ${testSec.toFixed(1)} s`);
  console.log(`                   ours    paper`);
  console.log(`  accuracy        ${fmt(summary.accuracy)}   ${fmt(t?.accuracy ?? null)}`);
  console.log(`  code frequency  ${fmt(summary.codeFrequency)}   ${fmt(t?.codeFrequency ?? null)}`);
  console.log(`  acc. code       ${fmt(summary.accuracyCode)}   ${fmt(t?.accuracyCode ?? null)}   (${summary.nCode} responses)`);
  console.log(`  acc. language   ${fmt(summary.accuracyLanguage)}   ${fmt(t?.accuracyLanguage ?? null)}   (${summary.nLanguage} responses)`);
  console.log(`  boxed rate      ${fmt(summary.boxedRate)}`);
  if (hard) console.log(`  hard avg@${f["hard-k"]}     ${fmt(hard.accuracy)}   (code ${hard.codeFrequency.toFixed(1)}%)`);
});
