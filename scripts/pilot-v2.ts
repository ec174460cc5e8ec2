/**
 * The world-2 pilot (issue 11, item 1; not part of npm test or npm start): does a step that
 * combines 2 or 3 operations give the 30-70% accuracy with diverse errors that calibration needs?
 *
 *   npx tsx scripts/pilot-v2.ts [--steps 300] [--out /tmp/pilot-v2.json]
 *
 * Continues world 1's base-d64 (which knows one-operation steps, and two-operation language steps)
 * on BASE_CORPUS_V2 (both modes, every step size equally often, no slips) for a few hundred steps
 * (a real v2 base is pretrained from scratch in its own world; this shortcut only fits a pilot),
 * and probes the first written value per (mode, step size) on the 500 test problems before and
 * after (src/lab/step-probe.ts).
 */
import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/model/backend";
import { loadCheckpoint } from "../src/model/checkpoint";
import { initAdam, disposeAdam } from "../src/model/optim";
import { disposeParams, type ModelConfig, type Params } from "../src/model/model";
import { encodeBatch, examplesToRows, trainStep } from "../src/lab/pretrain";
import { probeSteps } from "../src/lab/step-probe";
import { checkpointPath } from "../src/util/paths";
import { makeProgress } from "../src/util/progress";
import { makeRng } from "../src/util/rng";
import { BASE_CORPUS_V2, corpusBatchV2, STEP_SIZES } from "../src/world/corpus-v2";
import { getSplit } from "../src/world/problems";
import { MODES } from "../src/world/traces";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};

function probeAll(params: Params, config: ModelConfig) {
  const test = getSplit("test");
  return MODES.flatMap((mode) => STEP_SIZES.map((size) => {
    const p = probeSteps(params, config, test, mode, size);
    return { mode, size, n: p.n, accuracy: +p.accuracy.toFixed(1), wrong: p.spread.wrong, distinctWrong: p.spread.distinctWrong, errorKinds: p.spread.distinctKinds, topKind: p.spread.topKind, topKindShare: p.spread.topKindShare === null ? null : +p.spread.topKindShare.toFixed(1), kinds: p.spread.kinds };
  }));
}

(async () => {
  await initBackend();
  const steps = Number(arg("steps", "300"));
  const out = arg("out", "/tmp/pilot-v2.json");
  const ck = loadCheckpoint(checkpointPath("base-d64"));
  const config = ck.header.config;
  const params = ck.params;
  const t0 = Date.now();
  const before = probeAll(params, config);
  console.table(before.map(({ kinds, ...r }) => r));
  const opt = initAdam(params);
  const adam = { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01, gradClip: 1.0 };
  const rng = makeRng("pilot-v2");
  const progress = makeProgress("[pilot-v2]", steps);
  const t1 = Date.now();
  for (let s = 0; s < steps; s++) {
    const { ids, mask } = encodeBatch(examplesToRows(corpusBatchV2(BASE_CORPUS_V2, rng.fork("batch", s), 64)));
    const lr = s < 20 ? (1e-3 * (s + 1)) / 20 : 1e-3 * (0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * (s - 20)) / Math.max(1, steps - 20))));
    const loss = trainStep(params, opt, config, adam, ids, mask, lr);
    tf.dispose([ids, mask]);
    progress.tick(s + 1, `loss ${loss.toFixed(4)}`);
  }
  progress.finish();
  const trainSec = (Date.now() - t1) / 1000;
  const after = probeAll(params, config);
  console.table(after.map(({ kinds, ...r }) => r));
  fs.writeFileSync(out, JSON.stringify({ steps, trainSec, totalSec: (Date.now() - t0) / 1000, before, after }, null, 1));
  console.log(`wrote ${out}; ${steps} steps in ${trainSec.toFixed(0)} s`);
  disposeAdam(opt);
  disposeParams(params);
})();
