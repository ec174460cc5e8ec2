/**
 * Batched, KV-cached sampling.
 *
 * Prompts of different lengths decode together: each row is left-padded, and the pads are masked
 * out of attention and skipped by the position embedding, so a row's tokens do not depend on its
 * batch-mates (tested against one-row-at-a-time decoding and against full recomputation).
 * Every prompt i draws from its own stream `rng.fork(i)`, so its sample does not depend on which
 * other prompts share the batch. Greedy decoding (temperature 0) takes the argmax and ignores
 * the stream. A forced response prefix (the paper's "Let's solve this using Python." analog) is
 * appended to the prompt and reported as part of the response.
 */
import * as tf from "@tensorflow/tfjs";
import { impl } from "./impl";
import { decodeStep, disposeCache, forward, prefill, tidyKeep, type KVCache, type LayerCache, type ModelConfig, type Params } from "./model";
import type { Rng } from "../util/rng";
import { BOS, EOS, PAD, decode, encode } from "../world/tokens";

export interface SampleOptions {
  /** 0 = greedy; otherwise softmax(logits / temperature). */
  temperature: number;
  /** Nucleus sampling: keep the smallest set of tokens with mass >= topP (1 = off). */
  topP?: number;
  /** Response token limit (EOS included); also capped by the context length. */
  maxNewTokens: number;
  /** Text forced at the start of every response. */
  prefix?: string;
  /** Per-prompt forced prefixes (instead of `prefix`), one per prompt. */
  prefixes?: readonly string[];
  /** Required unless temperature is 0. */
  rng?: Rng;
  /** Rows decoded together (memory/speed trade-off). */
  maxBatch?: number;
}

export interface Sample {
  /** Decoded response text (prefix included, stops before EOS). */
  text: string;
  /** Response token ids after the prompt (prefix included, EOS included when produced). */
  tokens: number[];
  /** True when the response ended with EOS (false: hit the token limit). */
  finished: boolean;
}

/** Token ids of BOS + prompt. */
export function promptIds(prompt: string): number[] {
  return [BOS, ...encode(prompt)];
}

/** Finished rows leave a decoding batch once the live rows are at most this share of it (fewer, larger compactions). */
const COMPACT_AT = 0.75;

/**
 * The cache rows (B*H, S, hd) of batch rows `keep`: row b's H heads are one contiguous block.
 * Copied through JS (tf.gather on wasm moves about 30 ns per value, a typed-array copy ~1).
 */
function keepRows(l: LayerCache, keep: readonly number[], H: number): LayerCache {
  const pick = (t: tf.Tensor3D): tf.Tensor3D => {
    const [, S, hd] = t.shape;
    const block = H * S * hd;
    const src = t.dataSync() as Float32Array;
    const out = new Float32Array(keep.length * block);
    keep.forEach((b, j) => out.set(src.subarray(b * block, (b + 1) * block), j * block));
    return tf.tensor3d(out, [keep.length * H, S, hd]);
  };
  return { k: pick(l.k), v: pick(l.v) };
}

/** Pick a token from one row of logits. */
function pickToken(logits: Float32Array, off: number, V: number, temperature: number, topP: number, rng: Rng | undefined): number {
  if (temperature === 0) {
    let best = 0;
    for (let j = 1; j < V; j++) if (logits[off + j] > logits[off + best]) best = j;
    return best;
  }
  let max = -Infinity;
  for (let j = 0; j < V; j++) max = Math.max(max, logits[off + j]);
  const p = new Float64Array(V);
  let z = 0;
  for (let j = 0; j < V; j++) z += p[j] = Math.exp((logits[off + j] - max) / temperature);
  for (let j = 0; j < V; j++) p[j] /= z;
  if (topP < 1) {
    const order = Array.from({ length: V }, (_, j) => j).sort((a, b) => p[b] - p[a] || a - b);
    let mass = 0;
    const keep = new Uint8Array(V);
    for (const j of order) {
      keep[j] = 1;
      mass += p[j];
      if (mass >= topP) break;
    }
    for (let j = 0; j < V; j++) if (!keep[j]) p[j] = 0;
  }
  return rng!.categorical(Array.from(p));
}

