/**
 * The one setting every notebook has: use the stored results, or recompute.
 *
 *   const RECOMPUTE = false;              // in the notebook's first code cell
 *   const mode = notebookMode(RECOMPUTE);
 *
 * stored     (RECOMPUTE = false) figures are built from data/ (shipped runs); nothing trains.
 * recompute  (RECOMPUTE = true)  every run the notebook needs is computed at the default scale
 *                                (stored runs with the same spec are reused; delete them to redo).
 * smoke      (SPURIOUS_NOTEBOOK_SCALE=smoke, set by the tests) fresh smoke-scale runs in the
 *                                temporary store SPURIOUS_RUNS: seconds per run, numbers meaningless,
 *                                every code path exercised.
 */
import { codeVersion, runOrLoad, resolveSpec, runName, type RunResult, type Scale } from "./experiments";
import { plan } from "./plans";

export interface NotebookMode {
  kind: "stored" | "recompute" | "smoke";
  /** Scale of the runs the notebook asks for. */
  scale: Scale;
  /** Whether a missing run may be computed. */
  compute: boolean;
  /** One line for the notebook to print. */
  note: string;
}

export function notebookMode(recompute: boolean): NotebookMode {
  if (typeof recompute !== "boolean") throw new Error(`RECOMPUTE must be true or false, got ${JSON.stringify(recompute)}`);
  const env = process.env.SPURIOUS_NOTEBOOK_SCALE;
  if (env !== undefined && env !== "smoke") throw new Error(`SPURIOUS_NOTEBOOK_SCALE must be "smoke" or unset, got "${env}"`);
  if (env === "smoke") {
    if (!process.env.SPURIOUS_RUNS) throw new Error("smoke mode needs SPURIOUS_RUNS (a temporary run store) so shipped results are never touched");
    return { kind: "smoke", scale: "smoke", compute: true, note: `smoke mode: fresh smoke-scale runs in ${process.env.SPURIOUS_RUNS} (numbers are not meaningful)` };
  }
  if (recompute) return { kind: "recompute", scale: "default", compute: true, note: "RECOMPUTE = true: missing runs are computed at the default scale (minutes each)" };
  return { kind: "stored", scale: "default", compute: false, note: "using the stored results in data/ (set RECOMPUTE = true to compute missing ones)" };
}

export interface LoadedPlan {
  runs: RunResult[];
  /** Runs of the plan that are not stored (stored mode only). */
  missing: string[];
  /** Stored runs computed by another version of src/ than the one running now. */
  otherCode: number;
}

/**
 * The runs of a plan: loaded from the store, or computed when the mode allows. In stored mode a
 * missing run is listed (and the figures say so) rather than computed behind the user's back.
 */
export async function loadPlan(name: string, mode: NotebookMode, opts: { quiet?: boolean } = {}): Promise<LoadedPlan> {
  const runs: RunResult[] = [];
  const missing: string[] = [];
  for (const spec of plan(name, mode.scale)) {
    try {
      runs.push(await runOrLoad(spec, { loadOnly: !mode.compute, quiet: opts.quiet ?? true }));
    } catch (e) {
      if (mode.compute || !/no stored result/.test((e as Error).message)) throw e;
      missing.push(runName(resolveSpec(spec)));
    }
  }
  const now = codeVersion();
  return { runs, missing, otherCode: runs.filter((r) => r.codeVersion !== now).length };
}

/** A one-line account of what a plan's figures are built from. */
export function planNote(name: string, p: LoadedPlan): string {
  const base = `${name}: ${p.runs.length} runs loaded${p.otherCode ? ` (${p.otherCode} computed by an earlier version of src/; their spec and checkpoint match)` : ""}`;
  return p.missing.length ? `${base}; ${p.missing.length} NOT YET COMPUTED (npm run sweep -- ${name}): ${p.missing.slice(0, 6).join(", ")}${p.missing.length > 6 ? ", ..." : ""}` : base;
}
