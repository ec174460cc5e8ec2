/**
 * npm run pretrain -- --family <id>   (trains the family's shared base first if it is missing; in world 2
 *                                     at the family's own base budget and mode, baseSteps and baseMode
 *                                     in families-v2.ts)
 * npm run pretrain -- --base <id>     (only a shared base; --base-steps N: at a pretraining budget of N
 *                                     steps instead of 4,000, its own checkpoint <id>-<N>steps;
 *                                     world 2's --base-mode x: code at logit x in its corpus, -mode<x>)
 * --world 2: world 2's shared base (baseCorpusV2, from scratch) and families (their v2 corpora,
 * src/world/families-v2.ts) into data/checkpoints/world2/. A family whose v2 spec is not calibrated
 * yet says so: its checkpoint is a calibration pass (corpus-v2.ts's plan, step 4), to be evaluated
 * and fed back to `npm run calibrate -- --world 2`.
 * Resumable: interrupt it and run the same command again. Never overwrites a finished checkpoint.
 */
import * as fs from "node:fs";
import { initBackend } from "../model/backend";
import { BASE_CORPUS, BASE_IDS, DERIVED_FAMILY_IDS, FAMILY_IDS, SIZES, getFamily, type BaseId } from "../world/families";
import { checkpointPath } from "../util/paths";
import { BASE_STEPS, budgetedBase, DEFAULT_PRETRAIN, expectBudget, otherParent, runStage } from "../lab/pretrain";
import { parseFlags, runMain, UsageError } from "./args";
import { WORLD_FLAG, worldFlag } from "./experiment-args";
import { baseCorpusV2, ownBaseMode } from "../world/corpus-v2";
import { familyNotInWorld, getFamilyV2 } from "../world/families-v2";
import type { World } from "../world/worlds";

/**
 * A shared base at a pretraining budget (world 2: and, given `mode`, with that code share in its
 * corpus): the stored one (checked to be that budget), else trained.
 */
function trainBase(id: BaseId, steps: number, world: World, mode?: number): string {
  const out = checkpointPath(budgetedBase(id, steps, mode), world);
  if (fs.existsSync(out)) {
    expectBudget(out, world, steps, "move it away to retrain", mode);
    return out;
  }
  runStage({ name: id, out, corpus: world === 1 ? BASE_CORPUS : baseCorpusV2(mode), size: SIZES[id], parent: null, train: { ...DEFAULT_PRETRAIN, steps }, world });
  return out;
}

runMain(async () => {
  const f = parseFlags(process.argv.slice(2), {
    family: { type: "string", help: `family to pretrain: ${[...FAMILY_IDS, ...DERIVED_FAMILY_IDS].join(", ")} (the last in world 2 only)` },
    base: { type: "string", help: `only train a shared base: ${BASE_IDS.join(", ")}`, choices: BASE_IDS },
    "base-steps": { type: "int", help: `optimizer steps of the shared base (default ${BASE_STEPS}; a world-2 family's default is its spec's baseSteps; another budget is a calibration experiment, recorded as the family's parent)` },
    "base-mode": { type: "number", help: "world 2: the logit of p(code) in the base's corpus (default 0, both modes equally; a family's default is its spec's baseMode), its own checkpoint <id>[-<N>steps]-mode<x>" },
    steps: { type: "int", help: "continued-pretraining steps of the family (default: the family spec's)" },
    world: WORLD_FLAG,
  }, "usage: npm run pretrain -- --family <id> | --base <id> [--world N] [--base-steps N] [--base-mode x]");
  if (!f.family && !f.base) throw new UsageError("give --family <id> or --base <id>");
  const baseSteps = f["base-steps"] as number | undefined;
  if (baseSteps !== undefined && baseSteps < 1) throw new UsageError("--base-steps must be >= 1");
  const world = worldFlag(f);
  if (world === 1 && f["base-mode"] !== undefined) throw new UsageError("a base's mode (--base-mode) is a world-2 knob; add --world 2");
  if (f.base) {
    await initBackend();
    console.error(`[pretrain] base ready: ${trainBase(f.base as BaseId, baseSteps ?? BASE_STEPS, world, ownBaseMode(f["base-mode"] as number | undefined))}`);
    return;
  }
  const notHere = familyNotInWorld(f.family as string, world);
  if (notHere) throw new UsageError(notHere);
  const fam = world === 1 ? { ...getFamily(f.family as string), baseSteps: BASE_STEPS, stream: f.family as string } : getFamilyV2(f.family as string);
  // A family's base budget is a pre-RL prior of its spec. Another one is allowed as an experiment: the
  // checkpoint's header names its parent, and calibrate's second pass ignores a family from another base.
  const budget = baseSteps ?? fam.baseSteps;
  if (budget !== fam.baseSteps) console.error(`[pretrain] ${fam.id} from its base at ${budget} steps, not its spec's ${fam.baseSteps}: a calibration experiment (the header records the parent)`);
  const famBaseMode = "baseMode" in fam ? ownBaseMode(fam.baseMode) : undefined;
  const baseMode = ownBaseMode((f["base-mode"] as number | undefined) ?? famBaseMode);
  if (baseMode !== famBaseMode) console.error(`[pretrain] ${fam.id} from a base of mode ${baseMode ?? 0}, not its spec's ${famBaseMode ?? 0}: a calibration experiment (the header records the parent)`);
  await initBackend();
  const steps = (f.steps as number | undefined) ?? fam.steps;
  if (steps < 1) throw new UsageError("--steps must be >= 1");
  const out = checkpointPath(fam.id, world);
  if (fs.existsSync(out)) {
    const wanted = checkpointPath(budgetedBase(fam.base, budget, baseMode), world);
    const parent = otherParent(out, wanted);
    if (parent) throw new Error(`${out} exists but was pretrained from ${parent}, not ${wanted}; move it away to retrain from that base`);
    console.error(`[pretrain] ${out} exists; delete it to retrain`);
    return;
  }
  if ("calibrated" in fam && !fam.calibrated) {
    console.error(`[pretrain] ${fam.id}'s world-${world} corpus is NOT calibrated yet (src/world/families-v2.ts marks a family calibrated once its measured row lands on Table 1): this checkpoint is a calibration pass, not a Table 1 model; evaluate it (npm run eval -- --family ${fam.id} --world ${world}) and refit (npm run calibrate -- --world ${world})`);
  }
  const base = trainBase(fam.base, budget, world, baseMode);
  runStage({
    name: `family:${fam.id}`, out, corpus: fam.corpus, size: fam.size, parent: base,
    // a derived family sees its parent's batches (its seed and stream), changed only where its corpus is
    train: { ...DEFAULT_PRETRAIN, steps, lr: 1e-3, warmup: 20, seed: `pretrain-${fam.stream}` },
    ...(fam.stream === fam.id ? {} : { stream: `family:${fam.stream}` }),
    meta: { family: fam.id, analogOf: fam.analogOf, label: fam.label },
    world,
  });
  console.error(`[pretrain] family ready: ${out}`);
});
