/**
 * Beyond the paper (issue 12): figure builders for notebook 07, pure functions of stored runs.
 *   testFreshFigure   gain on `test` beside gain on `fresh`, per reward, clean and contaminated family
 *   algorithmFigure   per algorithm: test gain, and the drift of the policy's p(code)
 */
import { mean, std } from "../lab/analysis";
import { algorithmCell, algorithmOf, freshGain, testGain } from "../lab/beyond";
import { MEMORISATION_SPLITS, type MemorisationReport } from "../lab/contamination";
import type { RunResult } from "../lab/experiments";
import { ALGORITHM_LABELS, FIG1_REWARDS } from "../lab/plans";
import { ALGORITHM_NAMES } from "../rl/grpo";
import type { Figure } from "./display";
import { familyLabel } from "./figures-runs";
import { round, type Row } from "./tables";

/** The runs of one (family, reward) pair, in FIG1_REWARDS order of rewards. */
function byFamilyAndReward(runs: readonly RunResult[]) {
  const families = [...new Set(runs.map((r) => r.spec.family))];
  const rewards = FIG1_REWARDS.filter((w) => runs.some((r) => r.spec.reward === w.reward && r.spec.variant === w.variant));
  const of = (f: string, w: (typeof FIG1_REWARDS)[number]) => runs.filter((r) => r.spec.family === f && r.spec.reward === w.reward && r.spec.variant === w.variant);
  return { families, rewards, of };
}

const SPLIT_COLOURS: Record<string, [string, string]> = { "qwen-math-7b": ["#1f77b4", "#aec7e8"], "qwen-math-7b-contaminated": ["#d62728", "#ff9896"] };

/** Test and fresh gains per reward, one pair of bars per family (whiskers: std over seeds). */
export function testFreshFigure(runs: readonly RunResult[], title: string): Figure {
  const { families, rewards, of } = byFamilyAndReward(runs);
  const data = families.flatMap((f) => (["test", "fresh"] as const).map((split, si) => {
    const gains = rewards.map((w) => of(f, w).map(split === "test" ? testGain : freshGain));
    const colour = (SPLIT_COLOURS[f] ?? ["#555", "#aaa"])[si];
    return {
      type: "bar", name: `${familyLabel(f)}: ${split === "test" ? "test" : "fresh (in no corpus)"}`,
      x: rewards.map((w) => w.label), y: gains.map((g) => (g.length ? round(mean(g)) : null)),
      error_y: { type: "data", array: gains.map((g) => (g.length > 1 ? round(std(g)) : null)), visible: true },
      marker: { color: colour, ...(split === "fresh" ? { pattern: { shape: "/" } } : {}) },
      hovertemplate: `%{x}: %{y:+.1f} points<extra>${familyLabel(f)}, ${split}</extra>`,
    };
  }));
  return { data, layout: { title: { text: title }, barmode: "group", width: 1000, height: 480, yaxis: { title: { text: "greedy accuracy gain (points)" }, zeroline: true }, legend: { orientation: "h", y: -0.2 } } };
}

/** Test and fresh gains as rows: family, reward, per-seed gains and their gap. */
export function testFreshRows(runs: readonly RunResult[]): Row[] {
  const { families, rewards, of } = byFamilyAndReward(runs);
  return families.flatMap((f) => rewards.map((w) => {
    const rs = of(f, w);
    const t = rs.map(testGain);
    const fr = rs.map(freshGain);
    return {
      model: familyLabel(f), reward: w.label, seeds: rs.map((r) => r.spec.seed).join(" "),
      "test base": round(rs[0].evals[0].test.accuracy), "fresh base": round(rs[0].evals[0].fresh!.accuracy),
      "test gain": round(mean(t)), "fresh gain": round(mean(fr)), "gap (test − fresh)": round(mean(t) - mean(fr)),
      "per seed test / fresh": t.map((x, i) => `${round(x)} / ${round(fr[i])}`).join("; "),
    };
  }));
}

