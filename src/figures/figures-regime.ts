/**
 * The regime study's figures and tables (notebook 06): pure builders from stored runs. A run's cell
 * and arm are the labels its plan gave it ("<cell>, <arm>", src/lab/plans.ts), never guessed from its
 * settings; the lr and the updates per step are read from its spec where a figure needs the number.
 */
import { finalAccuracy, gain, initialAccuracy, mean, smooth, std } from "../lab/analysis";
import type { Condition } from "../lab/analysis";
import type { Figure } from "./display";
import type { RunResult, Scale } from "../lab/experiments";
import { decomposeRunGain } from "../lab/gain-decomposition";
import { plannedRuns, REGIME_ARMS, REGIME_LRS } from "../lab/plans";
import { chooseSgdLr, ruleA, ruleB, type CellOutcome, type RuleBResult, type SeedOutcome } from "../lab/regime";
import { round, type Row } from "./tables";

/** A run of the study with the cell and arm its plan labelled it with. */
export interface RegimeRun {
  run: RunResult;
  cell: string;
  arm: string;
}

const ARMS = [REGIME_ARMS.clipped, REGIME_ARMS.unclipped, REGIME_ARMS.oneUpdate] as string[];
const ARM_COLOR: Record<string, string> = { [REGIME_ARMS.clipped]: "#1f77b4", [REGIME_ARMS.unclipped]: "#d62728", [REGIME_ARMS.oneUpdate]: "#2ca02c" };

/** A regime run's label, "<cell>, <arm>", split at its last ", " (cell names may hold commas). */
function splitLabel(label: string): { cell: string; arm: string } {
  const cut = label.lastIndexOf(", ");
  return cut < 0 ? { cell: label, arm: "" } : { cell: label.slice(0, cut), arm: label.slice(cut + 2) };
}

/** A cell's runs as the notebook loads them (runs + the plan's label), split into cell and arm. */
export function regimeRuns(loaded: { runs: readonly RunResult[]; label: (c: Pick<Condition, "runs">) => string }): RegimeRun[] {
  return loaded.runs.map((run) => {
    const label = loaded.label({ runs: [run] });
    const { cell, arm } = splitLabel(label);
    if (!ARMS.includes(arm)) throw new Error(`run ${run.name} is labelled "${label}", not "<cell>, <arm>" with an arm of ${ARMS.join(" / ")}: is it a regime plan's run?`);
    return { run, cell, arm };
  });
}

export function updatesPerStep(r: RunResult): number {
  const g = r.spec.grpo;
  return ((g.promptsPerStep * g.samplesPerPrompt) / g.miniBatchSize) * g.ppoEpochs;
}

const outcome = (r: RunResult): SeedOutcome => ({ seed: r.spec.seed, final: finalAccuracy(r), gain: gain(r), wallSeconds: r.wallSeconds });

/** Runs grouped into the rules' cells, largest lr first. */
export function lrCells(runs: readonly RegimeRun[]): CellOutcome[] {
  const ids = [...new Set(runs.map((r) => r.cell))];
  return ids
    .map((id) => {
      const rs = runs.filter((r) => r.cell === id);
      const arm = (a: string) => rs.filter((r) => r.arm === a).map((r) => r.run).sort((x, y) => x.spec.seed - y.spec.seed).map(outcome);
      return { id, lr: rs[0].run.spec.grpo.lr, clipped: arm(REGIME_ARMS.clipped), unclipped: arm(REGIME_ARMS.unclipped), oneUpdate: arm(REGIME_ARMS.oneUpdate) };
    })
    .sort((a, b) => b.lr - a.lr);
}

/** The base accuracy the rules compare against (every run of the study starts from one checkpoint). */
export function baseAccuracy(runs: readonly RegimeRun[]): number {
  const xs = [...new Set(runs.map((r) => initialAccuracy(r.run)))];
  if (xs.length !== 1) throw new Error(`regime runs start from different accuracies (${xs.join(", ")}): they are not one family's grid`);
  return xs[0];
}

const armOfCell = (c: CellOutcome, a: string): SeedOutcome[] => (a === REGIME_ARMS.clipped ? c.clipped : a === REGIME_ARMS.unclipped ? c.unclipped : c.oneUpdate ?? []);

