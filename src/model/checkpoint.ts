/**
 * Checkpoints: one file = magic + JSON header + float32 weights (+ optional Adam state).
 *
 *   "SPRCKPT1" | u32 little-endian header length | header JSON (utf8) | float32 blobs | "SPRCKSUM" | sha256 (64 hex)
 *
 * The header carries the format version, model config, vocabulary, the corpus spec it was trained
 * on, training progress and metrics, and the name/shape of every stored tensor in order. Loading
 * checks all of it: a checksum mismatch (an edited header, a flipped bit in the weights), a
 * truncated file, wrong shapes or another vocabulary is an error naming the file and the mismatch.
 *
 * A checkpoint of world N > 1 says so in its header (`world`); a header without it is world 1 (the
 * shipped checkpoints predate world versions, and world 1's headers leave the field out so their
 * bytes, and so every name hashed from them, stay the same). Loading with `world` set checks it.
 *
 * The checksum is a trailer over everything before it, so a checkpoint's identity (checkpointSha,
 * which run names, evaluations and labels hash) stays the sha of the same bytes it was before
 * checksums existed: adding the trailer to the shipped checkpoints renamed nothing.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { writeFileAtomic } from "../util/store";
import { paramShapes, validateModelConfig, type ModelConfig, type Params } from "./model";
import type { AdamState } from "./optim";
import { VOCAB, VOCAB_VERSION } from "../world/tokens";
import { checkWorld, storedWorld, worldField, type World } from "../world/worlds";

export const CHECKPOINT_FORMAT = 1;
const MAGIC = "SPRCKPT1";
const SUM_MAGIC = "SPRCKSUM";
const SUM_LENGTH = SUM_MAGIC.length + 64;
/** What to do about a missing or damaged checkpoint; a run's resume state passes its own (loadCheckpoint's `remedy`). */
const REMEDY = "restore it (git checkout -- <file> for a shipped one) or retrain it with npm run pretrain";

function sha256(data: Buffer): string {
  return crypto.createHash("sha256").update(data).digest("hex");
}

export interface CheckpointHeader {
  format: number;
  /** What produced it, e.g. "base-d64" or "family:qwen-math-7b". */
  name: string;
  config: ModelConfig;
  vocab: { version: number; tokens: string[] };
  /** Free-form provenance: corpus spec, parent checkpoint, training settings. */
  meta: Record<string, unknown>;
  /** Training steps done (for resuming). */
  step: number;
  /** Measured metrics (filled in by evaluation). */
  metrics: Record<string, unknown>;
  tensors: { name: string; shape: number[] }[];
  /** Set when Adam moments follow the weights. */
  optimizerStep: number | null;
  /** The world it was pretrained in; absent = world 1 (see src/world/worlds.ts). */
  world?: World;
}

export interface Checkpoint {
  header: CheckpointHeader;
  params: Params;
  optimizer: AdamState | null;
}

export function saveCheckpoint(file: string, params: Params, header: Omit<CheckpointHeader, "format" | "tensors" | "vocab" | "optimizerStep">, optimizer: AdamState | null = null): void {
  const { world, ...rest } = header;
  const names = paramShapes(rest.config).map(([n]) => n);
  const tensors: { name: string; shape: number[] }[] = [];
  const blobs: Float32Array[] = [];
  const add = (name: string, t: tf.Tensor) => {
    tensors.push({ name, shape: t.shape });
    blobs.push(t.dataSync() as Float32Array);
  };
  for (const n of names) add(n, params[n]);
  if (optimizer) for (const n of names) {
    add(`adam.m.${n}`, optimizer.m[n]);
    add(`adam.v.${n}`, optimizer.v[n]);
  }
  const full: CheckpointHeader = {
    ...rest,
    format: CHECKPOINT_FORMAT,
    vocab: { version: VOCAB_VERSION, tokens: [...VOCAB] },
    tensors,
    optimizerStep: optimizer ? optimizer.step : null,
    ...worldField(world ?? 1),
  };
  const head = Buffer.from(JSON.stringify(full), "utf8");
  const total = blobs.reduce((n, b) => n + b.length, 0);
  const buf = Buffer.alloc(MAGIC.length + 4 + head.length + 4 * total);
  buf.write(MAGIC, 0, "latin1");
  buf.writeUInt32LE(head.length, MAGIC.length);
  head.copy(buf, MAGIC.length + 4);
  let off = MAGIC.length + 4 + head.length;
  for (const b of blobs) {
    Buffer.from(b.buffer, b.byteOffset, b.byteLength).copy(buf, off);
    off += b.byteLength;
  }
  writeFileAtomic(file, Buffer.concat([buf, Buffer.from(SUM_MAGIC + sha256(buf), "latin1")]));
}

