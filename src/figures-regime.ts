/**
 * The regime study's figures and tables (notebook 06): pure builders from stored runs. A run's
 * place in the grid is read from its spec (lr, clip, updates per step), never guessed from its name.
 */
import { finalAccuracy, gain, initialAccuracy, mean, smooth, std } from "./analysis";
import type { Figure } from "./display";
import type { RunResult } from "./experiments";
import { decomposeRunGain } from "./gain-decomposition";
import { ruleA, ruleB, type CellOutcome, type SeedOutcome } from "./regime";
import { round, type Row } from "./tables";

export type Arm = "clipped" | "unclipped" | "one update per step";
const ARMS: Arm[] = ["clipped", "unclipped", "one update per step"];
const ARM_COLOR: Record<Arm, string> = { clipped: "#1f77b4", unclipped: "#d62728", "one update per step": "#2ca02c" };

export function updatesPerStep(r: RunResult): number {
  const g = r.spec.grpo;
  return ((g.promptsPerStep * g.samplesPerPrompt) / g.miniBatchSize) * g.ppoEpochs;
}

export function armOf(r: RunResult): Arm {
  if (!r.spec.grpo.clip) return "unclipped";
  return updatesPerStep(r) === r.spec.grpo.ppoEpochs ? "one update per step" : "clipped";
}

/** The stage-1 cell a run belongs to: its learning rate and step budget. */
export function lrCellId(r: RunResult): string {
  return `lr ${r.spec.grpo.lr} × ${r.spec.grpo.steps}`;
}

const outcome = (r: RunResult): SeedOutcome => ({ seed: r.spec.seed, final: finalAccuracy(r), gain: gain(r), wallSeconds: r.wallSeconds });

/** Stage-1 runs grouped into rule inputs, largest lr first. */
export function lrCells(runs: readonly RunResult[]): CellOutcome[] {
  const ids = [...new Set(runs.map(lrCellId))];
  return ids
    .map((id) => {
      const rs = runs.filter((r) => lrCellId(r) === id);
      const arm = (a: Arm) => rs.filter((r) => armOf(r) === a).sort((x, y) => x.spec.seed - y.spec.seed).map(outcome);
      return { id, lr: rs[0].spec.grpo.lr, clipped: arm("clipped"), unclipped: arm("unclipped"), oneUpdate: arm("one update per step") };
    })
    .sort((a, b) => b.lr - a.lr);
}

/** The base accuracy the rules compare against (every run of the study starts from one checkpoint). */
export function baseAccuracy(runs: readonly RunResult[]): number {
  const xs = [...new Set(runs.map(initialAccuracy))];
  if (xs.length !== 1) throw new Error(`regime runs start from different accuracies (${xs.join(", ")}): they are not one family's grid`);
  return xs[0];
}