/** One row per cell and arm: gain mean ± std, per seed, seeds above the base. */
export function lrRows(runs: readonly RegimeRun[]): Row[] {
  const base = baseAccuracy(runs);
  return lrCells(runs).flatMap((c) =>
    ARMS.map((a) => {
      const arm = armOfCell(c, a);
      const gains = arm.map((s) => s.gain);
      return {
        cell: c.id, arm: a, seeds: arm.length,
        "gain (mean)": round(mean(gains)), "gain (std)": arm.length > 1 ? round(std(gains)) : null,
        "per seed": arm.map((s) => `${s.gain >= 0 ? "+" : ""}${s.gain.toFixed(1)}`).join(", "),
        "above base": `${arm.filter((s) => s.final > base).length}/${arm.length}`,
        "min per run": arm.length ? round(mean(arm.map((s) => s.wallSeconds)) / 60) : null,
      };
    }),
  ).filter((r) => r.seeds > 0);
}

/**
 * Rules A and B as they stand on the stored runs. Rule A takes the largest flat lr, so its outcome is
 * fixed as soon as every larger lr is complete (seeds 0-2 in the unclipped and one-update arms) and
 * not flat, and this one is complete and flat; smaller lrs cannot change it. Until then it says what
 * it waits for. Rule B is applied once stage 2 is complete: on stage 1 alone it is a screen (which
 * cells fail, which earn seeds 3-5), and it is labelled so.
 */
export function ruleRows(runs: readonly RegimeRun[]): { ruleA: string; rows: Row[]; ruleB: string } {
  const cells = lrCells(runs);
  const seeds = [0, 1, 2];
  const has = (arm: readonly SeedOutcome[] | undefined) => seeds.every((s) => arm?.some((x) => x.seed === s));
  const three = (arm: readonly SeedOutcome[] | undefined) => (arm ?? []).filter((x) => seeds.includes(x.seed));
  let aText = "";
  for (const lr of [...REGIME_LRS].sort((x, y) => y - x)) {
    const c = cells.find((x) => x.lr === lr);
    if (!c || !has(c.unclipped) || !has(c.oneUpdate)) {
      aText = `not determined yet: lr ${lr} lacks seeds 0-2 in the unclipped or one-update arm`;
      break;
    }
    const a = ruleA([{ ...c, unclipped: three(c.unclipped), oneUpdate: three(c.oneUpdate) }]);
    if (a.found) {
      aText = `${a.reason}; every larger lr is not flat, so smaller ones cannot change it (the centre is lr ${lr} × ${c.id.replace(/^.*× /, "")})`;
      break;
    }
  }
  if (!aText) aText = ruleA(cells.filter((c) => (REGIME_LRS as readonly number[]).includes(c.lr)).map((c) => ({ ...c, unclipped: three(c.unclipped), oneUpdate: three(c.oneUpdate) }))).reason;
  const b = ruleBReport(runs, { expected: cells.map((c) => c.id), screen: true });
  return { ruleA: aText, rows: b.rows, ruleB: `stage-1 screen (rule B is applied once stage 2 is complete): ${b.text}` };
}

/** Regime runs of several plans as one list: a run two plans share (the centre's) appears once. */
export function mergeRegimeRuns(lists: readonly (readonly RegimeRun[])[]): RegimeRun[] {
  const seen = new Set<string>();
  return lists.flat().filter((r) => !seen.has(r.run.name) && seen.add(r.run.name));
}

/** The regime runs of several plans, loaded one plan after the other (`load` is the notebook's `runs`). */
export async function loadRegime<P extends string>(plans: readonly P[], load: (plan: P) => Promise<{ runs: readonly RunResult[]; label: (c: Pick<Condition, "runs">) => string }>): Promise<RegimeRun[]> {
  const lists: RegimeRun[][] = [];
  for (const p of plans) lists.push(regimeRuns(await load(p)));
  return mergeRegimeRuns(lists);
}

/** The cells regime plans hold once every run is computed (their labels, "<cell>, <arm>"). */
export function plannedCells(plans: readonly string[], scale: Scale): string[] {
  return [...new Set(plans.flatMap((p) => plannedRuns(p, scale).map((r) => splitLabel(r.label).cell)))];
}