/** A checkpoint's bytes before the checksum trailer and their sha256, after checking the two agree. */
function verified(file: string, remedy = REMEDY): { content: Buffer; sha: string } {
  const data = fs.readFileSync(file, { flag: "r" });
  const n = data.length - SUM_LENGTH;
  if (n < 0 || data.toString("latin1", n, n + SUM_MAGIC.length) !== SUM_MAGIC) {
    // Without its trailer the file is cut short (say what is missing) or predates checksums.
    parseContent(file, data, true, remedy);
    throw new Error(`checkpoint ${file} has no checksum (written before checksums existed, or cut short); ${remedy}`);
  }
  const content = data.subarray(0, n);
  const stored = data.toString("latin1", n + SUM_MAGIC.length);
  const actual = sha256(content);
  if (actual !== stored) throw new Error(`checkpoint ${file} fails its checksum (its header or weights changed after it was written: sha256 ${actual.slice(0, 16)}, stored ${stored.slice(0, 16)}); ${remedy}`);
  return { content, sha: stored };
}

/** Read and validate only the header. */
export function readCheckpointHeader(file: string): CheckpointHeader {
  return parse(file, false).header;
}

function parse(file: string, withData: boolean, remedy = REMEDY): { header: CheckpointHeader; data: Buffer; offset: number } {
  if (!fs.existsSync(file)) throw new Error(`checkpoint ${file} does not exist; ${remedy}`);
  return parseContent(file, verified(file, remedy).content, withData, remedy);
}

/** Check and split a checkpoint's content (without the checksum trailer). */
function parseContent(file: string, data: Buffer, withData: boolean, remedy = REMEDY): { header: CheckpointHeader; data: Buffer; offset: number } {
  if (data.length < MAGIC.length + 4 || data.toString("latin1", 0, MAGIC.length) !== MAGIC) {
    throw new Error(`checkpoint ${file} is not a checkpoint (bad magic bytes); ${remedy}`);
  }
  const len = data.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4;
  if (start + len > data.length) throw new Error(`checkpoint ${file} is truncated (header needs ${len} bytes, file has ${data.length - start}); ${remedy}`);
  let header: CheckpointHeader;
  try {
    header = JSON.parse(data.toString("utf8", start, start + len));
  } catch (e) {
    throw new Error(`checkpoint ${file} has a corrupt header: ${(e as Error).message}; ${remedy}`);
  }
  if (header.format !== CHECKPOINT_FORMAT) throw new Error(`checkpoint ${file} has format ${header.format}; this code reads format ${CHECKPOINT_FORMAT}`);
  if (header.vocab?.version !== VOCAB_VERSION || JSON.stringify(header.vocab.tokens) !== JSON.stringify(VOCAB)) {
    throw new Error(`checkpoint ${file} was trained with another vocabulary (v${header.vocab?.version}, ${header.vocab?.tokens?.length} tokens; this code has v${VOCAB_VERSION}, ${VOCAB.length} tokens)`);
  }
  storedWorld(header, `checkpoint ${file}`);
  try {
    validateModelConfig(header.config);
  } catch (e) {
    throw new Error(`checkpoint ${file}: ${(e as Error).message}`);
  }
  const expected = paramShapes(header.config);
  expected.forEach(([n, s], i) => {
    const got = header.tensors[i];
    if (!got || got.name !== n || JSON.stringify(got.shape) !== JSON.stringify(s)) {
      throw new Error(`checkpoint ${file}: tensor ${i} should be ${n} ${JSON.stringify(s)}, found ${got ? `${got.name} ${JSON.stringify(got.shape)}` : "nothing"}`);
    }
  });
  const floats = header.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  const need = start + len + 4 * floats;
  if (withData && data.length !== need) throw new Error(`checkpoint ${file} is ${data.length < need ? "truncated" : "too long"}: ${data.length} bytes, header promises ${need}; ${remedy}`);
  return { header, data, offset: start + len };
}

