/**
 * npm run bench [-- --json] [--repeats N] [--baseline] [--python PATH]
 * Speed of the pieces every experiment is made of, after warm-up, as medians over repeats, with
 * the backend and machine described. Timings live here, never in tests.
 *   trainStepMs        reference configuration: width 64, 2 blocks, 4 heads, MLP 256, batch 64 x 64
 *                      tokens, forward + backward + Adam
 *   torch              the same step in PyTorch (scripts/bench_torch.py, 1 and 2 threads) when
 *                      --python (default /usr/bin/python3) has torch; skipped with a note otherwise
 *   trainTokensPerSec  pretraining at the default configuration (response tokens per second)
 *   sampleTokensPerSec KV-cached sampling of one GRPO rollout batch (P x G at temperature 1)
 *   grpoStepSec        one full GRPO step at the default configuration
 *   paperGrpoStepSec   one GRPO step at the paper's shape: 64 prompts x 16 samples, mini-batch 128
 *   evalTestSec        greedy evaluation of the 500 test problems
 * "previous" figures time today's code with issue 13's speed-ups off (impl.ts PREVIOUS: attention
 * kernel, copy aliases, the shared first forward, dropping finished rows while sampling, column
 * sums, fused GELU, its SIMD tanh), interleaved
 * with the current ones (A, B, A, B, ...) so that load on a shared machine hits both alike; ratios
 * are medians of per-pair ratios, with their range. The PyTorch ratio uses 1 thread: tfjs's wasm
 * backend runs one thread in Node. With --baseline, the reference step, sampling and the GRPO step
 * are also timed on the straightforward paths of the earlier speed-ups (impl.ts STRAIGHTFORWARD).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../model/backend";
import { loadCheckpoint } from "../model/checkpoint";
import { corpusBatch } from "../world/corpus";
import { evaluateGreedy } from "../lab/evaluate";
import { FAMILIES, SIZES } from "../world/families";
import { DEFAULT_GRPO, grpoStep, resolveGrpoConfig, type StepPhases } from "../rl/grpo";
import { cloneParams, disposeParams, initParams, paramGrads, tokenLogProbs, type Params } from "../model/model";
import { adamStep, DEFAULT_ADAM, disposeAdam, initAdam } from "../model/optim";
import { checkpointPath } from "../util/paths";
import { DEFAULT_PRETRAIN, encodeBatch, examplesToRows, modelConfigFor, trainStep } from "../lab/pretrain";
import { getSplit } from "../world/problems";
import { parseReward } from "../rl/rewards";
import { makeRng } from "../util/rng";
import { sampleResponses } from "../model/sampling";
import { VOCAB_SIZE } from "../world/tokens";
import { PREVIOUS, STRAIGHTFORWARD, withImpl } from "../model/impl";
import { KERNEL_NAME } from "../kernels/batch-matmul";
import { TORCH_HOWTO, torchProblem, torchStep, type TorchStep } from "./bench-torch";
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

export interface Paired {
  /** Median seconds of the current code and of the other variant. */
  current: number;
  other: number;
  /** Median over pairs of other / current, and the smallest and largest pair's ratio. */
  ratio: number;
  range: [number, number];
}