/**
 * Which cells borrow whose unclipped arm: the clip points (planned with a clipped arm only) borrow
 * the centre's (pre-registered: without the clip, a clip point's runs would be the centre's runs).
 * Read from the plans, never from which runs happen to be stored: a cell whose own unclipped runs
 * are still computing (the paper's shape) must not borrow the centre's meanwhile.
 */
export interface SharedUnclipped {
  centre: string;
  cells: readonly string[];
}

/** The cells of the plans that are planned with a clipped arm and no unclipped one (the clip points). */
export function clipOnlyCells(plans: readonly string[], scale: Scale): string[] {
  const runs = plans.flatMap((p) => plannedRuns(p, scale)).map((r) => splitLabel(r.label));
  return [...new Set(runs.map((r) => r.cell))].filter((c) => runs.some((r) => r.cell === c && r.arm === REGIME_ARMS.clipped) && !runs.some((r) => r.cell === c && r.arm === REGIME_ARMS.unclipped));
}

/**
 * Rule B over the cells of the stored runs. `expected` names every cell the rule must see (a cell
 * with no stored run is incomplete, so the rule is not final); `sharedUnclipped` says which cells
 * borrow the centre's unclipped arm. `screen`: the cells are only part of the grid (stage 1 alone),
 * so the rule's outcome on them is never called final.
 */
export function ruleBReport(runs: readonly RegimeRun[], opts: { expected: readonly string[]; sharedUnclipped?: SharedUnclipped; screen?: boolean }): { text: string; rows: Row[]; result: RuleBResult } {
  const stored = lrCells(runs);
  const centre = stored.find((c) => c.id === opts.sharedUnclipped?.centre);
  const shared = new Set<string>();
  const cells: CellOutcome[] = opts.expected.map((id) => {
    const c = stored.find((x) => x.id === id) ?? { id, lr: NaN, clipped: [], unclipped: [] };
    if (centre && opts.sharedUnclipped!.cells.includes(c.id) && c.unclipped.length === 0) {
      shared.add(id);
      return { ...c, unclipped: centre.unclipped };
    }
    return c;
  });
  const b = ruleB(cells, baseAccuracy(runs));
  const rows = b.verdicts.map((v) => ({
    cell: v.id, status: v.status, "clipped above base": v.clippedAbove, "unclipped above base": `${v.unclippedAbove}${shared.has(v.id) ? " (the centre's)" : ""}`,
    "C > 0 (pairs)": v.clipEffectPositive, "clipped gain": round(v.clippedMeanGain), "mean C": round(v.meanClipEffect), "median min per run": round(v.cost / 60),
  }));
  const open = b.verdicts.filter((v) => v.status === "incomplete" || v.status === "needs seeds 3-5").map((v) => `${v.id}: ${v.status}`);
  const final = b.final && !opts.screen;
  const verdict = b.chosen ? `${b.chosen} qualifies (the cheapest qualifying cell)` : final ? "no cell qualifies" : "no cell qualifies so far";
  const text = `${verdict}${open.length ? `; open: ${open.join("; ")}` : ""}; highest clipped-arm mean gain: ${b.closest ?? b.chosen ?? "none"}`;
  return { text: final ? `FINAL: ${text}` : text, rows, result: b };
}

/**
 * The SGD lr choice (pre-registered): ground-truth runs of Adam at the centre and SGD at each lr,
 * their test accuracy at the first evaluation after the start (step 10 at the default scale), the
 * per-step KL to the pre-step policy up to it, and the lr chosen by src/regime.ts's rule.
 */