export interface LoadOptions {
  /** Also load the Adam moments when the file has them. */
  withOptimizer?: boolean;
  /** The model config the file must have. */
  expectConfig?: ModelConfig;
  /** What the user should do when the file is missing or damaged (default: restore or retrain a shipped checkpoint). */
  remedy?: string;
  /** The world the file must belong to. */
  world?: World;
}

/** What to do about a checkpoint of the wrong world. */
const WORLD_REMEDY = "each world keeps its checkpoints apart (world N > 1 in data/checkpoints/world<N>/); pretrain this one in its world with npm run pretrain";

/** Check a header's world against the one asked for (nothing to check when none is asked for). */
function expectWorld(file: string, header: CheckpointHeader, world: World | undefined): void {
  if (world !== undefined) checkWorld(`checkpoint ${file}`, storedWorld(header, `checkpoint ${file}`), world, WORLD_REMEDY);
}

/** Load weights (trainable variables) and, when stored and asked for, the Adam state. */
export function loadCheckpoint(file: string, opts: LoadOptions = {}): Checkpoint {
  const { header, data, offset } = parse(file, true, opts.remedy);
  expectWorld(file, header, opts.world);
  if (opts.expectConfig && JSON.stringify(opts.expectConfig) !== JSON.stringify(header.config)) {
    throw new Error(`checkpoint ${file} has model config ${JSON.stringify(header.config)}, expected ${JSON.stringify(opts.expectConfig)}${opts.remedy ? `; ${opts.remedy}` : ""}`);
  }
  const arr = new Float32Array(data.buffer.slice(data.byteOffset + offset, data.byteOffset + data.length));
  const byName = new Map<string, tf.Tensor>();
  let off = 0;
  for (const t of header.tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    byName.set(t.name, tf.tensor(arr.subarray(off, off + size), t.shape));
    off += size;
  }
  const params: Params = {};
  for (const [n] of paramShapes(header.config)) params[n] = tf.variable(byName.get(n)!, true);
  let optimizer: AdamState | null = null;
  if (opts.withOptimizer && header.optimizerStep !== null) {
    const m: Record<string, tf.Variable> = {};
    const v: Record<string, tf.Variable> = {};
    for (const [n] of paramShapes(header.config)) {
      m[n] = tf.variable(byName.get(`adam.m.${n}`)!, false);
      v[n] = tf.variable(byName.get(`adam.v.${n}`)!, false);
    }
    optimizer = { step: header.optimizerStep, m, v };
  }
  for (const t of byName.values()) t.dispose();
  return { header, params, optimizer };
}

const idCache = new Map<string, { sha: string; header: CheckpointHeader }>();
/**
 * A checkpoint's identity: the first 16 hex digits of the sha256 of its bytes before the checksum
 * trailer, checked against that trailer (cached by size and mtime). A missing or damaged checkpoint,
 * or one of another world than `world` (when given), is an error naming the file, so nothing is
 * looked up or stored under a wrong identity.
 */
export function checkpointSha(file: string, world?: World): string {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st) throw new Error(`checkpoint ${file} does not exist; ${REMEDY}`);
  const key = `${file}:${st.size}:${st.mtimeMs}`;
  let id = idCache.get(key);
  if (!id) {
    const { content, sha } = verified(file);
    idCache.set(key, (id = { sha: sha.slice(0, 16), header: parseContent(file, content, false).header }));
  }
  expectWorld(file, id.header, world);
  return id.sha;
}
