/**
 * Pretraining: next-token prediction on (prompt, response) pairs from a corpus mixture.
 *
 * One shared base per model size learns the arithmetic on a neutral mixture (both modes on every
 * topic, no slips); each family then continues from its base on its own mixture, as
 * Qwen2.5-Math was continued from Qwen2.5. The loss covers response tokens only (prompts are
 * random problems: predicting them teaches nothing). Batch i is drawn from rng.fork("batch", i),
 * so a resumed run sees exactly the batches an uninterrupted one would.
 */
import * as tf from "@tensorflow/tfjs";
import * as fs from "node:fs";
import * as path from "node:path";
import { checkpointSha, loadCheckpoint, readCheckpointHeader, saveCheckpoint, type Checkpoint } from "../model/checkpoint";
import { removeDebris } from "../util/store";
import { CONTEXT_LENGTH, type CorpusExample } from "../world/corpus";
import { anyCorpusBatch, baseCorpusV2, corpusWorld, ownBaseMode, type AnyCorpusSpec } from "../world/corpus-v2";
import type { ModelSize } from "../world/families";
import { disposeParams, initParams, paramGrads, tokenLogProbs, type ModelConfig, type Params } from "../model/model";
import { adamStep, disposeAdam, initAdam, type AdamConfig, type AdamState } from "../model/optim";
import { makeProgress } from "../util/progress";
import { makeRng } from "../util/rng";
import { EOS, VOCAB_SIZE, encode } from "../world/tokens";
import { packSequences } from "../model/batch";
import { promptIds } from "../model/sampling";
import { DEFAULT_WORLD, type World } from "../world/worlds";

export interface PretrainConfig {
  /** Sequences per optimizer step. */
  batchSize: number;
  /** Total optimizer steps of this stage. */
  steps: number;
  /** Peak learning rate (linear warm-up, then cosine decay to lrFinalFrac * lr). */
  lr: number;
  warmup: number;
  lrFinalFrac: number;
  weightDecay: number;
  /** Save a resumable checkpoint every this many steps. */
  saveEvery: number;
  seed: string;
}

export const DEFAULT_PRETRAIN: PretrainConfig = {
  batchSize: 64, steps: 3000, lr: 3e-3, warmup: 100, lrFinalFrac: 0.1, weightDecay: 0.01, saveEvery: 100, seed: "pretrain",
};

/** Steps of a shared base (the expensive, once-only stage): its default pretraining budget. */
export const BASE_STEPS = 4000;

/**
 * The checkpoint name of a shared base at a pretraining budget: the default budget keeps the plain
 * name ("base-d64"), any other is its own checkpoint ("base-d64-2000steps"), so a budget is never
 * confused with another; likewise a world-2 base whose corpus writes code at another rate
 * ("base-d48-1600steps-mode-3", baseCorpusV2). A budgeted base starts from the same initialisation and sees the same
 * batches (its stage is named by the base id); only its schedule is shorter or longer, as when a
 * model family is trained at several sizes of compute.
 */
export function budgetedBase(base: string, steps: number = BASE_STEPS, mode?: number): string {
  if (!(Number.isInteger(steps) && steps >= 1)) throw new Error(`a base's pretraining budget must be an integer number of steps >= 1, got ${steps}`);
  // a base whose corpus writes code at another rate (world 2, baseCorpusV2) is its own checkpoint too
  const own = ownBaseMode(mode);
  return `${steps === BASE_STEPS ? base : `${base}-${steps}steps`}${own === undefined ? "" : `-mode${own}`}`;
}

/**
 * Check a stored base checkpoint before it is used at a budget: intact, of `world`, trained for
 * `steps` (its header's train config; an older header without one passes) and, in world 2, on the
 * corpus of its mode (baseCorpusV2: the file name is not trusted to say which). An error names both
 * sides and ends with `remedy`.
 */
export function expectBudget(file: string, world: World, steps: number, remedy: string, mode?: number): void {
  checkpointSha(file, world);
  const meta = readCheckpointHeader(file).meta as { train?: { steps?: number }; corpus?: { mode?: { mean?: number } } };
  const trained = meta.train?.steps;
  if (trained !== undefined && trained !== steps) throw new Error(`${file} was pretrained for ${trained} steps, not ${steps}; ${remedy}`);
  if (world === 2 && meta.corpus?.mode && JSON.stringify(meta.corpus.mode) !== JSON.stringify(baseCorpusV2(mode).mode)) {
    throw new Error(`${file} was pretrained with code at logit ${meta.corpus.mode.mean}, not ${mode ?? 0} (its base mode); ${remedy}`);
  }
}

/**
 * The base a stored family checkpoint was pretrained from, when that is not `baseCk` (null when it
 * is, or when the header records no parent): a family's name does not carry its base's budget.
 */
export function otherParent(familyCk: string, baseCk: string): string | null {
  const parent = readCheckpointHeader(familyCk).meta.parent;
  return parent && path.resolve(String(parent)) !== path.resolve(baseCk) ? String(parent) : null;
}

export function modelConfigFor(size: ModelSize): ModelConfig {
  return { vocabSize: VOCAB_SIZE, contextLength: CONTEXT_LENGTH, ...size };
}

/** Token ids and a loss mask over the response tokens, padded to the batch's longest sequence. */
export function encodeBatch(examples: readonly { prompt: string; response: string; eos: boolean }[]): { ids: tf.Tensor2D; mask: tf.Tensor2D } {
  const { ids, mask } = packSequences(examples.map((e) => ({ prompt: promptIds(e.prompt), response: [...encode(e.response), ...(e.eos ? [EOS] : [])] })));
  return { ids, mask };
}

