/**
 * The paper's RL figures on the toy families: pure builders from stored runs to plotly figures
 * and table rows. Every label says the models are synthetic analogs.
 */
import { conditions, evalCurve, mean, stepCurve, transitions, TRANSITIONS, type Condition } from "../lab/analysis";
import { accuracyByDistance } from "../lab/gt-lr";
import type { Figure } from "./display";
import type { RunResult } from "../lab/experiments";
import { getFamily } from "../world/families";
import { FIG1_REWARDS } from "../lab/plans";
import { round, type Row } from "./tables";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

export function familyLabel(id: string): string {
  return getFamily(id).label;
}

/** How a reward condition is named in figures (the paper's labels where it has them). */
export function rewardLabel(reward: string, variant: string): string {
  const known = FIG1_REWARDS.find((r) => r.reward === reward && r.variant === variant);
  if (known) return known.label;
  if (reward === "contain_python_wo_backticks") return "python";
  if (reward.startsWith("random")) return `random (γ=${reward.slice(6)})`;
  const pretty = reward.replace("box_only_format", "format").replace("inverse_contain_python_wo_backticks", "no python").replace(/_AND_/g, " ∧ ");
  return variant === "gt" ? pretty : `${pretty} [${variant}]`;
}

const conditionLabel = (c: Pick<Condition, "reward" | "variant">) => rewardLabel(c.reward, c.variant);

/** Fig. 1 analog: test-accuracy gain per reward per family; error bars = std over seeds. */
export function gainBarFigure(runs: readonly RunResult[], families: readonly string[]): Figure {
  const conds = conditions(runs);
  const data = FIG1_REWARDS.map((rw, i) => {
    const per = families.map((f) => conds.find((c) => c.family === f && c.reward === rw.reward && c.variant === rw.variant) ?? null);
    return {
      type: "bar", name: rw.label, marker: { color: PALETTE[i] },
      x: families.map((f) => familyLabel(f).replace("toy ", "toy<br>")),
      y: per.map((c) => (c ? round(c.gainMean) : null)),
      error_y: { type: "data", array: per.map((c) => (c && c.runs.length > 1 ? round(c.gainStd) : null)), visible: true },
      text: per.map((c) => (c ? `${c.runs.length} seed${c.runs.length > 1 ? "s" : ""}` : "not run")),
      textposition: "none", // the seed count is for the hover label only
      hovertemplate: "%{x}<br>" + rw.label + ": %{y:+.1f} points (%{text})<extra></extra>",
    };
  });
  return {
    data,
    layout: {
      title: { text: "Fig. 1 analog: test accuracy gain from RLVR per reward (toy families)<br><sub>bars: mean over seeds; whiskers: std where a reward has several seeds (hover for the count)</sub>" },
      barmode: "group", width: 1100, height: 480,
      yaxis: { title: { text: "accuracy gain (points)" }, zeroline: true },
      legend: { orientation: "h", y: -0.25 },
    },
  };
}

/** Gains as rows: family, reward, base, final, gain mean/std, seeds. */
export function gainRows(runs: readonly RunResult[], label: (c: Condition) => string = conditionLabel): Row[] {
  return conditions(runs).map((c) => ({
    model: familyLabel(c.family),
    reward: label(c),
    "base acc.": round(c.initial),
    "final acc.": round(c.finalMean),
    "gain (mean)": round(c.gainMean),
    "gain (std)": c.runs.length > 1 ? round(c.gainStd) : null,
    seeds: c.seeds.join(" "),
    "final code %": round(c.runs.reduce((a, r) => a + r.evals[r.evals.length - 1].test.codeFrequency, 0) / c.runs.length),
  }));
}

type EvalMetric = (e: RunResult["evals"][number]) => number | null;

/** A metric against step, one line per condition (mean over seeds, band = ± std). */
export function conditionCurves(runs: readonly RunResult[], metric: EvalMetric, opts: { title: string; yTitle: string; label?: (c: Condition) => string }): Figure {
  const data: Figure["data"] = [];
  conditions(runs).forEach((c, i) => {
    const cur = evalCurve(c.runs, metric);
    const name = (opts.label ?? conditionLabel)(c) + (c.runs.length > 1 ? ` (${c.runs.length} seeds)` : "");
    data.push({ type: "scatter", mode: "lines+markers", name, x: cur.steps, y: cur.mean.map((v) => round(v)), line: { color: PALETTE[i % PALETTE.length] },
      error_y: c.runs.length > 1 ? { type: "data", array: cur.std.map((v) => round(v)), visible: true, thickness: 1 } : undefined });
  });
  return { data, layout: { title: { text: opts.title }, xaxis: { title: { text: "GRPO step" } }, yaxis: { title: { text: opts.yTitle } }, width: 900, height: 450, legend: { orientation: "h", y: -0.25 } } };
}

/**
 * Test-accuracy gain over the start against step, one line per condition (its runs start from one
 * checkpoint), with the paper's gain as a dashed line from step 0 when it gives one.
 */