/** Time `current` and `other` alternately (order flipped every pair), `repeats` pairs after a warm-up of each. */
function timePair(current: () => void, other: () => void, repeats: number): Paired {
  current();
  other();
  const a: number[] = [];
  const b: number[] = [];
  const once = (fn: () => void) => {
    const t0 = process.hrtime.bigint();
    fn();
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  for (let i = 0; i < repeats; i++) {
    if (i % 2 === 0) {
      a.push(once(current));
      b.push(once(other));
    } else {
      b.push(once(other));
      a.push(once(current));
    }
  }
  const ratios = a.map((x, i) => b[i] / x);
  return { current: median(a), other: median(b), ratio: median(ratios), range: [Math.min(...ratios), Math.max(...ratios)] };
}

const previous = (fn: () => void) => () => withImpl(PREVIOUS, fn);
const fmtRatio = (p: Paired) => `${p.ratio.toFixed(2)}x (pairs ${p.range[0].toFixed(2)}-${p.range[1].toFixed(2)})`;

runMain(async () => {
  const f = parseFlags(process.argv.slice(2), {
    repeats: { type: "int", help: "timed repetitions per figure", default: 5 },
    json: { type: "boolean", help: "print one JSON object as the last stdout line" },
    baseline: { type: "boolean", help: "also time the straightforward paths the speed-ups replaced (about a minute more)" },
    python: { type: "string", help: "a Python with PyTorch for the reference step", default: "/usr/bin/python3" },
  }, "usage: npm run bench [-- --json] [--repeats N] [--baseline] [--python PATH]");
  const repeats = f.repeats as number;
  if (repeats < 1) throw new UsageError("--repeats must be >= 1");
  const backend = await initBackend();
  const log = (s: string) => console.error(`[bench] ${s}`);
  const few = Math.min(repeats, 3);

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
  const refPair = timePair(refStep, previous(refStep), repeats);
  const trainStepMs = 1000 * refPair.current;
  log(`trainStepMs ${trainStepMs.toFixed(0)}; previous code ${(1000 * refPair.other).toFixed(0)}: ${fmtRatio(refPair)} faster now`);
  // PyTorch right after ours, so both see the same load.
  const python = f.python as string;
  const torchNote = torchProblem(python);
  let torch: { oneThread: TorchStep; twoThreads: TorchStep; ratio: number; ratioTwoThreads: number } | null = null;
  if (torchNote) log(`PyTorch reference skipped: ${torchNote}. ${TORCH_HOWTO}`);
  else {
    const oneThread = torchStep(python, VOCAB_SIZE, 1, repeats);
    const twoThreads = torchStep(python, VOCAB_SIZE, 2, repeats);
    torch = { oneThread, twoThreads, ratio: trainStepMs / oneThread.stepMs, ratioTwoThreads: trainStepMs / twoThreads.stepMs };
    log(`PyTorch ${oneThread.torch}: ${oneThread.stepMs.toFixed(0)} ms (1 thread), ${twoThreads.stepMs.toFixed(0)} ms (2 threads); ours / PyTorch 1 thread = ${torch.ratio.toFixed(2)}`);
  }
  const baseTrainStepMs = f.baseline ? 1000 * withImpl(STRAIGHTFORWARD, () => time(refStep, few)) : null;
  if (baseTrainStepMs !== null) log(`straightforward trainStepMs ${baseTrainStepMs.toFixed(0)}`);
  // Where the time of that step goes, by kernel (tf.profile; kernel times only, no JS overhead).
  const prof = await tf.profile(() => {
    const { value, grads } = paramGrads(refParams, () => tokenLogProbs(refParams, ids, ref).mean().neg() as tf.Scalar);
    tf.dispose([value, ...Object.values(grads)]);
  });
  const byKernel = new Map<string, number>();
  for (const k of prof.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
  const kernelTotal = [...byKernel.values()].reduce((a, b) => a + b, 0);
  const isAttention = (k: (typeof prof.kernels)[number]) => k.name === KERNEL_NAME || (k.name === "BatchMatMul" && k.inputShapes[0].length === 3 && (k.inputShapes[0][0] ?? 1) > 1);
  const attentionMs = prof.kernels.filter(isAttention).reduce((a, k) => a + Number(k.kernelTimeMs), 0);
  const kernels = [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([name, ms]) => ({ name, ms: Math.round(ms), share: Math.round((100 * ms) / kernelTotal) }));
  log(`forward+backward kernels ${kernelTotal.toFixed(0)} ms, of which attention's batched products ${attentionMs.toFixed(0)} ms: ${kernels.map((k) => `${k.name} ${k.share}%`).join(", ")}`);
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

  // 3. sampling one rollout batch (the same stream for both variants: the same tokens, the same work)
  const prompts = getSplit("train").slice(0, DEFAULT_GRPO.promptsPerStep).flatMap((p) => Array.from({ length: DEFAULT_GRPO.samplesPerPrompt }, () => p.prompt));
  let sampled = 0;
  const k = 0;
  const sampleBatch = () => {
    const s = sampleResponses(policy, config, prompts, { temperature: 1, maxNewTokens: DEFAULT_GRPO.maxResponseTokens, rng: makeRng("bench", "sample", k) });
    sampled = s.reduce((a, x) => a + x.tokens.length, 0);
  };
  const samplePair = timePair(sampleBatch, previous(sampleBatch), repeats);
  const sampleTokensPerSec = sampled / samplePair.current;
  log(`sampleTokensPerSec ${sampleTokensPerSec.toFixed(0)} (${prompts.length} rollouts in ${samplePair.current.toFixed(2)} s; previous code ${samplePair.other.toFixed(2)} s: ${fmtRatio(samplePair)})`);
  let baseSampleTokensPerSec: number | null = null;
  if (f.baseline) {
    const sec = withImpl(STRAIGHTFORWARD, () => time(sampleBatch, few));
    baseSampleTokensPerSec = sampled / sec;
    log(`straightforward sampleTokensPerSec ${baseSampleTokensPerSec.toFixed(0)} (${sec.toFixed(2)} s)`);
  }

  // 4. one GRPO step at the default configuration
  const dataset = getSplit("train").map((p) => ({ problem: p, label: p.answer }));
  const ctx = { config: DEFAULT_GRPO, model: config, dataset, reward: parseReward("math"), seed: 0, rng: makeRng("bench", "grpo"), ref: null };
  let g = 0;
  const grpo = () => void grpoStep(train, opt, ctx, g++);
  const grpoStepSec = time(grpo, few);
  log(`grpoStepSec ${grpoStepSec.toFixed(2)}`);
  const baseGrpoStepSec = f.baseline ? withImpl(STRAIGHTFORWARD, () => time(grpo, few)) : null;
  if (baseGrpoStepSec !== null) log(`straightforward grpoStepSec ${baseGrpoStepSec.toFixed(2)}`);

  // 5. one GRPO step at the paper's shape, current vs previous code on identical work: each run
  // starts from the same weights and step index, so both sample the same rollouts.
  const paperCtx = { ...ctx, config: resolveGrpoConfig({ promptsPerStep: 64, samplesPerPrompt: 16, miniBatchSize: 128 }), rng: makeRng("bench", "paper") };
  let pairIndex = 0;
  // Where a paper-shape step's time goes, summed over the timed steps of each variant.
  const zeroPhases = (): StepPhases => ({ sampling: 0, piOld: 0, updates: 0, diagnostics: 0 });
  const split = { current: zeroPhases(), previous: zeroPhases() };
  const paperStepInto = (phases: StepPhases) => () => {
    const p = cloneParams(policy, true);
    const o = initAdam(p);
    grpoStep(p, o, paperCtx, Math.floor(pairIndex++ / 2), phases);
    disposeAdam(o);
    disposeParams(p);
  };
  log(`paper-shape GRPO steps (1,024 rollouts, 8 updates of 128), ${few} pairs: a few minutes...`);
  const paperPair = timePair(paperStepInto(split.current), previous(paperStepInto(split.previous)), few);
  // per step (the warm-up step of each variant is in the sums too: few + 1 steps each)
  const perStep = (ph: StepPhases) => Object.fromEntries(Object.entries(ph).map(([k, v]) => [k, Math.round((100 * v) / (few + 1)) / 100])) as unknown as StepPhases;
  const phases = { current: perStep(split.current), previous: perStep(split.previous) };
  const fmtPhases = (ph: StepPhases) => Object.entries(ph).map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(", ");
  log(`paperGrpoStepSec ${paperPair.current.toFixed(2)}; previous code ${paperPair.other.toFixed(2)}: ${fmtRatio(paperPair)} faster now`);
  log(`  split, current:  ${fmtPhases(phases.current)}`);
  log(`  split, previous: ${fmtPhases(phases.previous)}`);

  // 6. greedy evaluation of the test split
  const evalTest = () => void evaluateGreedy(policy, config, getSplit("test"));
  const evalPair = timePair(evalTest, previous(evalTest), few);
  log(`evalTestSec ${evalPair.current.toFixed(2)}; previous code ${evalPair.other.toFixed(2)}: ${fmtRatio(evalPair)}`);
  disposeAdam(opt);
  disposeParams(train);
  disposeParams(policy);

  const cpus = os.cpus();
  const pair = (p: Paired, scale = 1) => ({ current: p.current * scale, previous: p.other * scale, speedup: p.ratio, speedupRange: p.range });
  const out = {
    trainStepMs, trainTokensPerSec, sampleTokensPerSec, grpoStepSec, paperGrpoStepSec: paperPair.current, evalTestSec: evalPair.current,
    // Today's code with issue 13's speed-ups off (impl.ts PREVIOUS), timed interleaved with the above.
    previous: { trainStepMs: pair(refPair, 1000), sampleSec: pair(samplePair), paperGrpoStepSec: pair(paperPair), evalTestSec: pair(evalPair) },
    // Mean seconds per paper-shape step in each phase (updates include the shared first forward).
    paperStepPhases: phases,
    torch: torch ? { version: torch.oneThread.torch, oneThreadMs: torch.oneThread.stepMs, twoThreadsMs: torch.twoThreads.stepMs, oursOverOneThread: torch.ratio, oursOverTwoThreads: torch.ratioTwoThreads } : { skipped: torchNote },
    // The same figures with the earlier speed-ups off too (impl.ts STRAIGHTFORWARD).
    straightforward: f.baseline ? { trainStepMs: baseTrainStepMs, sampleTokensPerSec: baseSampleTokensPerSec, grpoStepSec: baseGrpoStepSec } : null,
    profile: { forwardBackwardKernelMs: Math.round(kernelTotal), attentionBatchMatMulMs: Math.round(attentionMs), topKernels: kernels },
    backend: backend.name, weights: fromCheckpoint ? ckFile : "random init (no qwen-math-7b checkpoint)",
    machine: { cpu: cpus[0]?.model ?? "unknown", cores: cpus.length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.arch()}`, loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100) },
    repeats,
  };
  if (f.json) console.log(JSON.stringify(out));
  else {
    console.log(`backend ${out.backend}; ${out.machine.cpu}, ${out.machine.cores} cores, node ${out.machine.node}; load average ${out.machine.loadAverage.join(" ")}`);
    console.log(`  trainStepMs          ${trainStepMs.toFixed(0)} ms   (reference: d64, 2 blocks, 64 x 64 tokens, fwd+bwd+Adam; previous code ${fmtRatio(refPair)} slower)`);
    if (torch) console.log(`  PyTorch ${torch.oneThread.torch}        ${torch.oneThread.stepMs.toFixed(0)} ms 1 thread, ${torch.twoThreads.stepMs.toFixed(0)} ms 2 threads; ours / PyTorch(1 thread) = ${torch.ratio.toFixed(2)}`);
    else console.log(`  PyTorch              skipped: ${torchNote}. ${TORCH_HOWTO}`);
    console.log(`  trainTokensPerSec    ${trainTokensPerSec.toFixed(0)}`);
    console.log(`  sampleTokensPerSec   ${sampleTokensPerSec.toFixed(0)}   (previous code ${fmtRatio(samplePair)} the time)`);
    console.log(`  grpoStepSec          ${grpoStepSec.toFixed(2)} s`);
    console.log(`  paperGrpoStepSec     ${paperPair.current.toFixed(2)} s   (1,024 rollouts, 8 updates of 128; previous code ${paperPair.other.toFixed(2)} s, ${fmtRatio(paperPair)})`);
    console.log(`    split now:          ${fmtPhases(phases.current)}`);
    console.log(`    split before:       ${fmtPhases(phases.previous)}`);
    console.log(`  evalTestSec          ${evalPair.current.toFixed(2)} s   (previous code ${fmtRatio(evalPair)} the time)`);
    if (f.baseline) {
      console.log("straightforward paths (no fast matMul gradient, no KV cache / batching, no attention kernel):");
      console.log(`  trainStepMs          ${baseTrainStepMs!.toFixed(0)} ms   (${(baseTrainStepMs! / trainStepMs).toFixed(1)}x the optimised)`);
      console.log(`  sampleTokensPerSec   ${baseSampleTokensPerSec!.toFixed(0)}   (optimised ${(sampleTokensPerSec / baseSampleTokensPerSec!).toFixed(1)}x faster)`);
      console.log(`  grpoStepSec          ${baseGrpoStepSec!.toFixed(2)} s   (optimised ${(baseGrpoStepSec! / grpoStepSec).toFixed(1)}x faster)`);
    }
  }
});
