/**
 * npm run experiment -- --family F --reward R [--variant gt|mv|incorrect|oneshot] [--seed N]
 *                       [--scale smoke|default|full] [--set key=value ...] [--world N] [--fresh] [--json]
 * Runs (or loads, or resumes) one GRPO experiment and prints its headline numbers.
 */
import { VARIANTS } from "../rl/datasets";
import { runOrLoad, runSummary, SCALES, resolveSpec } from "../lab/experiments";
import { DERIVED_FAMILY_IDS, FAMILY_IDS } from "../world/families";
import { parseFlags, runMain, UsageError } from "./args";
import { parseSet, WORLD_FLAG, worldFlag } from "./experiment-args";

runMain(async () => {
  const f = parseFlags(process.argv.slice(2), {
    family: { type: "string", help: `model family: ${[...FAMILY_IDS, ...DERIVED_FAMILY_IDS].join(", ")}` },
    reward: { type: "string", help: "reward name, e.g. math, random0.5, box_only_format, inverse_contain_python_wo_backticks" },
    variant: { type: "string", help: "dataset labels", default: "gt", choices: VARIANTS },
    seed: { type: "int", help: "run seed", default: 0 },
    scale: { type: "string", help: "run size", default: "default", choices: SCALES },
    set: { type: "list", help: "override a GRPO setting, e.g. --set lr=3e-5 --set clip=false (repeatable)" },
    world: WORLD_FLAG,
    fresh: { type: "boolean", help: "also evaluate on the fresh split (in no corpus) at the start and the end" },
    json: { type: "boolean", help: "print one JSON object as the last stdout line" },
  }, "usage: npm run experiment -- --family F --reward R [options]");
  if (!f.family) throw new UsageError("--family is required");
  if (!f.reward) throw new UsageError("--reward is required");
  const spec = { family: f.family as string, reward: f.reward as string, variant: f.variant as "gt", seed: f.seed as number, scale: f.scale as "default", overrides: parseSet((f.set as string[] | undefined) ?? []), world: worldFlag(f), ...(f.fresh ? { fresh: true } : {}) };
  resolveSpec(spec); // every check before any compute
  const run = await runOrLoad(spec);
  const s = runSummary(run);
  if (f.json) console.log(JSON.stringify(s));
  else console.log(`${s.name}\n  test accuracy ${s.initialAccuracy.toFixed(1)}% -> ${s.finalAccuracy.toFixed(1)}%, code frequency ${s.initialCodeFrequency.toFixed(1)}% -> ${s.finalCodeFrequency.toFixed(1)}% over ${s.steps} steps`);
});