export function gainCurves(runs: readonly RunResult[], opts: { title: string; label?: (c: Condition) => string; paper?: { step: number; gain: number; name: string } }): Figure {
  const base = runs.length ? runs[0].evals[0].test.accuracy : 0;
  const other = runs.find((r) => r.evals[0].test.accuracy !== base);
  if (other) throw new Error(`gainCurves: the runs start from different accuracies (${base} and ${other.evals[0].test.accuracy}, ${other.name}); draw one family at a time`);
  const fig = conditionCurves(runs, (e) => e.test.accuracy - base, { title: opts.title, yTitle: `gain over the start (${round(base)}%), points`, label: opts.label });
  if (opts.paper) fig.data.push({ type: "scatter", mode: "lines", name: opts.paper.name, x: [0, opts.paper.step], y: [0, opts.paper.gain], line: { color: "#555", dash: "dash" } });
  return fig;
}

/**
 * Test accuracy against parameter distance from the start, one line per condition (mean over seeds
 * at each evaluation): runs that walk the same path at different speeds lie on one curve.
 */
export function distanceCurves(runs: readonly RunResult[], opts: { title: string; label?: (c: Condition) => string }): Figure {
  const data = conditions(runs).map((c, i) => {
    const pts = c.runs.map(accuracyByDistance);
    const n = Math.min(...pts.map((p) => p.length));
    const at = (k: number, f: (p: { distance: number; accuracy: number }) => number) => mean(pts.map((p) => f(p[k])));
    return { type: "scatter", mode: "lines+markers", name: (opts.label ?? conditionLabel)(c) + (c.runs.length > 1 ? ` (${c.runs.length} seeds)` : ""), x: Array.from({ length: n }, (_, k) => round(at(k, (p) => p.distance), 3)), y: Array.from({ length: n }, (_, k) => round(at(k, (p) => p.accuracy))), line: { color: PALETTE[i % PALETTE.length] } };
  });
  return { data, layout: { title: { text: opts.title }, xaxis: { title: { text: "parameter distance from the start (L2)" } }, yaxis: { title: { text: "test accuracy %" } }, width: 900, height: 450, legend: { orientation: "h", y: -0.25 } } };
}

/** A per-step training metric (rollouts), one line per condition, smoothed over 10 steps. */
export function stepMetricCurves(runs: readonly RunResult[], metric: (m: RunResult["metrics"][number]) => number, opts: { title: string; yTitle: string; label?: (c: Condition) => string; window?: number }): Figure {
  const data = conditions(runs).map((c, i) => {
    const cur = stepCurve(c.runs, metric, opts.window ?? 10);
    return { type: "scatter", mode: "lines", name: (opts.label ?? conditionLabel)(c) + (c.runs.length > 1 ? ` (${c.runs.length} seeds)` : ""), x: cur.steps, y: cur.mean, line: { color: PALETTE[i % PALETTE.length] } };
  });
  return { data, layout: { title: { text: opts.title }, xaxis: { title: { text: "GRPO step" } }, yaxis: { title: { text: opts.yTitle } }, width: 900, height: 450, legend: { orientation: "h", y: -0.25 } } };
}

/** Each seed as its own line (Fig. 13: seeds diverge under spurious rewards). */
export function seedCurves(runs: readonly RunResult[], metric: EvalMetric, opts: { title: string; yTitle: string }): Figure {
  const data = runs.map((r, i) => {
    const cur = evalCurve([r], metric);
    return { type: "scatter", mode: "lines+markers", name: `${rewardLabel(r.spec.reward, r.spec.variant)} seed ${r.spec.seed}`, x: cur.steps, y: cur.mean.map((v) => round(v)), line: { color: PALETTE[i % PALETTE.length] } };
  });
  return { data, layout: { title: { text: opts.title }, xaxis: { title: { text: "GRPO step" } }, yaxis: { title: { text: opts.yTitle } }, width: 900, height: 450 } };
}

/** Table 2 analog: strategy transitions and partial contribution scores, one row per run. */
export function transitionRows(runs: readonly RunResult[]): Row[] {
  return runs.filter((r) => r.records.initial && r.records.final).map((r) => {
    const t = transitions(r);
    const row: Row = { model: familyLabel(r.spec.family), reward: rewardLabel(r.spec.reward, r.spec.variant), seed: r.spec.seed, "code % before": round(t.codeBefore), "code % after": round(t.codeAfter), "net gain": round(t.netGain) };
    for (const k of TRANSITIONS) {
      row[`${k} n`] = t.counts[k];
      row[`${k} C%`] = round(t.contribution[k]);
    }
    return row;
  });
}

/** Fig. 7 analog: how many test problems moved between modes, per reward (stacked bars). */
export function transitionFigure(runs: readonly RunResult[], title: string): Figure {
  const rs = runs.filter((r) => r.records.initial && r.records.final);
  const labels = rs.map((r) => `${rewardLabel(r.spec.reward, r.spec.variant)}${rs.filter((x) => x.spec.reward === r.spec.reward && x.spec.variant === r.spec.variant).length > 1 ? ` s${r.spec.seed}` : ""}`);
  const colors: Record<string, string> = { "Code→Code": "#1f77b4", "Code→Lang": "#aec7e8", "Lang→Code": "#ff7f0e", "Lang→Lang": "#ffbb78" };
  const data = TRANSITIONS.map((k) => ({ type: "bar", name: k, x: labels, y: rs.map((r) => transitions(r).counts[k]), marker: { color: colors[k] } }));
  return { data, layout: { title: { text: title }, barmode: "stack", yaxis: { title: { text: "test problems" } }, width: 900, height: 450, legend: { orientation: "h", y: -0.25 } } };
}