/** Gain and p(code) drift per algorithm, one bar per family in each of two panels. */
export function algorithmFigure(runs: readonly RunResult[], title: string): Figure {
  const families = [...new Set(runs.map((r) => r.spec.family))];
  const algs = ALGORITHM_NAMES.filter((a) => runs.some((r) => algorithmOf(r) === a));
  const cells = (f: string) => algs.map((a) => {
    const rs = runs.filter((r) => r.spec.family === f && algorithmOf(r) === a);
    return rs.length ? algorithmCell(rs) : null;
  });
  const colours = ["#1f77b4", "#2ca02c", "#ff7f0e"];
  const data = families.flatMap((f, i) => {
    const cs = cells(f);
    const bar = (values: (c: NonNullable<(typeof cs)[number]>) => number[], axis: "" | "2", digits: number) => ({
      type: "bar", name: familyLabel(f), legendgroup: f, showlegend: axis === "", marker: { color: colours[i % colours.length] },
      x: algs.map((a) => ALGORITHM_LABELS[a]), y: cs.map((c) => (c ? round(mean(values(c)), digits) : null)),
      error_y: { type: "data", array: cs.map((c) => (c && c.gains.length > 1 ? round(std(values(c)), digits) : null)), visible: true },
      text: cs.map((c) => c?.verdict ?? "not run"), textposition: "none",
      hovertemplate: "%{x}: %{y}<br>%{text}<extra>" + familyLabel(f) + "</extra>",
      xaxis: `x${axis}`, yaxis: `y${axis}`,
    });
    return [bar((c) => c.gains, "", 1), bar((c) => c.pCodeDrifts, "2", 3)];
  });
  return {
    data,
    layout: {
      title: { text: title }, barmode: "group", width: 1150, height: 500, legend: { orientation: "h", y: -0.3 },
      xaxis: { domain: [0, 0.46], tickangle: -20 }, yaxis: { title: { text: "test accuracy gain (points)" }, zeroline: true },
      xaxis2: { domain: [0.54, 1], tickangle: -20, anchor: "y2" }, yaxis2: { title: { text: "p(code) drift: last 10 − first 10 steps" }, anchor: "x2", zeroline: true },
    },
  };
}

/** Per algorithm and family: the classification and its numbers. */
export function algorithmRows(runs: readonly RunResult[]): Row[] {
  const families = [...new Set(runs.map((r) => r.spec.family))];
  return families.flatMap((f) => ALGORITHM_NAMES.flatMap((a) => {
    const rs = runs.filter((r) => r.spec.family === f && algorithmOf(r) === a);
    if (!rs.length) return [];
    const c = algorithmCell(rs);
    return [{
      model: familyLabel(f), algorithm: ALGORITHM_LABELS[a], verdict: c.verdict, seeds: rs.map((r) => r.spec.seed).join(" "),
      "gain (mean)": round(mean(c.gains)), "gain (std)": round(std(c.gains)), "p(code) drift": round(mean(c.pCodeDrifts), 3),
      "entropy drift": round(mean(c.entropyDrifts), 4), "greedy code % shift": round(mean(c.codeShifts)),
      "per seed gain": c.gains.map((g) => round(g)).join(" / "),
    }];
  }));
}

/** Memorisation reports as rows: per family, test beside fresh. */
export function memorisationRows(reports: readonly MemorisationReport[]): Row[] {
  return reports.map((r) => {
    const row: Row = { model: r.label };
    for (const s of MEMORISATION_SPLITS) {
      const m = r.splits[s];
      row[`${s} acc.`] = round(m.greedy.accuracy);
      row[`${s} code %`] = round(m.greedy.codeFrequency);
      row[`${s} acc. code`] = round(m.greedy.accuracyCode);
      row[`${s} acc. language`] = round(m.greedy.accuracyLanguage);
      row[`${s} answer-line recall`] = round(m.recall);
      row[`${s} underived % of right`] = round(m.underived);
    }
    return row;
  });
}
