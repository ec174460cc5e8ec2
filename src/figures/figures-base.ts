/**
 * Table 1, Fig. 5 and Table 3 of the paper, on the toy families, and how the base models are
 * wrong (issue 11): pure builders from stored base-model reports to rows and plotly figures.
 */
import type { BaseModelReport } from "../lab/basemodels";
import type { MistakeReport, MistakeSpread } from "../lab/mistakes";
import type { Figure } from "./display";
import { getFamily } from "../world/families";
import { round, type Row } from "./tables";

/** Our measured Table 1 beside the paper's, one row per family. */
export function table1Rows(reports: readonly BaseModelReport[]): Row[] {
  return reports.map((r) => {
    const t = getFamily(r.family).target;
    return {
      model: r.label,
      "code freq. (ours)": round(r.test.codeFrequency),
      "code freq. (paper)": t.codeFrequency,
      "acc. code (ours)": round(r.test.accuracyCode),
      "acc. code (paper)": t.accuracyCode,
      "acc. language (ours)": round(r.test.accuracyLanguage),
      "acc. language (paper)": t.accuracyLanguage,
      "accuracy (ours)": round(r.test.accuracy),
      "accuracy (paper)": t.accuracy,
      "n code": r.test.nCode,
      "n language": r.test.nLanguage,
      "boxed %": round(r.test.boxedRate),
      "hard avg@8": round(r.hard.accuracy),
    };
  });
}

const OURS = "#1f77b4";
const PAPER = "#bbbbbb";

/** Grouped bars: code frequency, accuracy with code, accuracy in language; ours vs paper. */
export function table1Figure(reports: readonly BaseModelReport[]): Figure {
  // the real model's name on the axis; the legend and title say these are toy analogs
  const labels = reports.map((r) => getFamily(r.family).analogOf);
  const panels: { key: "codeFrequency" | "accuracyCode" | "accuracyLanguage"; title: string }[] = [
    { key: "codeFrequency", title: "code frequency %" },
    { key: "accuracyCode", title: "accuracy with code %" },
    { key: "accuracyLanguage", title: "accuracy in language %" },
  ];
  const data: Figure["data"] = [];
  panels.forEach((p, i) => {
    const axis = i === 0 ? "" : String(i + 1);
    data.push(
      { type: "bar", name: "ours (toy analog)", x: labels, y: reports.map((r) => round(r.test[p.key])), marker: { color: OURS }, xaxis: `x${axis}`, yaxis: `y${axis}`, showlegend: i === 0, legendgroup: "ours" },
      { type: "bar", name: "paper (real model)", x: labels, y: reports.map((r) => getFamily(r.family).target[p.key]), marker: { color: PAPER }, xaxis: `x${axis}`, yaxis: `y${axis}`, showlegend: i === 0, legendgroup: "paper" },
    );
  });
  const layout: Record<string, unknown> = {
    title: { text: "Table 1 analog: code reasoning before RL (toy families, test split, greedy)" },
    barmode: "group",
    width: 1200,
    height: 520,
    legend: { orientation: "h", y: -0.35 },
    annotations: panels.map((p, i) => ({ text: p.title, xref: "paper", yref: "paper", x: (i + 0.5) / 3, y: 1.06, showarrow: false, xanchor: "center" })),
  };
  panels.forEach((_, i) => {
    const axis = i === 0 ? "" : String(i + 1);
    layout[`xaxis${axis}`] = { domain: [i / 3 + 0.02, (i + 1) / 3 - 0.02], tickangle: -35, tickfont: { size: 10 } };
    layout[`yaxis${axis}`] = { range: [0, 100], anchor: `x${axis}` };
  });
  return { data, layout };
}

/** Fig. 5 analog: one greedy response per mode per family. */
export function exampleRows(reports: readonly BaseModelReport[]): Row[] {
  return reports.flatMap((r) => r.examples.map((e) => ({ model: r.label, mode: e.mode, prompt: e.problem + "=", response: e.response, label: e.label, correct: e.correct ? "yes" : "no" })));
}

/** Table 3 analog: greedy accuracy before and after forcing the response to start with "python". */
export function forcedPythonRows(reports: readonly BaseModelReport[], paper: Partial<Record<string, [number, number]>>): Row[] {
  return reports.map((r) => {
    const p = paper[r.family];
    return {
      model: r.label,
      "acc. (ours)": round(r.test.accuracy),
      "acc. with python prefix (ours)": round(r.forcedPython.accuracy),
      "change (ours)": round(r.forcedPython.accuracy - r.test.accuracy),
      "acc. (paper)": p ? p[0] : null,
      "with prompt (paper)": p ? p[1] : null,
      "change (paper)": p ? round(p[1] - p[0]) : null,
    };
  });
}

/** "+1 (93%)": an error kind and its share of the wrong answers. */
const topKind = (m: MistakeSpread | null) => (m && m.topKind !== null ? `${m.topKind} (${round(m.topKindShare, 0)}%)` : null);

/** How each base model is wrong: wrong greedy test answers (all, per mode) and wrong majority labels on train. */
export function mistakeRows(reports: readonly MistakeReport[]): Row[] {
  return reports.map((r) => ({
    world: r.world,
    model: r.label,
    "wrong greedy (test)": r.greedy.wrong,
    "distinct wrong": r.greedy.distinctWrong,
    "error kinds": r.greedy.distinctKinds,
    "top error kind": topKind(r.greedy),
    "top kind, code": topKind(r.greedyCode),
    "top kind, language": topKind(r.greedyLanguage),
    "wrong majority labels (train)": r.labels?.wrong ?? null,
    "distinct wrong labels": r.labels?.distinctWrong ?? null,
    "label error kinds": r.labels?.distinctKinds ?? null,
    "top label error kind": topKind(r.labels),
  }));
}
