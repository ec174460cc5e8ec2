/**
 * The one source of randomness in the project.
 *
 * Every random draw comes from a named stream. A stream is derived from a root seed and a path of
 * keys (`rng.fork("rollout", step, i)`), so what a stream produces depends only on its name, never
 * on how many numbers other streams consumed before it. That is what makes a resumed run produce
 * the same numbers as an uninterrupted one, and a re-run notebook cell the same figure.
 * Nothing in src/ may use JavaScript's unseeded global generator (a test enforces it).
 */
import seedrandom from "seedrandom";

export type RngKey = string | number;

export interface Rng {
  /** The full name of this stream: root seed and fork keys, joined by '/'. */
  readonly name: string;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform integer in [lo, hi] (both inclusive). */
  range(lo: number, hi: number): number;
  /** True with probability p. */
  bernoulli(p: number): boolean;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** One element of a non-empty array, uniformly. */
  pick<T>(items: readonly T[]): T;
  /** Index drawn with probability proportional to weights (non-negative, not all zero). */
  categorical(weights: readonly number[]): number;
  /** A new independent stream named by this one plus keys. Does not advance this stream. */
  fork(...keys: RngKey[]): Rng;
}

function keyText(key: RngKey): string {
  if (typeof key === "number" && !Number.isFinite(key)) throw new Error(`rng key must be finite, got ${key}`);
  return String(key);
}

/** A stream named `seed/key1/key2/...`. */
export function makeRng(seed: RngKey, ...keys: RngKey[]): Rng {
  const name = [seed, ...keys].map(keyText).join("/");
  const prng = seedrandom.alea(name);
  const rng: Rng = {
    name,
    next: () => prng(),
    int(n) {
      if (!Number.isInteger(n) || n <= 0) throw new Error(`rng.int needs a positive integer, got ${n}`);
      return Math.floor(prng() * n);
    },
    range(lo, hi) {
      if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) throw new Error(`rng.range needs integers lo <= hi, got ${lo}, ${hi}`);
      return lo + Math.floor(prng() * (hi - lo + 1));
    },
    bernoulli: (p) => prng() < p,
    normal() {
      const u = 1 - prng(); // (0, 1]: log(0) never happens
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * prng());
    },
    pick(items) {
      if (items.length === 0) throw new Error("rng.pick on an empty array");
      return items[Math.floor(prng() * items.length)];
    },
    categorical(weights) {
      let total = 0;
      for (const w of weights) {
        if (!(w >= 0)) throw new Error(`rng.categorical weight must be >= 0, got ${w}`);
        total += w;
      }
      if (total <= 0) throw new Error("rng.categorical weights are all zero");
      let u = prng() * total;
      for (let i = 0; i < weights.length; i++) {
        u -= weights[i];
        if (u < 0) return i;
      }
      // Floating-point round-off: fall back to the last index with weight.
      for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
      return weights.length - 1;
    },
    fork: (...more) => makeRng(seed, ...keys, ...more),
  };
  return rng;
}
