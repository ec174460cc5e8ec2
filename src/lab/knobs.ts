/**
 * Knobs: the typed, validated overrides a notebook cell passes to a plan, e.g.
 *   { gamma: [0.7, 0.3], clip: { epsLow: 0.1 } }
 * Each knob has a default, a one-line valid range and a check. `resolveKnobs` rejects an unknown
 * knob or a bad value with an error that names the knob and its range, before any run starts.
 */
import { FAMILY_IDS, type FamilyId } from "../world/families";
import { resolveGrpoConfig, type GrpoConfig } from "../rl/grpo";

export interface Knob<T> {
  /** The valid range, as the error message and the docs say it. */
  range: string;
  default: T;
  /** The value, normalised; throws (any message) when it is out of range. */
  check(v: unknown): T;
}

export type KnobSet = Record<string, Knob<unknown>>;
export type KnobValues<S extends KnobSet> = { [K in keyof S]: S[K] extends Knob<infer T> ? T : never };
/** What a cell writes: any subset of the knobs. */
export type KnobOverrides<S extends KnobSet> = Partial<KnobValues<S>>;

export type GrpoOverrides = Partial<GrpoConfig>;

function fail(why = ""): never {
  throw new Error(why);
}

function nonEmptyList(v: unknown): unknown[] {
  if (!Array.isArray(v) || v.length === 0) fail("not a non-empty list");
  if (new Set(v.map((x) => JSON.stringify(x))).size !== v.length) fail("it repeats a value");
  return v;
}

/** A non-empty list of distinct numbers in [min, max]. */
export function numberList(min: number, max: number, def: number[]): Knob<number[]> {
  return {
    range: `a non-empty list of distinct numbers in [${min}, ${max}]`,
    default: def,
    check: (v) => nonEmptyList(v).map((x) => (typeof x === "number" && Number.isFinite(x) && x >= min && x <= max ? x : fail())),
  };
}

/** Seeds: a non-empty list of distinct non-negative integers. */
export function seedList(def: number[]): Knob<number[]> {
  return {
    range: "a non-empty list of distinct integers >= 0",
    default: def,
    check: (v) => nonEmptyList(v).map((x) => (Number.isInteger(x) && (x as number) >= 0 ? (x as number) : fail())),
  };
}

/** A non-empty subset of `choices`, in the order written. */
export function choiceList<C extends string>(choices: readonly C[], def: readonly C[] = choices): Knob<C[]> {
  return {
    range: `a non-empty list from: ${choices.join(", ")}`,
    default: [...def],
    check: (v) => nonEmptyList(v).map((x) => (choices.includes(x as C) ? (x as C) : fail())),
  };
}

export function oneOf<C extends string>(choices: readonly C[], def: C): Knob<C> {
  return { range: `one of: ${choices.join(", ")}`, default: def, check: (v) => (choices.includes(v as C) ? (v as C) : fail()) };
}

export const familyList = (def: readonly FamilyId[] = FAMILY_IDS): Knob<FamilyId[]> => choiceList(FAMILY_IDS, def);
export const family = (def: FamilyId = "qwen-math-7b"): Knob<FamilyId> => oneOf(FAMILY_IDS, def);

/**
 * GRPO settings (only `keys`, when given), each value checked by resolveGrpoConfig, so the message
 * carries the setting's own range (e.g. "GRPO setting epsLow must be in [0, 1), got 1.5").
 */
export function grpoSettings(def: GrpoOverrides = {}, keys?: readonly (keyof GrpoConfig)[]): Knob<GrpoOverrides> {
  return {
    range: `an object of GRPO settings${keys ? ` (${keys.join(", ")})` : " (see GrpoConfig in src/rl/grpo.ts)"}`,
    default: def,
    check: (v) => {
      if (v === null || typeof v !== "object" || Array.isArray(v)) fail("not an object");
      for (const k of Object.keys(v)) if (keys && !keys.includes(k as keyof GrpoConfig)) fail(`"${k}" is not one of ${keys.join(", ")}`);
      // The settings together (momentum needs optimizer "sgd", tokenMeanGroup needs token-mean),
      // so the message carries the setting's own range. Batch sizes are checked again with the
      // scale's preset when the specs resolve.
      try {
        resolveGrpoConfig(v as GrpoOverrides);
      } catch (e) {
        if (!/does not divide/.test((e as Error).message)) throw e;
      }
      return { ...(v as GrpoOverrides) };
    },
  };
}

/** The knobs of a set resolved against their defaults: the error names the knob and its valid range. */
export function resolveKnobs<S extends KnobSet>(where: string, set: S, overrides: object = {}): KnobValues<S> {
  const all = () => Object.entries(set).map(([k, knob]) => `${k} (${knob.range})`).join("; ");
  if (overrides === null || typeof overrides !== "object" || Array.isArray(overrides)) throw new Error(`${where}: overrides must be an object of knobs; valid knobs: ${all() || "none"}`);
  for (const k of Object.keys(overrides)) if (!(k in set)) throw new Error(`${where} has no knob "${k}"; valid knobs: ${all() || "none"}`);
  const out: Record<string, unknown> = {};
  for (const [k, knob] of Object.entries(set)) {
    const given = (overrides as Record<string, unknown>)[k];
    if (given === undefined) {
      out[k] = knob.default;
      continue;
    }
    try {
      out[k] = knob.check(given);
    } catch (e) {
      const why = (e as Error).message;
      throw new Error(`${where}: knob "${k}" must be ${knob.range}; got ${JSON.stringify(given)}${why ? ` (${why})` : ""}`);
    }
  }
  return out as KnobValues<S>;
}
