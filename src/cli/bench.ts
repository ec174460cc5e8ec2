/**
 * npm run bench [-- --json] [--repeats N] [--baseline]
 * Speed of the pieces every experiment is made of, after warm-up, as medians over repeats, with
 * the backend and machine described. Timings live here, never in tests.
 *   trainStepMs        reference configuration: width 64, 2 blocks, 4 heads, MLP 256, batch 64 x 64
 *                      tokens, forward + backward + Adam
 *   trainTokensPerSec  pretraining at the default configuration (response tokens per second)
 *   sampleTokensPerSec KV-cached sampling of one GRPO rollout batch (P x G at temperature 1)
 *   grpoStepSec        one full GRPO step at the default configuration
 *   evalTestSec        greedy evaluation of the 500 test problems
 * With --baseline, the reference step, sampling and the GRPO step are timed again on the
 * straightforward paths the speed-ups replaced (impl.ts), so the speed-up is measured, not recalled.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../backend";
import { loadCheckpoint } from "../checkpoint";
import { corpusBatch } from "../corpus";
import { evaluateGreedy } from "../evaluate";
import { FAMILIES, SIZES } from "../families";
import { DEFAULT_GRPO, grpoStep } from "../grpo";
import { cloneParams, disposeParams, initParams, paramGrads, tokenLogProbs, type Params } from "../model";
import { adamStep, DEFAULT_ADAM, disposeAdam, initAdam } from "../optim";
import { checkpointPath } from "../paths";
import { DEFAULT_PRETRAIN, encodeBatch, examplesToRows, modelConfigFor, trainStep } from "../pretrain";
import { getSplit } from "../problems";
import { parseReward } from "../rewards";
import { makeRng } from "../rng";
import { sampleResponses } from "../sampling";
import { VOCAB_SIZE } from "../tokens";
import { STRAIGHTFORWARD, withImpl } from "../impl";
import { parseFlags, runMain, UsageError } from "./args";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Median seconds of fn over `repeats` calls after `warmup` calls. */
function time(fn: () => void, repeats: number, warmup = 1): number {
  for (let i = 0; i < warmup; i++) fn();
  const xs: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    xs.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(xs);
}

