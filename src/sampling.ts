/**
 * Batched, KV-cached sampling.
 *
 * Prompts are grouped by token length so that no prompt is padded (absolute position embeddings
 * would shift under left padding), then each group is decoded step by step with the cache.
 * Every prompt i draws from its own stream `rng.fork(i)`, so its sample does not depend on which
 * other prompts share the batch. Greedy decoding (temperature 0) takes the argmax and ignores
 * the stream. A forced response prefix (the paper's "Let's solve this using Python." analog) is
 * appended to the prompt and reported as part of the response.
 */
import * as tf from "@tensorflow/tfjs";
import { decodeStep, disposeCache, prefill, tidyKeep, type KVCache, type ModelConfig, type Params } from "./model";
import type { Rng } from "./rng";
import { BOS, EOS, PAD, decode, encode } from "./tokens";

export interface SampleOptions {
  /** 0 = greedy; otherwise softmax(logits / temperature). */
  temperature: number;
  /** Nucleus sampling: keep the smallest set of tokens with mass >= topP (1 = off). */
  topP?: number;
  /** Response token limit (EOS included); also capped by the context length. */
  maxNewTokens: number;
  /** Text forced at the start of every response. */
  prefix?: string;
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
  const prefixIds = opts.prefix ? encode(opts.prefix) : [];
  const maxBatch = opts.maxBatch ?? 512;
  const V = config.vocabSize;

  const inputs = prompts.map((p) => [...promptIds(p), ...prefixIds]);
  const groups = new Map<number, number[]>();
  inputs.forEach((ids, i) => {
    const g = groups.get(ids.length) ?? [];
    g.push(i);
    groups.set(ids.length, g);
  });

  const out: Sample[] = new Array(prompts.length);
  for (const [len, members] of [...groups.entries()].sort((a, b) => a[0] - b[0])) {
    const limit = Math.min(maxNewTokens - prefixIds.length, config.contextLength - len);
    if (limit < 1) throw new Error(`prompt of ${len} tokens leaves no room for a response (context ${config.contextLength}, limit ${maxNewTokens})`);
    for (let s = 0; s < members.length; s += maxBatch) {
      const rows = members.slice(s, s + maxBatch);
      const rngs = rows.map((i) => opts.rng?.fork(i));
      const gen: number[][] = rows.map(() => []);
      const done = rows.map(() => false);
      let cache: KVCache | null = null;
      let logits: tf.Tensor2D;
      {
        const ids = tf.tensor2d(rows.map((i) => inputs[i]), [rows.length, len], "int32");
        const r = tidyKeep(() => {
          const p = prefill(params, ids, config);
          return { logits: p.logits, cache: p.cache };
        });
        ids.dispose();
        logits = r.logits;
        cache = r.cache;
      }
      for (let step = 0; step < limit; step++) {
        const lv = logits.dataSync() as Float32Array;
        logits.dispose();
        const next = rows.map((_, r) => {
          if (done[r]) return PAD;
          const t = pickToken(lv, r * V, V, temperature, topP, rngs[r]);
          gen[r].push(t);
          if (t === EOS) done[r] = true;
          return t;
        });
        if (done.every(Boolean) || step === limit - 1) break;
        const ids = tf.tensor2d(next, [rows.length, 1], "int32");
        const prev: KVCache = cache!;
        const r = tidyKeep(() => {
          const d = decodeStep(params, ids, prev, config);
          return { logits: d.logits, cache: d.cache };
        });
        ids.dispose();
        disposeCache(prev);
        logits = r.logits;
        cache = r.cache;
      }
      disposeCache(cache);
      rows.forEach((i, r) => {
        const tokens = [...prefixIds, ...gen[r]];
        out[i] = { text: decode(tokens), tokens, finished: done[r] };
      });
    }
  }
  return out;
}
