/**
 * The notebook as a lab bench. The first code cell holds the notebook's settings:
 *
 *   const WORLD = 1;           // which world's checkpoints and runs (src/world/worlds.ts)
 *   const RECOMPUTE = false;   // may a cell compute the runs it is missing?
 *   const MAX_MINUTES = 15;    // ... only when they take at most this long (else: the sweep command)
 *   const mode = notebookMode(RECOMPUTE, { maxMinutes: MAX_MINUTES, world: WORLD });
 *
 * and every figure cell is self-contained: it names its runs (a plan and the knobs written in the
 * cell), loads or computes them, and draws one figure:
 *
 *   const g = await runs("gamma", { gamma: [0.7, 0.3] }, mode);
 *   await figure("05-clipping/fig10-gamma", conditionCurves(g.runs, ..., { label: g.label }), mode);
 *
 * Edit a knob and rerun that cell alone: the knobs are checked before anything runs (an unknown
 * knob or a bad value names the knob and its range), missing runs are computed in the cell with a
 * progress line when allowed and estimated under MAX_MINUTES, or else the cell prints the exact
 * `npm run sweep` command and draws what is stored.
 *
 * stored     (RECOMPUTE = false) figures are built from data/ (shipped runs); nothing trains.
 * recompute  (RECOMPUTE = true)  every run the notebook needs is computed at the default scale
 *                                (stored runs with the same spec are reused; delete them to redo).
 * smoke      (SPURIOUS_NOTEBOOK_SCALE=smoke, set by the tests) fresh smoke-scale runs in the
 *                                temporary store SPURIOUS_RUNS: seconds per run, numbers meaningless,
 *                                every code path exercised.
 */
import type { Condition } from "../lab/analysis";
import { showFigure, saveFigure, type Figure } from "./display";
import { codeVersion, MissingRunError, runOrLoad, resolveSpec, runName, storedRun, type ResolvedSpec, type RunResult, type Scale } from "../lab/experiments";
import { isPlanName, plannedRuns, planNotInWorld, type PlanKnobs, type PlanName } from "../lab/plans";
import { figureNotInWorld, findFigure } from "../lab/registry";
import { shipsFamily } from "../world/families-v2";
import { DEFAULT_WORLD, parseWorld, type World } from "../world/worlds";

export interface NotebookMode {
  kind: "stored" | "recompute" | "smoke";
  /** Scale of the runs the notebook asks for. */
  scale: Scale;
  /** Whether a missing run may be computed. */
  compute: boolean;
  /** A cell computes its missing runs itself only when they are estimated to take at most this. */
  maxMinutes: number;
  /** One line for the notebook to print. */
  note: string;
  /** The world whose checkpoints, evaluations and runs the notebook reads. */
  world: World;
}

export function notebookMode(recompute: boolean, opts: { maxMinutes?: number; world?: number } = {}): NotebookMode {
  const maxMinutes = opts.maxMinutes ?? 15;
  if (typeof maxMinutes !== "number" || !(maxMinutes >= 0)) throw new Error(`MAX_MINUTES must be a number >= 0, got ${JSON.stringify(maxMinutes)}`);
  const world = parseWorld(opts.world ?? DEFAULT_WORLD, "the notebook's WORLD setting");
  const base = baseMode(recompute);
  return { ...base, maxMinutes, world, note: world === DEFAULT_WORLD ? base.note : `world ${world}; ${base.note}` };
}

/**
 * A plan's runs in the mode's world, and what the world leaves out: a family it has not
 * calibrated (no checkpoint there), or the whole plan when it is a study of world 1 only.
 */
function inWorld(name: string, mode: Pick<NotebookMode, "scale" | "world">, knobs: object = {}) {
  const world = mode.world ?? DEFAULT_WORLD;
  const elsewhere = isPlanName(name) ? planNotInWorld(name, world) : null;
  if (elsewhere) return { planned: [], left: elsewhere };
  const planned = plannedRuns(name, mode.scale, knobs).map((p) => ({ ...p, spec: { ...p.spec, world } }));
  const absent = [...new Set(planned.map((p) => p.spec.family).filter((f) => !shipsFamily(world, f)))];
  const left = absent.length ? `not calibrated in world ${world}, left out: ${absent.join(", ")}` : null;
  return { planned: planned.filter((p) => shipsFamily(world, p.spec.family)), left };
}

