/** `--set key=value` for GRPO settings, typed by the defaults (used by the experiment CLI; a module of its own so tests import it without running a CLI), and `--world`. */
import { DEFAULT_GRPO, type GrpoConfig } from "../rl/grpo";
import { DEFAULT_WORLD, WORLD_ABOUT, WORLDS, type World } from "../world/worlds";
import { UsageError, type FlagSpec, type ParsedFlags } from "./args";

/** --world: which world's checkpoints, labels, evaluations and runs (src/world/worlds.ts). */
export const WORLD_FLAG: FlagSpec = { type: "string", help: `world version: ${WORLDS.map((w) => `${w} (${WORLD_ABOUT[w]})`).join(", ")}`, default: String(DEFAULT_WORLD), choices: WORLDS.map(String) };
export const worldFlag = (f: ParsedFlags): World => Number(f.world) as World;

/** Parse "key=value" against the GRPO config's types: numbers, booleans, or names. */
export function parseSet(items: readonly string[]): Partial<Record<keyof GrpoConfig, unknown>> {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(item);
    if (!m) throw new UsageError(`--set needs key=value, got "${item}"`);
    const [, key, raw] = m;
    if (!(key in DEFAULT_GRPO)) throw new UsageError(`--set ${key}: unknown setting; valid: ${Object.keys(DEFAULT_GRPO).join(", ")}`);
    const def = DEFAULT_GRPO[key as keyof GrpoConfig];
    if (typeof def === "number") {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) throw new UsageError(`--set ${key}: needs a number, got "${raw}"`);
      out[key] = n;
    } else if (typeof def === "boolean") {
      if (raw !== "true" && raw !== "false") throw new UsageError(`--set ${key}: needs true or false, got "${raw}"`);
      out[key] = raw === "true";
    } else out[key] = raw;
  }
  return out;
}