runMain(async () => {
  const f = parseFlags(process.argv.slice(2), {
    repeats: { type: "int", help: "timed repetitions per figure", default: 5 },
    json: { type: "boolean", help: "print one JSON object as the last stdout line" },
    baseline: { type: "boolean", help: "also time the straightforward paths the speed-ups replaced (about a minute more)" },
  }, "usage: npm run bench [-- --json] [--repeats N] [--baseline]");
  const repeats = f.repeats as number;
  if (repeats < 1) throw new UsageError("--repeats must be >= 1");
  const backend = await initBackend();
  const log = (s: string) => console.error(`[bench] ${s}`);

  // 1. reference training step (random tokens: the cost does not depend on them)
  const ref = { vocabSize: VOCAB_SIZE, contextLength: 64, dModel: 64, nLayers: 2, nHeads: 4, dMlp: 256 };
  const refParams = initParams(ref, makeRng("bench", "ref"));
  const refOpt = initAdam(refParams);
  const r = makeRng("bench", "ids");
  const ids = tf.tensor2d(Array.from({ length: 64 * 64 }, () => r.int(VOCAB_SIZE)), [64, 64], "int32");
  const refStep = () => {
    const { value, grads } = paramGrads(refParams, () => tokenLogProbs(refParams, ids, ref).mean().neg() as tf.Scalar);
    adamStep(refParams, grads, refOpt, DEFAULT_ADAM);
    tf.dispose([value, ...Object.values(grads)]);
  };
  const trainStepMs = 1000 * time(refStep, repeats);
  log(`trainStepMs ${trainStepMs.toFixed(0)}`);
  const baseRepeats = Math.min(repeats, 3);
  const baseTrainStepMs = f.baseline ? 1000 * withImpl(STRAIGHTFORWARD, () => time(refStep, baseRepeats)) : null;
  if (baseTrainStepMs !== null) log(`straightforward trainStepMs ${baseTrainStepMs.toFixed(0)}`);
  // Where the time of that step goes, by kernel (tf.profile; kernel times only, no JS overhead).
  const prof = await tf.profile(() => {
    const { value, grads } = paramGrads(refParams, () => tokenLogProbs(refParams, ids, ref).mean().neg() as tf.Scalar);
    tf.dispose([value, ...Object.values(grads)]);
  });
  const byKernel = new Map<string, number>();
  for (const k of prof.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
  const kernelTotal = [...byKernel.values()].reduce((a, b) => a + b, 0);
  const attentionMs = prof.kernels.filter((k) => k.name === "BatchMatMul" && k.inputShapes[0].length === 3 && (k.inputShapes[0][0] ?? 1) > 1).reduce((a, k) => a + Number(k.kernelTimeMs), 0);
  const kernels = [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([name, ms]) => ({ name, ms: Math.round(ms), share: Math.round((100 * ms) / kernelTotal) }));
  log(`forward+backward kernels ${kernelTotal.toFixed(0)} ms, of which attention's batched matMuls ${attentionMs.toFixed(0)} ms: ${kernels.map((k) => `${k.name} ${k.share}%`).join(", ")}`);
  tf.dispose(ids);
  disposeAdam(refOpt);
  disposeParams(refParams);

  // 2. pretraining throughput at the default configuration
  const config = modelConfigFor(SIZES["base-d64"]);
  const family = FAMILIES["qwen-math-7b"];
  const ckFile = checkpointPath(family.id);
  const fromCheckpoint = fs.existsSync(ckFile);
  const policy: Params = fromCheckpoint ? loadCheckpoint(ckFile).params : initParams(config, makeRng("bench", "policy"));
  const train = cloneParams(policy, true);
  const opt = initAdam(train);
  let tokens = 0;
  let step = 0;
  const pre = () => {
    const ex = corpusBatch(family.corpus, makeRng("bench", "batch", step++), DEFAULT_PRETRAIN.batchSize);
    const { ids: bi, mask } = encodeBatch(examplesToRows(ex));
    tokens = mask.sum().dataSync()[0];
    trainStep(train, opt, config, { ...DEFAULT_ADAM, lr: 1e-4 }, bi, mask, 1e-4);
    tf.dispose([bi, mask]);
  };
  const preSec = time(pre, repeats);
  const trainTokensPerSec = tokens / preSec;
  log(`trainTokensPerSec ${trainTokensPerSec.toFixed(0)} (${(preSec * 1000).toFixed(0)} ms per batch of ${DEFAULT_PRETRAIN.batchSize})`);

  // 3. sampling one rollout batch
  const prompts = getSplit("train").slice(0, DEFAULT_GRPO.promptsPerStep).flatMap((p) => Array.from({ length: DEFAULT_GRPO.samplesPerPrompt }, () => p.prompt));
  let sampled = 0;
  let k = 0;
  const sampleBatch = () => {
    const s = sampleResponses(policy, config, prompts, { temperature: 1, maxNewTokens: DEFAULT_GRPO.maxResponseTokens, rng: makeRng("bench", "sample", k++) });
    sampled = s.reduce((a, x) => a + x.tokens.length, 0);
  };
  const sampleSec = time(sampleBatch, repeats);
  const sampleTokensPerSec = sampled / sampleSec;
  log(`sampleTokensPerSec ${sampleTokensPerSec.toFixed(0)} (${prompts.length} rollouts in ${sampleSec.toFixed(2)} s)`);
  let baseSampleTokensPerSec: number | null = null;
  if (f.baseline) {
    const sec = withImpl(STRAIGHTFORWARD, () => time(sampleBatch, baseRepeats));
    baseSampleTokensPerSec = sampled / sec;
    log(`straightforward sampleTokensPerSec ${baseSampleTokensPerSec.toFixed(0)} (${sec.toFixed(2)} s)`);
  }

  // 4. one GRPO step
  const dataset = getSplit("train").map((p) => ({ problem: p, label: p.answer }));
  const ctx = { config: DEFAULT_GRPO, model: config, dataset, reward: parseReward("math"), seed: 0, rng: makeRng("bench", "grpo"), ref: null };
  let g = 0;
  const grpo = () => void grpoStep(train, opt, ctx, g++);
  const grpoStepSec = time(grpo, Math.min(repeats, 3));
  log(`grpoStepSec ${grpoStepSec.toFixed(2)}`);
  const baseGrpoStepSec = f.baseline ? withImpl(STRAIGHTFORWARD, () => time(grpo, baseRepeats)) : null;
  if (baseGrpoStepSec !== null) log(`straightforward grpoStepSec ${baseGrpoStepSec.toFixed(2)}`);

  // 5. greedy evaluation of the test split
  const evalTestSec = time(() => void evaluateGreedy(policy, config, getSplit("test")), Math.min(repeats, 3));
  log(`evalTestSec ${evalTestSec.toFixed(2)}`);
  disposeAdam(opt);
  disposeParams(train);
  disposeParams(policy);

  const cpus = os.cpus();
  const out = {
    trainStepMs, trainTokensPerSec, sampleTokensPerSec, grpoStepSec, evalTestSec,
    // The same figures with both speed-ups off (impl.ts): plain tf.matMul gradients, and one prompt
    // at a time with the whole sequence recomputed per token. Same code otherwise, same machine.
    straightforward: f.baseline ? { trainStepMs: baseTrainStepMs, sampleTokensPerSec: baseSampleTokensPerSec, grpoStepSec: baseGrpoStepSec } : null,
    profile: { forwardBackwardKernelMs: Math.round(kernelTotal), attentionBatchMatMulMs: Math.round(attentionMs), topKernels: kernels },
    backend: backend.name, weights: fromCheckpoint ? ckFile : "random init (no qwen-math-7b checkpoint)",
    machine: { cpu: cpus[0]?.model ?? "unknown", cores: cpus.length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.arch()}` },
    repeats,
  };
  if (f.json) console.log(JSON.stringify(out));
  else {
    console.log(`backend ${out.backend}; ${out.machine.cpu}, ${out.machine.cores} cores, node ${out.machine.node}`);
    console.log(`  trainStepMs          ${trainStepMs.toFixed(0)} ms   (reference: d64, 2 blocks, 64 x 64 tokens, fwd+bwd+Adam)`);
    console.log(`  trainTokensPerSec    ${trainTokensPerSec.toFixed(0)}`);
    console.log(`  sampleTokensPerSec   ${sampleTokensPerSec.toFixed(0)}`);
    console.log(`  grpoStepSec          ${grpoStepSec.toFixed(2)} s`);
    console.log(`  evalTestSec          ${evalTestSec.toFixed(2)} s`);
    if (f.baseline) {
      console.log("straightforward paths (no fast matMul gradient, no KV cache / batching):");
      console.log(`  trainStepMs          ${baseTrainStepMs!.toFixed(0)} ms   (${(baseTrainStepMs! / trainStepMs).toFixed(1)}x the optimised)`);
      console.log(`  sampleTokensPerSec   ${baseSampleTokensPerSec!.toFixed(0)}   (optimised ${(sampleTokensPerSec / baseSampleTokensPerSec!).toFixed(1)}x faster)`);
      console.log(`  grpoStepSec          ${baseGrpoStepSec!.toFixed(2)} s   (optimised ${(baseGrpoStepSec! / grpoStepSec).toFixed(1)}x faster)`);
    }
  }
});