export function examplesToRows(ex: readonly CorpusExample[]) {
  return ex.map((e) => ({ prompt: e.prompt ?? e.problem.prompt, response: e.response, eos: e.eos }));
}

function lrAt(cfg: PretrainConfig, step: number): number {
  if (step < cfg.warmup) return (cfg.lr * (step + 1)) / cfg.warmup;
  const t = (step - cfg.warmup) / Math.max(1, cfg.steps - cfg.warmup);
  return cfg.lr * (cfg.lrFinalFrac + (1 - cfg.lrFinalFrac) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, t))));
}

/** One optimizer step on a batch; returns the mean response-token loss. */
export function trainStep(params: Params, opt: AdamState, config: ModelConfig, adam: AdamConfig, ids: tf.Tensor2D, mask: tf.Tensor2D, lr: number): number {
  const { value, grads } = paramGrads(params, () => {
    const lp = tokenLogProbs(params, ids, config); // (B, T-1)
    return lp.mul(mask).sum().div(mask.sum()).neg() as tf.Scalar;
  });
  adamStep(params, grads, opt, adam, lr);
  const loss = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads)]);
  return loss;
}

export interface StageSpec {
  /** Name stored in the checkpoint header. */
  name: string;
  /** Output checkpoint (final); a resumable one is kept beside it as <out>.partial. */
  out: string;
  corpus: AnyCorpusSpec;
  size: ModelSize;
  /** Continue from this checkpoint's weights (fresh optimizer); null = from scratch. */
  parent: string | null;
  train: PretrainConfig;
  meta?: Record<string, unknown>;
  /** The world the corpus belongs to (default 1); stored in the header, and the parent must share it. */
  world?: World;
  /**
   * The stage whose batch stream it draws (default: its own name). A derived family draws its
   * parent's, so the examples its corpus change leaves alone are the parent's, batch for batch.
   */
  stream?: string;
}

/**
 * Run (or resume) one pretraining stage and write its final checkpoint atomically.
 * Never overwrites an existing final checkpoint: delete it to retrain.
 */
export function runStage(spec: StageSpec): void {
  if (fs.existsSync(spec.out)) throw new Error(`${spec.out} exists; delete it to retrain`);
  // Temporaries of a stage killed inside an atomic write (checkpoint or .partial) go first.
  removeDebris(path.dirname(spec.out), path.basename(spec.out));
  const config = modelConfigFor(spec.size);
  const partial = `${spec.out}.partial`;
  const cfg = spec.train;
  const world = spec.world ?? DEFAULT_WORLD;
  if (corpusWorld(spec.corpus) !== world) throw new Error(`stage ${spec.name}: its corpus spec belongs to world ${corpusWorld(spec.corpus)}, but the stage is for world ${world}; give the stage the corpus of its own world`);
  const adam: AdamConfig = { lr: cfg.lr, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: cfg.weightDecay, gradClip: 1.0 };
  let params: Params;
  let opt: AdamState;
  let step = 0;
  if (fs.existsSync(partial)) {
    const ck: Checkpoint = loadCheckpoint(partial, { withOptimizer: true, expectConfig: config, world });
    if (ck.header.name !== spec.name || !ck.optimizer) throw new Error(`${partial} belongs to "${ck.header.name}", not "${spec.name}" (or has no optimizer state); delete it`);
    if (JSON.stringify(ck.header.meta.corpus) !== JSON.stringify(spec.corpus)) throw new Error(`${partial} was trained on another corpus spec than ${spec.name}'s current one; delete it to start again`);
    params = ck.params;
    opt = ck.optimizer;
    step = ck.header.step;
    console.error(`[pretrain] resuming ${spec.name} at step ${step}`);
  } else if (spec.parent) {
    params = loadCheckpoint(spec.parent, { expectConfig: config, world }).params;
    opt = initAdam(params);
  } else {
    params = initParams(config, makeRng(cfg.seed, spec.name, "init"));
    opt = initAdam(params);
  }
  const rng = makeRng(cfg.seed, spec.stream ?? spec.name);
  const header = (s: number) => ({ name: spec.name, config, step: s, metrics: {}, meta: { corpus: spec.corpus, parent: spec.parent, train: cfg, ...spec.meta }, world });
  const progress = makeProgress(`[pretrain ${spec.name}]`, cfg.steps, { start: step });
  let ema = NaN;
  while (step < cfg.steps) {
    const ex = anyCorpusBatch(spec.corpus, rng.fork("batch", step), cfg.batchSize);
    const { ids, mask } = encodeBatch(examplesToRows(ex));
    const loss = trainStep(params, opt, config, adam, ids, mask, lrAt(cfg, step));
    tf.dispose([ids, mask]);
    ema = Number.isNaN(ema) ? loss : 0.95 * ema + 0.05 * loss;
    step++;
    progress.tick(step, `loss ${ema.toFixed(4)}`);
    if (step % cfg.saveEvery === 0 && step < cfg.steps) saveCheckpoint(partial, params, header(step), opt);
  }
  saveCheckpoint(spec.out, params, { ...header(step), metrics: { finalLoss: ema } });
  if (fs.existsSync(partial)) fs.unlinkSync(partial);
  progress.finish(`loss ${ema.toFixed(4)}`);
  disposeParams(params);
  disposeAdam(opt);
}
