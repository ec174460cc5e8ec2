/**
 * npm run label -- --family <id> [--world N]
 * Majority-vote labels of the train split by the family's pre-RL checkpoint (64 samples per
 * prompt at temperature 1.0), stored once in data/labels/<family>.json (world N > 1: data/labels/world<N>/). The mv, incorrect and
 * one-shot datasets read them; `npm run sweep` computes them before the runs that need them.
 */
import { initBackend } from "../model/backend";
import { majorityLabels } from "../rl/datasets";
import { FAMILY_IDS, getFamily } from "../world/families";
import { parseFlags, runMain, UsageError } from "./args";
import { WORLD_FLAG, worldFlag } from "./experiment-args";

runMain(async () => {
  const f = parseFlags(process.argv.slice(2), { family: { type: "string", help: `model family: ${FAMILY_IDS.join(", ")}` }, world: WORLD_FLAG }, "usage: npm run label -- --family <id> [--world N]");
  if (!f.family) throw new UsageError("--family is required");
  const fam = getFamily(f.family as string);
  await initBackend();
  const labels = majorityLabels(fam.id, { world: worldFlag(f) });
  const n = labels.records.length;
  const right = labels.records.filter((r) => r.majority === r.truth).length;
  console.log(`${fam.id}: majority label correct on ${right}/${n} train prompts (${((100 * right) / n).toFixed(1)}%)`);
});