export function sgdChoice(loaded: { runs: readonly RunResult[]; label: (c: Pick<Condition, "runs">) => string }): { rows: Row[]; text: string } {
  const early = (r: RunResult) => r.evals[1];
  const rows = [...loaded.runs].sort((a, b) => (a.spec.grpo.optimizer === b.spec.grpo.optimizer ? a.spec.grpo.lr - b.spec.grpo.lr : a.spec.grpo.optimizer === "adam" ? -1 : 1)).map((r) => {
    const e = early(r);
    const upTo = r.metrics.slice(0, e?.step ?? 0);
    return {
      run: loaded.label({ runs: [r] }), optimizer: r.spec.grpo.optimizer, lr: r.spec.grpo.lr,
      "after step": e?.step ?? null, "test acc. then": e ? round(e.test.accuracy) : null, "test acc. start": round(initialAccuracy(r)), "test acc. final": round(finalAccuracy(r)),
      "KL to pre-step policy (mean per step)": upTo.length ? round(mean(upTo.map((m) => m.klPrev ?? NaN)), 5) : null,
      "param. distance then": upTo.length ? round(upTo[upTo.length - 1].paramDistance, 3) : null,
    };
  });
  const adam = loaded.runs.find((r) => r.spec.grpo.optimizer === "adam" && early(r));
  const sgd = loaded.runs.filter((r) => r.spec.grpo.optimizer === "sgd" && early(r));
  if (!adam || sgd.length === 0) return { rows, text: "not chosen yet: the choice needs Adam's ground-truth run and at least one SGD run" };
  const c = chooseSgdLr(early(adam).test.accuracy, sgd.map((r) => ({ lr: r.spec.grpo.lr, accuracy: early(r).test.accuracy })));
  return { rows, text: `SGD lr ${c.lr}: test accuracy ${round(c.accuracy)} after ${early(adam).step} steps, closest to Adam's ${round(early(adam).test.accuracy)} (${sgd.length} SGD lrs stored)` };
}