/** Sample one response per prompt. Tensor-neutral: everything it allocates is disposed. */
export function sampleResponses(params: Params, config: ModelConfig, prompts: readonly string[], opts: SampleOptions): Sample[] {
  const { temperature, maxNewTokens } = opts;
  const topP = opts.topP ?? 1;
  if (!(temperature >= 0)) throw new Error(`temperature must be >= 0, got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`topP must be in (0, 1], got ${topP}`);
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new Error(`maxNewTokens must be a positive integer, got ${maxNewTokens}`);
  if (temperature > 0 && !opts.rng) throw new Error("sampling with temperature > 0 needs an rng");
  if (opts.prefixes && opts.prefixes.length !== prompts.length) throw new Error(`prefixes has ${opts.prefixes.length} entries for ${prompts.length} prompts`);
  if (opts.prefixes && opts.prefix) throw new Error("give prefix or prefixes, not both");
  const prefixIds = prompts.map((_, i) => encode(opts.prefixes?.[i] ?? opts.prefix ?? ""));
  const maxBatch = opts.maxBatch ?? 512;
  const V = config.vocabSize;

  const inputs = prompts.map((p, i) => [...promptIds(p), ...prefixIds[i]]);
  // Each row's budget: the response limit (the forced prefix counts) and the context length.
  const limits = inputs.map((ids, i) => Math.min(maxNewTokens - prefixIds[i].length, config.contextLength - ids.length));
  limits.forEach((l, i) => {
    if (l < 1) throw new Error(`prompt ${JSON.stringify(prompts[i])} leaves no room for a response (context ${config.contextLength}, limit ${maxNewTokens})`);
  });

  const out: Sample[] = new Array(prompts.length);
  const finish = (i: number, gen: number[]) => {
    const tokens = [...prefixIds[i], ...gen];
    out[i] = { text: decode(tokens), tokens, finished: gen[gen.length - 1] === EOS };
  };
  if (!impl().kvCache) {
    // The straightforward sampler (impl.ts): one prompt at a time, the whole sequence recomputed
    // for every new token. Same streams and token choice as the fast path, so the same tokens.
    prompts.forEach((_, i) => {
      const seq = [...inputs[i]];
      const gen: number[] = [];
      const rng = opts.rng?.fork(i);
      while (gen.length < limits[i]) {
        const last = tf.tidy(() => forward(params, tf.tensor2d([seq], [1, seq.length], "int32"), config).slice([0, seq.length - 1, 0], [1, 1, V]).dataSync() as Float32Array);
        const t = pickToken(last, 0, V, temperature, topP, rng);
        gen.push(t);
        seq.push(t);
        if (t === EOS) break;
      }
      finish(i, gen);
    });
    return out;
  }
  for (let s = 0; s < prompts.length; s += maxBatch) {
    // Rows of different lengths decode together, left-padded (see model.prefill). `rows` are the
    // prompts still decoding; entries of the per-row arrays line up with them.
    let rows = Array.from({ length: Math.min(maxBatch, prompts.length - s) }, (_, r) => s + r);
    const T = Math.max(...rows.map((i) => inputs[i].length));
    let pads = rows.map((i) => T - inputs[i].length);
    let rngs = rows.map((i) => opts.rng?.fork(i));
    let gen: number[][] = rows.map(() => []);
    let done = rows.map(() => false);
    const steps = Math.max(...rows.map((i) => limits[i]));
    let cache: KVCache;
    let logits: tf.Tensor2D;
    {
      const ids = tf.tensor2d(rows.map((i, r) => [...new Array<number>(pads[r]).fill(PAD), ...inputs[i]]), [rows.length, T], "int32");
      const r = tidyKeep(() => prefill(params, ids, config, pads.some((p) => p > 0) ? pads : null));
      ids.dispose();
      logits = r.logits;
      cache = r.cache;
    }
    for (let step = 0; step < steps; step++) {
      const lv = logits.dataSync() as Float32Array;
      logits.dispose();
      const next = rows.map((i, r) => {
        if (done[r]) return PAD;
        const t = pickToken(lv, r * V, V, temperature, topP, rngs[r]);
        gen[r].push(t);
        if (t === EOS || gen[r].length >= limits[i]) done[r] = true;
        return t;
      });
      if (done.every(Boolean)) break;
      const live = done.flatMap((d, r) => (d ? [] : [r]));
      if (impl().dropFinishedRows && live.length <= COMPACT_AT * rows.length) {
        // Finished rows leave the batch (their cache rows too): every kernel of a decoding step
        // computes each row from that row alone, so the rows that stay get the same logits.
        rows.forEach((i, r) => done[r] && finish(i, gen[r]));
        const prev = cache;
        cache = { ...prev, layers: prev.layers.map((l) => keepRows(l, live, config.nHeads)), pads: prev.pads && live.map((r) => prev.pads![r]) };
        disposeCache(prev);
        [rows, pads, rngs, gen, done] = [live.map((r) => rows[r]), live.map((r) => pads[r]), live.map((r) => rngs[r]), live.map((r) => gen[r]), live.map(() => false)];
        next.splice(0, next.length, ...live.map((r) => next[r]));
      }
      const ids = tf.tensor2d(next, [rows.length, 1], "int32");
      const prev: KVCache = cache;
      const r = tidyKeep(() => decodeStep(params, ids, prev, config));
      ids.dispose();
      disposeCache(prev);
      logits = r.logits;
      cache = r.cache;
    }
    if (!done.every(Boolean)) logits.dispose();
    disposeCache(cache);
    rows.forEach((i, r) => finish(i, gen[r]));
  }
  return out;
}
