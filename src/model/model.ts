/**
 * A decoder-only transformer as pure functions over a record of tf.Variables (no tf.layers).
 *
 * Token + position embeddings, pre-norm blocks (causal multi-head attention, GELU MLP), final
 * LayerNorm, output head tied to the token embedding. Tensors are (B, T, C) unless noted.
 *
 * Backend notes (measured on wasm, see ENVIRONMENT.md): tf.gather has no gradient on wasm, so the
 * embedding lookup is one-hot x matMul; stridedSlice has no gradient, so we use slice.
 */
import * as tf from "@tensorflow/tfjs";
import { impl } from "./impl";
import { batchMatMul } from "../kernels/batch-matmul";
import { fusedGelu, fusedGeluFits, GELU_K1, GELU_K2 } from "../kernels/gelu";
import { headsKernelFits, mergeHeadsKernel, splitHeadsKernel } from "../kernels/heads";
import type { Rng } from "../util/rng";

export interface ModelConfig {
  /** Number of token ids (from tokens.ts). */
  vocabSize: number;
  /** Longest sequence (prompt + response + BOS/EOS) the position table covers. */
  contextLength: number;
  /** Width of the residual stream. */
  dModel: number;
  /** Number of transformer blocks. */
  nLayers: number;
  /** Attention heads; dModel must be divisible by it. */
  nHeads: number;
  /** Hidden width of the MLP. */
  dMlp: number;
}

export type Params = Record<string, tf.Variable>;

