/**
 * Numerics guard: the first GRPO steps of the shipped default run, recomputed from its checkpoint,
 * match the stored metrics bit for bit. Refactors of grpoStep and new diagnostics may add numbers
 * but must never change the rollouts, their random streams or the update. The run is found by the
 * name today's code gives its spec, so this also checks that run names stay stable.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { setup } from "./helpers";
import { loadCheckpoint } from "../src/model/checkpoint";
import { buildDataset } from "../src/rl/datasets";
import { resolveSpec, runName, runPath, readRun } from "../src/lab/experiments";
import { grpoStep, type StepMetrics } from "../src/rl/grpo";
import { cloneParams, disposeParams } from "../src/model/model";
import { disposeAdam, initAdam } from "../src/model/optim";
import { checkpointPath } from "../src/util/paths";
import { parseReward } from "../src/rl/rewards";
import { makeRng } from "../src/util/rng";

before(setup);

const STEPS = 2;

test("default GRPO steps reproduce the stored qwen-math-7b random0.5 seed-0 run bit for bit", () => {
  const spec = resolveSpec({ family: "qwen-math-7b", reward: "random0.5", seed: 0 });
  const file = runPath(runName(spec));
  assert.ok(fs.existsSync(file), `${file} is not stored: the run name of a default spec changed`);
  const stored = readRun(file);
  const base = loadCheckpoint(checkpointPath(spec.family));
  const params = cloneParams(base.params, true);
  const ref = cloneParams(base.params, false);
  disposeParams(base.params);
  const opt = initAdam(params);
  const ctx = { config: spec.grpo, model: base.header.config, dataset: buildDataset(spec.variant, spec.family), reward: parseReward(spec.reward), seed: spec.seed, rng: makeRng(spec.seed, "grpo"), ref };
  try {
    for (let s = 0; s < STEPS; s++) {
      const m = grpoStep(params, opt, ctx, s) as unknown as Record<string, unknown>;
      const want = stored.metrics[s] as unknown as Record<string, unknown>;
      for (const k of Object.keys(want) as (keyof StepMetrics)[]) {
        if (k === "seconds") continue;
        assert.deepEqual(m[k], want[k], `step ${s} ${k}: ${JSON.stringify(m[k])} != stored ${JSON.stringify(want[k])}`);
      }
    }
  } finally {
    disposeAdam(opt);
    disposeParams(params);
    disposeParams(ref);
  }
});