function baseMode(recompute: boolean): Omit<NotebookMode, "maxMinutes" | "world"> {
  if (typeof recompute !== "boolean") throw new Error(`RECOMPUTE must be true or false, got ${JSON.stringify(recompute)}`);
  const env = process.env.SPURIOUS_NOTEBOOK_SCALE;
  if (env !== undefined && env !== "smoke") throw new Error(`SPURIOUS_NOTEBOOK_SCALE must be "smoke" or unset, got "${env}"`);
  if (env === "smoke") {
    if (!process.env.SPURIOUS_RUNS) throw new Error("smoke mode needs SPURIOUS_RUNS (a temporary run store) so shipped results are never touched");
    return { kind: "smoke", scale: "smoke", compute: true, note: `smoke mode: fresh smoke-scale runs in ${process.env.SPURIOUS_RUNS} (numbers are not meaningful)` };
  }
  if (recompute) return { kind: "recompute", scale: "default", compute: true, note: "RECOMPUTE = true: a cell computes its missing runs at the default scale when they fit in MAX_MINUTES" };
  return { kind: "stored", scale: "default", compute: false, note: "using the stored results in data/ (set RECOMPUTE = true to let a cell compute missing runs)" };
}

export interface LoadedPlan {
  runs: RunResult[];
  /** Runs of the plan that are not stored (stored mode only). */
  missing: string[];
  /** Stored runs computed by another version of src/ than the one running now. */
  otherCode: number;
  /** The plan's name for a condition (its runs share it): what figures label it with. */
  label: (c: Pick<Condition, "runs">) => string;
  /** What the mode's world leaves out of the plan, and why (null: nothing). */
  left?: string | null;
}

function labeller(plan: string, labels: Map<string, string>): (c: Pick<Condition, "runs">) => string {
  return (c) => labels.get(c.runs[0].name) ?? `${c.runs[0].spec.reward} (not in plan ${plan})`;
}

/**
 * The runs of a plan: loaded from the store, or computed when the mode allows. In stored mode a
 * missing run is listed (and the figures say so) rather than computed behind the user's back.
 */
export async function loadPlan(name: string, mode: Pick<NotebookMode, "scale" | "compute"> & { world?: World }, opts: { quiet?: boolean } = {}): Promise<LoadedPlan> {
  const runs: RunResult[] = [];
  const missing: string[] = [];
  const labels = new Map<string, string>();
  const { planned, left } = inWorld(name, { scale: mode.scale, world: mode.world ?? DEFAULT_WORLD });
  for (const { spec, label } of planned) {
    const name = runName(resolveSpec(spec));
    // A run two parts of a plan share (the γ sweep's γ = 0.5 is the clip ablations' centre) is loaded once.
    if (labels.has(name)) continue;
    labels.set(name, label);
    try {
      runs.push(await runOrLoad(spec, { loadOnly: !mode.compute, quiet: opts.quiet ?? true }));
    } catch (e) {
      // Only a run that is not stored is listed as missing; a corrupt file or checkpoint fails the cell.
      if (mode.compute || !(e instanceof MissingRunError)) throw e;
      missing.push(name);
    }
  }
  const now = codeVersion();
  return { runs, missing, otherCode: runs.filter((r) => r.codeVersion !== now).length, label: labeller(name, labels), left };
}

/** A one-line account of what a plan's figures are built from. */
export function planNote(name: string, p: LoadedPlan): string {
  const base = `${name}: ${p.runs.length} runs loaded${p.otherCode ? ` (${p.otherCode} computed by an earlier version of src/; their spec and checkpoint match)` : ""}${p.left ? ` (${p.left})` : ""}`;
  return p.missing.length ? `${base}; ${p.missing.length} NOT YET COMPUTED (npm run sweep -- ${name}): ${p.missing.slice(0, 6).join(", ")}${p.missing.length > 6 ? ", ..." : ""}` : base;
}

/**
 * Minutes a run is expected to take on this project's 2-core machine: a fixed part for the
 * evaluations plus GRPO steps in proportion to the rollouts they process (fitted on the shipped
 * runs' wall times: 128 rollouts/step, 60 steps ~ 3 min; 1,024 ~ 18 min; 16 ~ 1 min).
 */
export function estimateMinutes(r: ResolvedSpec): number {
  const g = r.grpo;
  const evals = Math.floor(g.steps / r.eval.testEvery) + 2;
  const evalSec = (evals * 1.5 * r.eval.testSize) / 500 + (r.eval.hardSize * r.eval.hardK) / 40;
  const stepSec = 1.8 * ((g.promptsPerStep * g.samplesPerPrompt) / 128) * g.ppoEpochs;
  return (evalSec + g.steps * stepSec) / 60;
}

/** The sweep command that computes a plan with these knobs (the shell-quoted JSON is exact). */
export function sweepCommand(plan: string, knobs: object, scale: Scale, world: World = DEFAULT_WORLD): string {
  const arg = Object.keys(knobs).length ? `'${plan}=${JSON.stringify(knobs)}'` : plan;
  return `npm run sweep -- ${arg}${scale === "default" ? "" : ` --scale ${scale}`}${world === DEFAULT_WORLD ? "" : ` --world ${world}`}`;
}