/** One row per cell and arm: gain mean ± std, per seed, seeds above the base. */
export function lrRows(runs: readonly RunResult[]): Row[] {
  const base = baseAccuracy(runs);
  return lrCells(runs).flatMap((c) =>
    ARMS.map((a) => {
      const arm = a === "clipped" ? c.clipped : a === "unclipped" ? c.unclipped : c.oneUpdate ?? [];
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

/** Rules A and B as they stand on the stored runs (B says when it is not final yet). */
export function ruleRows(runs: readonly RunResult[]): { ruleA: string; rows: Row[]; ruleB: string } {
  const cells = lrCells(runs);
  const complete = cells.filter((c) => c.unclipped.length && c.oneUpdate?.length);
  const a = complete.length ? ruleA(complete) : null;
  const b = ruleB(cells, baseAccuracy(runs));
  const rows = b.verdicts.map((v) => ({
    cell: v.id, status: v.status, "clipped above base": v.clippedAbove, "unclipped above base": v.unclippedAbove,
    "C > 0 (pairs)": v.clipEffectPositive, "clipped gain": round(v.clippedMeanGain), "mean C": round(v.meanClipEffect), "median min per run": round(v.cost / 60),
  }));
  const bText = b.chosen ? `the paper's regime: ${b.chosen}` : b.final ? `no cell qualifies; the closest is ${b.closest}` : `not final yet (cells incomplete or awaiting seeds 3-5); closest so far: ${b.closest ?? "none"}`;
  return { ruleA: a ? `${a.reason}${complete.length < cells.length ? " (on the cells with all arms stored)" : ""}` : "no cell has all three arms yet", rows, ruleB: bText };
}

/** Phase diagram: gain per cell and arm, every seed a point, the mean a line. */
export function phaseFigure(runs: readonly RunResult[], title: string): Figure {
  const cells = lrCells(runs);
  const x = cells.map((c) => c.id);
  const data: Figure["data"] = [];
  ARMS.forEach((a, i) => {
    const armOfCell = (c: CellOutcome) => (a === "clipped" ? c.clipped : a === "unclipped" ? c.unclipped : c.oneUpdate ?? []);
    const offset = (i - 1) * 0.12;
    data.push({
      type: "scatter", mode: "markers", name: `${a}: seeds`, legendgroup: a, showlegend: false, marker: { color: ARM_COLOR[a], size: 7, opacity: 0.6 },
      x: cells.flatMap((c, j) => armOfCell(c).map(() => j + offset)),
      y: cells.flatMap((c) => armOfCell(c).map((s) => round(s.gain))),
      text: cells.flatMap((c) => armOfCell(c).map((s) => `${c.id}, ${a}, seed ${s.seed}`)),
      hovertemplate: "%{text}: %{y:+.1f}<extra></extra>",
    });
    data.push({
      type: "scatter", mode: "lines+markers", name: a, legendgroup: a, line: { color: ARM_COLOR[a] }, marker: { symbol: "diamond", size: 11 },
      x: cells.map((_, j) => j + offset), y: cells.map((c) => (armOfCell(c).length ? round(mean(armOfCell(c).map((s) => s.gain))) : null)),
    });
  });
  return {
    data,
    layout: {
      title: { text: title }, width: 900, height: 480,
      xaxis: { title: { text: "learning rate × steps (same budget)" }, tickvals: x.map((_, j) => j), ticktext: x },
      yaxis: { title: { text: "test accuracy gain (points)" }, zeroline: true, zerolinewidth: 2 },
      legend: { orientation: "h", y: -0.2 },
    },
  };
}

/** A per-step metric against optimizer updates (step × updates per step), one line per cell and arm. */
export function perUpdateFigure(runs: readonly RunResult[], metric: (m: RunResult["metrics"][number]) => number | undefined, opts: { title: string; yTitle: string; window?: number; logX?: boolean }): Figure {
  const groups = new Map<string, RunResult[]>();
  for (const r of runs) groups.set(`${lrCellId(r)}, ${armOf(r)}`, [...(groups.get(`${lrCellId(r)}, ${armOf(r)}`) ?? []), r]);
  const dash = ["solid", "dash", "dot", "dashdot"];
  const cellIds = [...new Set(runs.map(lrCellId))];
  const data = [...groups.entries()].map(([name, rs]) => {
    const n = Math.min(...rs.map((r) => r.metrics.length));
    const raw = Array.from({ length: n }, (_, i) => {
      const v = rs.map((r) => metric(r.metrics[i])).filter((x): x is number => x !== undefined && Number.isFinite(x));
      return v.length ? mean(v) : NaN;
    });
    const u = updatesPerStep(rs[0]);
    return {
      type: "scatter", mode: "lines", name: `${name} (${rs.length} seeds)`,
      x: Array.from({ length: n }, (_, i) => (i + 1) * u), y: smooth(raw, opts.window ?? Math.max(1, Math.round(n / 20))),
      line: { color: ARM_COLOR[armOf(rs[0])], dash: dash[cellIds.indexOf(lrCellId(rs[0])) % dash.length] },
    };
  });
  return {
    data,
    layout: {
      title: { text: opts.title }, width: 900, height: 480,
      xaxis: { title: { text: "optimizer updates" }, type: opts.logX ? "log" : "linear" }, yaxis: { title: { text: opts.yTitle } },
      legend: { orientation: "h", y: -0.25 },
    },
  };
}

/**
 * Diffusion's signature: parameter distance from the start against lr × √updates. If signal-free
 * updates are a random walk of fixed relative size, every run falls on one line through the origin.
 */
export function diffusionFigure(runs: readonly RunResult[], title: string): Figure {
  const data = runs.filter((r) => r.metrics.some((m) => m.paramDistance !== undefined)).map((r) => {
    const u = updatesPerStep(r);
    const pts = r.metrics.map((m, i) => ({ x: r.spec.grpo.lr * Math.sqrt((i + 1) * u), y: m.paramDistance })).filter((p) => p.y !== undefined);
    return {
      type: "scatter", mode: "lines", name: `${lrCellId(r)}, ${armOf(r)}, s${r.spec.seed}`, legendgroup: `${lrCellId(r)}, ${armOf(r)}`,
      x: pts.map((p) => p.x), y: pts.map((p) => p.y), line: { color: ARM_COLOR[armOf(r)], width: 1 }, opacity: 0.8,
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
 * stopped) and high-side (ρ > 1 + ε with A > 0: an increase stopped), summed over steps and seeds,
 * per 1,000 tokens of that bucket. The paper's argument needs low > high for likely tokens.
 */
export function clipBucketFigure(runs: readonly RunResult[], title: string): Figure {
  const cells = [...new Set(runs.map(lrCellId))];
  const data: Figure["data"] = [];
  const buckets = Array.from({ length: 10 }, (_, k) => `${(k / 10).toFixed(1)}–${((k + 1) / 10).toFixed(1)}`);
  cells.forEach((id, i) => {
    const rs = runs.filter((r) => lrCellId(r) === id && armOf(r) === "clipped");
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

/** Gain decomposed per run: mode shift Δp(code) × (acc_code − acc_lang), and the change within each mode. */
export function decompositionRows(runs: readonly RunResult[]): Row[] {
  return [...runs].sort((a, b) => b.spec.grpo.lr - a.spec.grpo.lr || armOf(a).localeCompare(armOf(b)) || a.spec.seed - b.spec.seed).map((r) => {
    const d = decomposeRunGain(r);
    const m = r.metrics;
    const firstLast = (f: (x: (typeof m)[number]) => number | undefined, digits = 3) => {
      const v = (xs: typeof m) => mean(xs.map(f).filter((x): x is number => x !== undefined));
      return `${round(v(m.slice(0, 5)), digits)} → ${round(v(m.slice(-5)), digits)}`;
    };
    return {
      cell: lrCellId(r), arm: armOf(r), seed: r.spec.seed, gain: round(d.total), "mode shift": round(d.modeShift), "within code": round(d.withinCode), "within language": round(d.withinLanguage),
      "code %": `${round(d.codeStart)} → ${round(d.codeEnd)}`, "p(code), first 5 → last 5 steps": firstLast((x) => x.codeProb, 2),
      "token prob.": firstLast((x) => x.tokenProb), entropy: firstLast((x) => x.entropy),
      "param. distance (end)": round(m[m.length - 1].paramDistance, 3),
    };
  });
}