export function validateModelConfig(c: ModelConfig): ModelConfig {
  for (const k of ["vocabSize", "contextLength", "dModel", "nLayers", "nHeads", "dMlp"] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new Error(`model config: ${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.dModel % c.nHeads !== 0) throw new Error(`model config: dModel ${c.dModel} is not divisible by nHeads ${c.nHeads}`);
  return c;
}

/** Parameter names and shapes, in a fixed order (checkpoints store weights in this order). */
export function paramShapes(c: ModelConfig): [string, number[]][] {
  const out: [string, number[]][] = [
    ["wte", [c.vocabSize, c.dModel]],
    ["wpe", [c.contextLength, c.dModel]],
  ];
  for (let l = 0; l < c.nLayers; l++) {
    out.push(
      [`h${l}.ln1.g`, [c.dModel]], [`h${l}.ln1.b`, [c.dModel]],
      [`h${l}.attn.wqkv`, [c.dModel, 3 * c.dModel]], [`h${l}.attn.bqkv`, [3 * c.dModel]],
      [`h${l}.attn.wo`, [c.dModel, c.dModel]], [`h${l}.attn.bo`, [c.dModel]],
      [`h${l}.ln2.g`, [c.dModel]], [`h${l}.ln2.b`, [c.dModel]],
      [`h${l}.mlp.w1`, [c.dModel, c.dMlp]], [`h${l}.mlp.b1`, [c.dMlp]],
      [`h${l}.mlp.w2`, [c.dMlp, c.dModel]], [`h${l}.mlp.b2`, [c.dModel]],
    );
  }
  out.push(["lnf.g", [c.dModel]], ["lnf.b", [c.dModel]]);
  return out;
}

/** GPT-2 style init from an explicit random stream: N(0, 0.02), residual projections scaled by 1/sqrt(2L). */
export function initParams(c: ModelConfig, rng: Rng): Params {
  validateModelConfig(c);
  const params: Params = {};
  for (const [name, shape] of paramShapes(c)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const vals = new Float32Array(size);
    if (name.endsWith(".g")) vals.fill(1);
    else if (shape.length === 2) {
      const std = name.endsWith("wo") || name.endsWith("w2") ? 0.02 / Math.sqrt(2 * c.nLayers) : 0.02;
      const r = rng.fork(name);
      for (let i = 0; i < size; i++) vals[i] = r.normal() * std;
    }
    // Unnamed: tf.js variable names are global, and several models live in one process.
    params[name] = tf.tidy(() => tf.variable(tf.tensor(vals, shape), true)); // tidy frees the temporary
  }
  return params;
}

export function disposeParams(params: Params): void {
  for (const v of Object.values(params)) v.dispose();
}

/** A frozen copy (reference model, pi_old). */
export function cloneParams(params: Params, trainable = false): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(params)) out[k] = tf.variable(v, trainable);
  return out;
}

/**
 * 2-D matrix product whose gradient avoids transposed matMuls. On the wasm backend a matMul with
 * transposeA/transposeB leaves XNNPACK's fast path and runs about 10x slower (measured: 52 ms vs
 * 5 ms for (4032, 64) x (64, 256)); an explicit transpose plus a plain matMul is much cheaper.
 */
const fastMm = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as tf.Tensor2D[];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;

/** The model's 2-D product: fastMm, or tf.matMul with its own gradient (impl.ts, for tests and the benchmark baseline). */
function mm(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return impl().fastMatMul ? fastMm(a, b) : tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
}

/** x (N, C) times the tied embedding, transposed: logits (N, V). */
function head(params: Params, x: tf.Tensor): tf.Tensor2D {
  return mm(x, tf.transpose(params.wte));
}

function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return x.sub(mean).mul(tf.rsqrt(variance.add(1e-5))).mul(g).add(b);
}

function gelu(x: tf.Tensor): tf.Tensor {
  return impl().fusedGelu && fusedGeluFits(x) ? fusedGelu(x) : geluChain(x);
}

/** GELU op by op (kernels/gelu.ts fuses exactly this chain: keep the two in step). */
function geluChain(x: tf.Tensor): tf.Tensor {
  // tanh approximation (GPT-2)
  const c = GELU_K2;
  // x*x*x rather than pow(x, 3): Pow is a slow kernel on wasm.
  return x.mul(0.5).mul(tf.tanh(x.add(x.mul(x).mul(x).mul(GELU_K1)).mul(c)).add(1));
}

const maskCache = new Map<number, tf.Tensor>();
/** Additive causal mask (T, T): 0 where key <= query, -1e9 above the diagonal. Kept for the process. */
function causalMask(T: number): tf.Tensor {
  let m = maskCache.get(T);
  if (!m) {
    const vals = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) vals[i * T + j] = -1e9;
    m = tf.keep(tf.tensor2d(vals, [T, T]));
    maskCache.set(T, m);
  }
  return m;
}

/** Causal masks held for the process (one per sequence length seen, at most contextLength + 1). */
export function cachedMaskCount(): number {
  return maskCache.size;
}

/** Embed ids (B, T) starting at position `pos0` -> (B, T, C). */
function embed(params: Params, ids: tf.Tensor2D, pos0: number, c: ModelConfig, pads: readonly number[] | null): tf.Tensor3D {
  const [B, T] = ids.shape;
  const onehot = tf.oneHot(ids.reshape([B * T]), c.vocabSize); // (B*T, V)
  const tok = mm(onehot, params.wte).reshape([B, T, c.dModel]);
  if (!pads) {
    if (pos0 + T > c.contextLength) throw new Error(`sequence of ${pos0 + T} tokens exceeds contextLength ${c.contextLength}`);
    const pos = tf.slice(params.wpe, [pos0, 0], [T, c.dModel]); // (T, C)
    return tok.add(pos) as tf.Tensor3D;
  }
  // Left-padded rows (sampling only, no gradient): row b's token t sits at position pos0 + t - pads[b].
  // Rows that already finished keep receiving PAD while others decode; their positions are clamped
  // (the sampler caps every live row's budget at the context length, so live rows never clamp).
  const posIds = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) posIds[b * T + t] = Math.min(c.contextLength - 1, Math.max(0, pos0 + t - pads[b]));
  const pos = tf.gather(params.wpe, tf.tensor1d(posIds, "int32")).reshape([B, T, c.dModel]);
  return tok.add(pos) as tf.Tensor3D;
}

/** Additive mask (B, 1, 1, S) hiding each row's left padding from attention. */
function padMask(pads: readonly number[], S: number): tf.Tensor {
  const vals = new Float32Array(pads.length * S);
  pads.forEach((p, b) => vals.fill(-1e9, b * S, b * S + Math.min(p, S)));
  return tf.tensor4d(vals, [pads.length, 1, 1, S]);
}

/** (B, T, C) -> (B*H, T, hd) */
function splitHeads(x: tf.Tensor, B: number, T: number, c: ModelConfig): tf.Tensor3D {
  const hd = c.dModel / c.nHeads;
  return x.reshape([B, T, c.nHeads, hd]).transpose([0, 2, 1, 3]).reshape([B * c.nHeads, T, hd]);
}

/** (B*H, T, hd) -> (B*T, C) */
function mergeHeads(x: tf.Tensor, B: number, T: number, c: ModelConfig): tf.Tensor2D {
  const hd = c.dModel / c.nHeads;
  return x.reshape([B, c.nHeads, T, hd]).transpose([0, 2, 1, 3]).reshape([B * T, c.dModel]);
}

export interface LayerCache {
  /** (B*H, t, hd) keys and values of the positions seen so far. */
  k: tf.Tensor3D;
  v: tf.Tensor3D;
}
export interface KVCache {
  layers: LayerCache[];
  /** Number of positions cached. */
  length: number;
  /** Left padding of each row (null: no padding). */
  pads: number[] | null;
}

/**
 * Run the blocks over x (B, T, C) whose first position is `pos0`. With `cache` (holding pos0
 * positions), attention also sees the cached keys/values; the new cache is returned when asked.
 */
function blocks(params: Params, x: tf.Tensor3D, c: ModelConfig, cache: KVCache | null, wantCache: boolean, pads: number[] | null): { h: tf.Tensor2D; cache: KVCache | null } {
  const [B, T] = x.shape;
  const hd = c.dModel / c.nHeads;
  let h: tf.Tensor2D = x.reshape([B * T, c.dModel]);
  const layers: LayerCache[] = [];
  const past = cache ? cache.length : 0;
  const S = past + T;
  // Query i (absolute position past+i) sees keys 0..past+i: the last T rows of the (S, S) mask.
  const causal = past === 0 ? causalMask(T) : tf.slice(causalMask(S), [past, 0], [T, S]);
  const mask = pads ? causal.add(padMask(pads, S)) : causal; // (T, S) or (B, 1, T, S)
  for (let l = 0; l < c.nLayers; l++) {
    const p = (n: string) => params[`h${l}.${n}`];
    const a = layerNorm(h, p("ln1.g"), p("ln1.b"));
    const qkv = mm(a, p("attn.wqkv")).add(p("attn.bqkv")); // (B*T, 3C)
    const headsKernel = impl().headsKernel && headsKernelFits(qkv, hd);
    let [qh, kh, vh] = headsKernel ? splitHeadsKernel(qkv, B, T, c.nHeads, 3) : tf.split(qkv, 3, 1).map((part) => splitHeads(part, B, T, c)); // (B*H, T, hd) each
    if (cache) {
      kh = tf.concat([cache.layers[l].k, kh], 1);
      vh = tf.concat([cache.layers[l].v, vh], 1);
    }
    if (wantCache) layers.push({ k: kh, v: vh });
    let att = batchMatMul(qh, kh, false, true).mul(1 / Math.sqrt(hd)); // (B*H, T, S)
    att = pads ? att.reshape([B, c.nHeads, T, S]).add(mask).reshape([B * c.nHeads, T, S]) : att.add(mask);
    att = tf.softmax(att);
    const heads = batchMatMul(att as tf.Tensor3D, vh);
    const y = headsKernel ? mergeHeadsKernel(heads, B, T, c.nHeads) : mergeHeads(heads, B, T, c); // (B*T, C)
    h = h.add(mm(y, p("attn.wo")).add(p("attn.bo")));
    const m = layerNorm(h, p("ln2.g"), p("ln2.b"));
    h = h.add(mm(gelu(mm(m, p("mlp.w1")).add(p("mlp.b1"))), p("mlp.w2")).add(p("mlp.b2")));
  }
  h = layerNorm(h, params["lnf.g"], params["lnf.b"]) as tf.Tensor2D;
  return { h, cache: wantCache ? { layers, length: past + T, pads } : null };
}

/** Logits (B, T, V) for token ids (B, T). Pure: call inside tf.tidy / a gradient tape. */
export function forward(params: Params, ids: tf.Tensor2D, c: ModelConfig): tf.Tensor3D {
  const [B, T] = ids.shape;
  const { h } = blocks(params, embed(params, ids, 0, c, null), c, null, false, null);
  return head(params, h).reshape([B, T, c.vocabSize]); // (B, T, V)
}

/**
 * Next-token log-probabilities: `all` = log softmax(logits / temperature) over the vocabulary
 * (B, T-1, V), and `logp`[b, t] = log p(ids[b, t+1] | ids[b, <=t]) (B, T-1), under the
 * distribution the rollouts were sampled from. The target lookup is a one-hot product because
 * gather has no gradient on wasm.
 */
export function nextTokenLogSoftmax(params: Params, ids: tf.Tensor2D, c: ModelConfig, temperature = 1): { all: tf.Tensor3D; logp: tf.Tensor2D } {
  const [B, T] = ids.shape;
  let logits = forward(params, tf.slice(ids, [0, 0], [B, T - 1]), c); // (B, T-1, V)
  if (temperature !== 1) logits = logits.div(temperature);
  const all = tf.logSoftmax(logits);
  const targets = tf.oneHot(tf.slice(ids, [0, 1], [B, T - 1]), c.vocabSize); // (B, T-1, V)
  return { all, logp: all.mul(targets).sum(-1) as tf.Tensor2D };
}

/** The log-probability of each next token, (B, T-1) (nextTokenLogSoftmax). Pure: call inside tf.tidy / a gradient tape. */
export function tokenLogProbs(params: Params, ids: tf.Tensor2D, c: ModelConfig, temperature = 1): tf.Tensor2D {
  return nextTokenLogSoftmax(params, ids, c, temperature).logp;
}

/** The policy's entropy at each position, and the probability of token `probe` there, (B, T-1) each, from log softmax `all` (B, T-1, V). */
export function entropyAndProbe(all: tf.Tensor3D, probe: number): { entropy: tf.Tensor2D; probeProb: tf.Tensor2D } {
  const [B, T1] = all.shape;
  return {
    entropy: tf.exp(all).mul(all).sum(-1).neg() as tf.Tensor2D,
    // probability of one given token at every position (GRPO watches p("p") at the first response token: p(code))
    probeProb: tf.exp(tf.slice(all, [0, 0, probe], [B, T1, 1])).reshape([B, T1]) as tf.Tensor2D,
  };
}

/**
 * Next-token log-probabilities and the policy's entropy at each position, (B, T-1) each.
 * For diagnostics (no gradient needed); computes the full distribution once.
 */
export function tokenLogProbsAndEntropy(params: Params, ids: tf.Tensor2D, c: ModelConfig, temperature = 1, probe = 0): { logp: tf.Tensor2D; entropy: tf.Tensor2D; probeProb: tf.Tensor2D } {
  const { all, logp } = nextTokenLogSoftmax(params, ids, c, temperature);
  return { logp, ...entropyAndProbe(all, probe) };
}

/**
 * Prefill: logits of the last position (B, V) and a cache holding all T positions. With `pads`,
 * row b is left-padded by pads[b] tokens that attention never sees and positions skip, so rows of
 * different lengths decode together and each gets the logits it would get alone.
 */
export function prefill(params: Params, ids: tf.Tensor2D, c: ModelConfig, pads: number[] | null = null): { logits: tf.Tensor2D; cache: KVCache } {
  const [B, T] = ids.shape;
  const { h, cache } = blocks(params, embed(params, ids, 0, c, pads), c, null, true, pads);
  const last = tf.slice(h.reshape([B, T, c.dModel]), [0, T - 1, 0], [B, 1, c.dModel]).reshape([B, c.dModel]);
  return { logits: head(params, last), cache: cache! };
}

/** One cached decoding step: ids (B, 1) at position cache.length -> logits (B, V) and the grown cache. */
export function decodeStep(params: Params, ids: tf.Tensor2D, cache: KVCache, c: ModelConfig): { logits: tf.Tensor2D; cache: KVCache } {
  const { h, cache: next } = blocks(params, embed(params, ids, cache.length, c, cache.pads), c, cache, true, cache.pads);
  return { logits: head(params, h), cache: next! };
}

/** tf.tidy for results that hold tensors in typed records (tidy keeps every tensor it finds in them). */
export function tidyKeep<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}

export function disposeCache(cache: KVCache | null): void {
  if (!cache) return;
  for (const l of cache.layers) {
    l.k.dispose();
    l.v.dispose();
  }
}

/**
 * Loss and gradients keyed by parameter name. (tf.variableGrads keys its result by the tf.js
 * variable's global name, which is not our key.) Only trainable variables get gradients.
 */
export function paramGrads(params: Params, f: () => tf.Scalar): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const keys = Object.keys(params).filter((k) => params[k].trainable);
  const { value, grads } = tf.variableGrads(f, keys.map((k) => params[k]));
  const out: Record<string, tf.Tensor> = {};
  for (const k of keys) out[k] = grads[params[k].name];
  return { value, grads: out };
}
