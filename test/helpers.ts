/** Shared test fixtures: a tiny model on the default backend. */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/model/backend";
import { initParams, type ModelConfig, type Params } from "../src/model/model";
import { makeRng } from "../src/util/rng";
import { VOCAB_SIZE } from "../src/world/tokens";

export const TINY: ModelConfig = { vocabSize: VOCAB_SIZE, contextLength: 76, dModel: 16, nLayers: 2, nHeads: 2, dMlp: 32 };

export async function setup(): Promise<void> {
  await initBackend({ quiet: true });
}

export function tinyParams(seed = 1, config: ModelConfig = TINY): Params {
  return initParams(config, makeRng("test", seed));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export { tf };