export interface BenchRuns extends LoadedPlan {
  plan: string;
  /** The cell's one-line account (also printed). */
  note: string;
}

/**
 * A cell's runs: the plan with the cell's knobs, validated before anything runs; stored runs
 * loaded; missing ones computed here (with a progress line) when the mode allows and they fit in
 * its MAX_MINUTES, or else listed with the exact sweep command that computes them.
 */
export async function runs<P extends PlanName>(plan: P, knobs: PlanKnobs<P> = {} as PlanKnobs<P>, mode: NotebookMode, opts: { log?: (line: string) => void } = {}): Promise<BenchRuns> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const { planned: inThisWorld, left } = inWorld(plan, mode, knobs);
  if (left) log(`${plan}: ${left}`);
  const planned = inThisWorld.map((p) => {
    const spec = resolveSpec(p.spec);
    return { ...p, resolved: spec, name: runName(spec) };
  });
  const seen = new Set<string>();
  const unique = planned.filter((p) => !seen.has(p.name) && seen.add(p.name));
  const labels = new Map(unique.map((p) => [p.name, p.label]));
  // Each stored run is read once, here.
  const stored = new Map(unique.map((p) => [p.name, storedRun(p.name)]));
  const todo = unique.filter((p) => !stored.get(p.name));
  const minutes = todo.reduce((a, p) => a + estimateMinutes(p.resolved), 0);
  const command = sweepCommand(plan, knobs, mode.scale, mode.world);
  const head = `${plan}${Object.keys(knobs).length ? ` ${JSON.stringify(knobs)}` : ""}: ${unique.length} runs, ${unique.length - todo.length} stored`;
  const compute = todo.length > 0 && mode.compute && (mode.kind === "smoke" || minutes <= mode.maxMinutes);
  if (todo.length === 0) log(head);
  else if (compute) log(`${head}; computing ${todo.length} here (about ${minutes.toFixed(0)} min, limit MAX_MINUTES = ${mode.maxMinutes})`);
  else {
    const why = mode.compute ? `about ${minutes.toFixed(0)} min, over this notebook's MAX_MINUTES = ${mode.maxMinutes}` : `about ${minutes.toFixed(0)} min; RECOMPUTE = false`;
    log(`${head}; ${todo.length} NOT COMPUTED (${why}). Compute them with:\n  ${command}\nand rerun this cell; the figure below shows the stored runs only.`);
  }
  const out: RunResult[] = [];
  let done = 0;
  for (const p of unique) {
    const have = stored.get(p.name);
    if (have) out.push(have);
    else if (compute) {
      log(`[${++done}/${todo.length}] ${p.name} (${p.label})`);
      // Not quiet: runOrLoad's progress line (step, reward, clip, test accuracy) shows in the cell.
      out.push(await runOrLoad(p.spec, { quiet: mode.kind === "smoke" }));
    }
  }
  const now = codeVersion();
  const missing = compute ? [] : todo.map((p) => p.name);
  return {
    plan, runs: out, missing, otherCode: out.filter((r) => r.codeVersion !== now).length, note: head,
    label: labeller(plan, labels),
  };
}

/**
 * Show a figure and save it under its registered id (out/<id>.html, .png): an id the registry
 * does not list is an error, so README's table and npm start's check never miss a figure. With the
 * notebook's mode, the title names a world other than 1, and a figure the world cannot draw (a
 * family it has not calibrated, a study of world 1 only) is not drawn: the cell says why.
 */
export async function figure(id: string, fig: Figure, mode: Pick<NotebookMode, "world">): Promise<void> {
  const entry = findFigure(id);
  const world = mode.world;
  const why = figureNotInWorld(entry, world);
  if (why) {
    console.log(`${id}: not drawn in world ${world}: ${why}`);
    return;
  }
  const titled = world === DEFAULT_WORLD ? fig : withWorld(fig, world);
  showFigure(titled);
  await saveFigure(titled, { path: id });
}

/** The figure with its world in the title, so a shared image says which world it shows. */
function withWorld(fig: Figure, world: World): Figure {
  const layout = (fig.layout ?? {}) as { title?: string | { text?: string } };
  const text = typeof layout.title === "string" ? layout.title : layout.title?.text ?? "";
  // after the title line, before a subtitle (<br><sub>...</sub>) if there is one
  const cut = text.indexOf("<br>");
  const titled = cut < 0 ? `${text} (world ${world})` : `${text.slice(0, cut)} (world ${world})${text.slice(cut)}`;
  return { ...fig, layout: { ...layout, title: { ...(typeof layout.title === "object" ? layout.title : {}), text: titled } } } as Figure;
}
