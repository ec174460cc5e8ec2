/**
 * The arithmetic world: the MATH-500 analog.
 *
 * A problem is a topic letter and an expression over single-digit operands with k operations
 * (+, -, *), evaluated strictly LEFT TO RIGHT like a pocket calculator: "3+4*2" is (3+4)*2 = 14.
 * Every intermediate value stays in [0, 99], so each written step is "a number below 100 op a
 * digit": easy enough for a tiny model to learn (the design's second pilot showed that operands up
 * to 19 made the world unlearnable at this scale).
 *
 * The topic letter is the problem's surface form (like MATH's subjects). Families decide their
 * reasoning mode and their reliability per topic, so the mode depends on the problem, as the
 * paper's greedy numbers require.
 *
 * Splits are fixed by a hash of the problem's text, so they are disjoint by construction:
 *   test  (500, k in {2,3})  the MATH-500 analog, greedy pass@1
 *   hard  (200, k = 4)       the AMC analog, avg@8 at temperature 0.6
 *   fresh (500, k in {2,3})  never in any corpus: the contamination-free AIME-2025 analog
 *   train (1024, k in {2,3}) the RL prompts (DeepScaleR analog); pretraining corpora draw from the
 *                            same hash buckets as train, never from an evaluation bucket.
 */
import { makeRng, type Rng } from "../util/rng";

export type Op = "+" | "-" | "*";
export const OPS: readonly Op[] = ["+", "-", "*"];
export const TOPICS = "abcdefghijklmnopqrstuvwxyz";
export const MAX_VALUE = 99;

export interface Problem {
  /** Surface form: one letter of TOPICS. */
  topic: string;
  /** k + 1 operands, each 1..9. */
  operands: number[];
  /** k operators. */
  ops: Op[];
  /** values[i] = result after applying ops[i] (left to right); the last one is the answer. */
  values: number[];
  answer: number;
  /** Canonical text and identity, e.g. "k:3+4*2". */
  text: string;
  /** What the model is given: text + "=". */
  prompt: string;
}

export type SplitName = "train" | "test" | "hard" | "fresh";
export const SPLITS: readonly SplitName[] = ["train", "test", "hard", "fresh"];

export interface SplitSpec {
  size: number;
  /** Operation counts and their weights. */
  ks: readonly number[];
  kWeights: readonly number[];
  /** Hash buckets (of 100) that belong to this split. */
  buckets: readonly [number, number];
}

/** World version: bump when generation changes, since stored splits and checkpoints depend on it. */
export const WORLD_VERSION = 1;

export const SPLIT_SPECS: Record<SplitName, SplitSpec> = {
  test: { size: 500, ks: [2, 3], kWeights: [0.4, 0.6], buckets: [0, 3] },
  hard: { size: 200, ks: [4], kWeights: [1], buckets: [3, 6] },
  fresh: { size: 500, ks: [2, 3], kWeights: [0.4, 0.6], buckets: [6, 9] },
  train: { size: 1024, ks: [2, 3], kWeights: [0.4, 0.6], buckets: [9, 100] },
};

/** Operation counts a pretraining corpus draws, and how often. */
export const CORPUS_KS = [2, 3, 4] as const;
export const CORPUS_K_WEIGHTS = [0.35, 0.45, 0.2] as const;

function apply(a: number, op: Op, b: number): number {
  return op === "+" ? a + b : op === "-" ? a - b : a * b;
}

/** Build a problem from its parts; throws if an intermediate leaves [0, MAX_VALUE]. */
export function makeProblem(topic: string, operands: number[], ops: Op[]): Problem {
  if (topic.length !== 1 || !TOPICS.includes(topic)) throw new Error(`bad topic ${JSON.stringify(topic)}`);
  if (operands.length !== ops.length + 1 || ops.length < 1) throw new Error(`need k >= 1 ops and k+1 operands, got ${ops.length} and ${operands.length}`);
  const values: number[] = [];
  let acc = operands[0];
  ops.forEach((op, i) => {
    acc = apply(acc, op, operands[i + 1]);
    values.push(acc);
  });
  if (values.some((v) => v < 0 || v > MAX_VALUE)) throw new Error(`intermediate out of [0, ${MAX_VALUE}]: ${values}`);
  let text = `${topic}:${operands[0]}`;
  ops.forEach((op, i) => (text += op + operands[i + 1]));
  return { topic, operands, ops, values, answer: acc, text, prompt: text + "=" };
}

/** Parse "k:3+4*2" back into a problem (the canonical text round-trips). */
export function parseProblem(text: string): Problem {
  const m = /^([a-z]):(\d)((?:[-+*]\d)+)$/.exec(text);
  if (!m) throw new Error(`not a problem text: ${JSON.stringify(text)}`);
  const ops: Op[] = [];
  const operands = [Number(m[2])];
  for (let i = 0; i < m[3].length; i += 2) {
    ops.push(m[3][i] as Op);
    operands.push(Number(m[3][i + 1]));
  }
  return makeProblem(m[1], operands, ops);
}

/** FNV-1a, 32 bit: a stable hash of a problem's text. */
export function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function bucketOf(text: string): number {
  return hashText(text) % 100;
}

/** The split a problem's text belongs to by hash (k is checked by the split's own generator). */
export function splitOfBucket(bucket: number): SplitName {
  for (const s of SPLITS) {
    const [lo, hi] = SPLIT_SPECS[s].buckets;
    if (bucket >= lo && bucket < hi) return s;
  }
  throw new Error(`bucket ${bucket} belongs to no split`);
}

/** A random valid problem with k operations (rejection sampling on the value range). */
export function randomProblem(rng: Rng, k: number): Problem {
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const topic = TOPICS[rng.int(TOPICS.length)];
    const operands = Array.from({ length: k + 1 }, () => rng.range(1, 9));
    const ops = Array.from({ length: k }, () => OPS[rng.int(OPS.length)]);
    let acc = operands[0];
    let ok = true;
    for (let i = 0; i < k && ok; i++) {
      acc = apply(acc, ops[i], operands[i + 1]);
      ok = acc >= 0 && acc <= MAX_VALUE;
    }
    if (ok) return makeProblem(topic, operands, ops);
  }
  throw new Error(`could not draw a valid problem with k=${k}`);
}

/** A random problem whose hash falls in the given split's buckets. */
export function randomProblemIn(rng: Rng, split: SplitName, ks: readonly number[], kWeights: readonly number[]): Problem {
  for (;;) {
    const p = randomProblem(rng, ks[rng.categorical(kWeights)]);
    if (splitOfBucket(bucketOf(p.text)) === split) return p;
  }
}

const splitCache = new Map<SplitName, Problem[]>();

/** The fixed problems of a split (deterministic; cached per process). */
export function getSplit(split: SplitName): Problem[] {
  const spec = SPLIT_SPECS[split];
  if (!spec) throw new Error(`unknown split "${split}"; valid: ${SPLITS.join(", ")}`);
  const cached = splitCache.get(split);
  if (cached) return cached;
  const rng = makeRng(`world-v${WORLD_VERSION}`, "split", split);
  const seen = new Set<string>();
  const out: Problem[] = [];
  while (out.length < spec.size) {
    const p = randomProblemIn(rng, split, spec.ks, spec.kWeights);
    if (seen.has(p.text)) continue;
    seen.add(p.text);
    out.push(p);
  }
  splitCache.set(split, out);
  return out;
}