/** Phase diagram: gain per cell and arm, every seed a point, the mean a line. */
export function phaseFigure(runs: readonly RegimeRun[], title: string, xTitle = "learning rate × steps (same budget)"): Figure {
  const cells = lrCells(runs);
  const x = cells.map((c) => c.id);
  const data: Figure["data"] = [];
  ARMS.forEach((a, i) => {
    const offset = (i - 1) * 0.12;
    data.push({
      type: "scatter", mode: "markers", name: `${a}: seeds`, legendgroup: a, showlegend: false, marker: { color: ARM_COLOR[a], size: 7, opacity: 0.6 },
      x: cells.flatMap((c, j) => armOfCell(c, a).map(() => j + offset)),
      y: cells.flatMap((c) => armOfCell(c, a).map((s) => round(s.gain))),
      text: cells.flatMap((c) => armOfCell(c, a).map((s) => `${c.id}, ${a}, seed ${s.seed}`)),
      hovertemplate: "%{text}: %{y:+.1f}<extra></extra>",
    });
    data.push({
      type: "scatter", mode: "lines+markers", name: a, legendgroup: a, line: { color: ARM_COLOR[a] }, marker: { symbol: "diamond", size: 11 },
      x: cells.map((_, j) => j + offset), y: cells.map((c) => (armOfCell(c, a).length ? round(mean(armOfCell(c, a).map((s) => s.gain))) : null)),
    });
  });
  return {
    data,
    layout: {
      title: { text: title }, width: 900, height: 560, margin: { b: 170 },
      // long cell names ("clip high side only (ε_low 0.999, ε_high 0.2)") wrap instead of colliding
      xaxis: { tickvals: x.map((_, j) => j), ticktext: x.map((l) => l.replace(/ \(/g, "<br>(").replace(/, /g, ",<br>").replace(/ × /g, "<br>× ")), tickangle: 0, zeroline: false, title: { text: xTitle, standoff: 25 } },
      yaxis: { title: { text: "test accuracy gain (points)" }, zeroline: true, zerolinewidth: 2 },
      legend: { orientation: "h", y: -0.42 },
    },
  };
}

/**
 * A per-step metric against optimizer updates, one line per cell and arm (mean over seeds). `when`
 * says what the metric describes: "before" the step's updates (π_old's p(code), token probability,
 * entropy: step i sits at i × updates per step) or "after" them (parameter distance: (i + 1) × ...).
 */
export function perUpdateFigure(runs: readonly RegimeRun[], metric: (m: RunResult["metrics"][number]) => number | undefined, opts: { title: string; yTitle: string; when: "before" | "after"; window?: number }): Figure {
  const groups = new Map<string, RegimeRun[]>();
  for (const r of runs) groups.set(`${r.cell}, ${r.arm}`, [...(groups.get(`${r.cell}, ${r.arm}`) ?? []), r]);
  const dash = ["solid", "dash", "dot", "dashdot"];
  const cellIds = [...new Set(runs.map((r) => r.cell))];
  const data = [...groups.entries()].map(([name, rs]) => {
    const n = Math.min(...rs.map((r) => r.run.metrics.length));
    const raw = Array.from({ length: n }, (_, i) => {
      const v = rs.map((r) => metric(r.run.metrics[i])).filter((x): x is number => x !== undefined && Number.isFinite(x));
      return v.length ? mean(v) : NaN;
    });
    const u = updatesPerStep(rs[0].run);
    const shift = opts.when === "before" ? 0 : 1;
    return {
      type: "scatter", mode: "lines", name: `${name} (${rs.length} seeds)`,
      x: Array.from({ length: n }, (_, i) => (i + shift) * u), y: smooth(raw, opts.window ?? Math.max(1, Math.round(n / 20))),
      line: { color: ARM_COLOR[rs[0].arm], dash: dash[cellIds.indexOf(rs[0].cell) % dash.length] },
    };
  });
  return {
    data,
    layout: {
      title: { text: opts.title }, width: 900, height: 480,
      xaxis: { title: { text: "optimizer updates" } }, yaxis: { title: { text: opts.yTitle } },
      legend: { orientation: "h", y: -0.25 },
    },
  };
}

/**
 * Diffusion's signature: parameter distance from the start (measured after each step's updates)
 * against lr × √updates. If signal-free updates are a random walk of fixed relative size, every run
 * falls on one line through the origin.
 */
export function diffusionFigure(runs: readonly RegimeRun[], title: string): Figure {
  const data = runs.filter(({ run }) => run.metrics.some((m) => m.paramDistance !== undefined)).map(({ run, cell, arm }) => {
    const u = updatesPerStep(run);
    const pts = run.metrics.map((m, i) => ({ x: run.spec.grpo.lr * Math.sqrt((i + 1) * u), y: m.paramDistance })).filter((p) => p.y !== undefined);
    return {
      type: "scatter", mode: "lines", name: `${cell}, ${arm}, s${run.spec.seed}`, legendgroup: `${cell}, ${arm}`,
      x: pts.map((p) => p.x), y: pts.map((p) => p.y), line: { color: ARM_COLOR[arm], width: 1 }, opacity: 0.8,
    };
  });
  return {
    data,
    layout: {
      title: { text: title }, width: 900, height: 480,
      xaxis: { title: { text: "lr × √updates" } }, yaxis: { title: { text: "L2 distance of the parameters from the start" } }, legend: { font: { size: 9 } },
    },
  };
}

/**
 * Where the clip binds, by the token's π_old: low-side events (ρ < 1 − ε with A < 0: a decrease
 * stopped) and high-side (ρ > 1 + ε with A > 0: an increase stopped), summed over steps and seeds of
 * the clipped arms, per 1,000 tokens of that bucket. The paper's argument needs low > high for
 * likely tokens.
 */
export function clipBucketFigure(runs: readonly RegimeRun[], title: string): Figure {
  const cells = [...new Set(runs.map((r) => r.cell))];
  const data: Figure["data"] = [];
  const buckets = Array.from({ length: 10 }, (_, k) => `${(k / 10).toFixed(1)}–${((k + 1) / 10).toFixed(1)}`);
  cells.forEach((id, i) => {
    const rs = runs.filter((r) => r.cell === id && r.arm === REGIME_ARMS.clipped).map((r) => r.run);
    const sum = (key: "tokens" | "low" | "high") => buckets.map((_, k) => rs.reduce((a, r) => a + r.metrics.reduce((b, m) => b + (m.pOldBuckets?.[key][k] ?? 0), 0), 0));
    const tokens = sum("tokens");
    const per = (xs: number[]) => xs.map((x, k) => (tokens[k] ? round((1000 * x) / tokens[k], 3) : null));
    for (const side of ["low", "high"] as const) {
      data.push({ type: "bar", name: `${id}, ${side === "low" ? "low side (A < 0)" : "high side (A > 0)"}`, x: buckets, y: per(sum(side)), marker: { color: side === "low" ? "#1f77b4" : "#ff7f0e", opacity: 1 - 0.25 * i }, legendgroup: id });
    }
  });
  return {
    data,
    layout: { title: { text: title }, barmode: "group", width: 900, height: 480, xaxis: { title: { text: "π_old of the token" } }, yaxis: { title: { text: "clip events per 1,000 tokens" } }, legend: { orientation: "h", y: -0.25 } },
  };
}

/**
 * One cell seed by seed: test accuracy against steps for each seed of the clipped and the unclipped
 * arm, with the base as a line: what rule B's chosen (or, when none qualifies, closest) cell looks
 * like run by run. A clip point's unclipped arm is the centre's (`sharedUnclipped`), as rule B reads it;
 * any other cell shows its own arms only.
 */
export function cellSeedsFigure(runs: readonly RegimeRun[], cell: string, title: string, sharedUnclipped?: SharedUnclipped): Figure {
  const own = runs.filter((r) => r.cell === cell);
  if (own.length === 0) throw new Error(`no stored run of the cell "${cell}"; cells: ${[...new Set(runs.map((r) => r.cell))].join(" / ")}`);
  const borrows = sharedUnclipped?.cells.includes(cell) ?? false;
  const shown = [...own.filter((r) => r.arm !== REGIME_ARMS.oneUpdate), ...(borrows ? runs.filter((r) => r.cell === sharedUnclipped!.centre && r.arm === REGIME_ARMS.unclipped) : [])];
  const base = baseAccuracy(runs);
  const steps = own[0].run.evals.map((e) => e.step);
  const data: Figure["data"] = shown.sort((a, b) => ARMS.indexOf(a.arm) - ARMS.indexOf(b.arm) || a.run.spec.seed - b.run.spec.seed).map(({ run, cell: c, arm }) => ({
    type: "scatter", mode: "lines+markers", name: `${arm}${c === cell ? "" : " (the centre's)"}, seed ${run.spec.seed}`, legendgroup: arm,
    x: run.evals.map((e) => e.step), y: run.evals.map((e) => round(e.test.accuracy)),
    line: { color: ARM_COLOR[arm], width: 1.5, dash: arm === REGIME_ARMS.clipped ? "solid" : "dash" }, opacity: 0.85,
    // one marker shape per seed, so a seed's two arms can be matched by eye (the arms share its rewards)
    marker: { size: 6, symbol: ["circle", "square", "diamond", "triangle-up", "x", "cross"][run.spec.seed % 6] },
  }));
  data.push({ type: "scatter", mode: "lines", name: `base (${round(base)})`, x: [steps[0], steps[steps.length - 1]], y: [round(base), round(base)], line: { color: "#555", dash: "dot" } });
  return {
    data,
    layout: { title: { text: title }, width: 900, height: 480, xaxis: { title: { text: "GRPO step" } }, yaxis: { title: { text: "test accuracy (%)" } }, legend: { font: { size: 10 } } },
  };
}

/** Gain decomposed per run: mode shift Δp(code) × (acc_code − acc_lang), and the change within each mode. */
export function decompositionRows(runs: readonly RegimeRun[]): Row[] {
  return [...runs].sort((a, b) => b.run.spec.grpo.lr - a.run.spec.grpo.lr || ARMS.indexOf(a.arm) - ARMS.indexOf(b.arm) || a.run.spec.seed - b.run.spec.seed).map(({ run, cell, arm }) => {
    const d = decomposeRunGain(run);
    const m = run.metrics;
    const firstLast = (f: (x: (typeof m)[number]) => number | undefined, digits = 3) => {
      const v = (xs: typeof m) => mean(xs.map(f).filter((x): x is number => x !== undefined));
      return `${round(v(m.slice(0, 5)), digits)} → ${round(v(m.slice(-5)), digits)}`;
    };
    return {
      cell, arm, seed: run.spec.seed, gain: round(d.total), "mode shift": round(d.modeShift), "within code": round(d.withinCode), "within language": round(d.withinLanguage),
      "code %": `${round(d.codeStart)} → ${round(d.codeEnd)}`, "p(code), first 5 → last 5 steps": firstLast((x) => x.codeProb, 2),
      "token prob.": firstLast((x) => x.tokenProb), entropy: firstLast((x) => x.entropy),
      "param. distance (end)": round(m[m.length - 1].paramDistance, 3),
    };
  });
}
