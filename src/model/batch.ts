/**
 * Packing (prompt, response) token sequences into padded tensors with a response mask over the
 * next-token targets: mask[b, t] = 1 when ids[b, t+1] is a response token (EOS included).
 */
import * as tf from "@tensorflow/tfjs";
import { PAD } from "../world/tokens";

export interface SequenceRow {
  /** BOS + prompt ids. */
  prompt: readonly number[];
  /** Response ids (EOS included when the response ended). */
  response: readonly number[];
}

export interface PackedBatch {
  ids: tf.Tensor2D; // (B, T)
  mask: tf.Tensor2D; // (B, T-1)
  /** Padded length T. */
  T: number;
  /** Response tokens per row. */
  lengths: number[];
}

export function packSequences(rows: readonly SequenceRow[]): PackedBatch {
  if (rows.length === 0) throw new Error("cannot pack an empty batch");
  const T = Math.max(...rows.map((r) => r.prompt.length + r.response.length));
  const ids = new Int32Array(rows.length * T).fill(PAD);
  const mask = new Float32Array(rows.length * (T - 1));
  rows.forEach((r, b) => {
    ids.set(r.prompt, b * T);
    ids.set(r.response, b * T + r.prompt.length);
    for (let t = r.prompt.length - 1; t < r.prompt.length + r.response.length - 1; t++) mask[b * (T - 1) + t] = 1;
  });
  return { ids: tf.tensor2d(ids, [rows.length, T], "int32"), mask: tf.tensor2d(mask, [rows.length, T - 1]), T, lengths: rows.map((r) => r.response.length) };
}

/** Scatter per-row response values (one per response token) into a (B, T-1) layout matching the mask. */
export function responseValuesToGrid(rows: readonly SequenceRow[], T: number, values: readonly ArrayLike<number>[]): Float32Array {
  const out = new Float32Array(rows.length * (T - 1));
  rows.forEach((r, b) => {
    for (let j = 0; j < r.response.length; j++) out[b * (T - 1) + r.prompt.length - 1 + j] = values[b][j];
  });
  return out;
}

/** Gather per-row response values out of a (B, T-1) grid. */
export function gridToResponseValues(rows: readonly SequenceRow[], T: number, grid: ArrayLike<number>): Float32Array[] {
  return rows.map((r, b) => {
    const v = new Float32Array(r.response.length);
    for (let j = 0; j < r.response.length; j++) v[j] = grid[b * (T - 1) + r.prompt.length - 1 + j];
    return v;
  });
}
