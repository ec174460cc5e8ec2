/**
 * npm run summary [-- --plan rewards ...] [--world 2]
 * Our numbers from the stored evaluations and runs, as markdown tables (what REPRODUCTION.md
 * quotes). Reads only; computes nothing.
 */
import * as fs from "node:fs";
import { pooledContributions, steered as steeredRuns, transitions, TRANSITIONS, type Condition } from "../lab/analysis";
import { baseModelReport } from "../lab/basemodels";
import { checkpointSha } from "../model/checkpoint";
import { PAPER_FORCED_PYTHON } from "../world/families";
import { familiesOfWorld } from "../world/families-v2";
import { forcedPythonRows, table1Rows } from "../figures/figures-base";
import { gainRows, transitionRows } from "../figures/figures-runs";
import { checkpointPath } from "../util/paths";
import { loadPlan, notebookMode, planNote } from "../figures/notebook";
import { PLANS } from "../lab/plans";
import { markdownTable, round } from "../figures/tables";
import { parseFlags, runMain } from "./args";
import { WORLD_FLAG, worldFlag } from "./experiment-args";

runMain(async () => {
  const f = parseFlags(process.argv.slice(2), { plan: { type: "list", help: `plans to summarise (default: all): ${PLANS.join(", ")}` }, world: WORLD_FLAG }, "usage: npm run summary [-- --plan NAME ...] [--world N]");
  const world = worldFlag(f);
  const mode = notebookMode(false, { world });
  const reports = [];
  for (const id of familiesOfWorld(world)) if (fs.existsSync(checkpointPath(id, world))) {
    // A damaged checkpoint fails the summary (naming the file), not a quiet "no stored evaluation".
    checkpointSha(checkpointPath(id, world), world);
    try {
      reports.push(await baseModelReport(id, { loadOnly: true, world }));
    } catch (e) {
      console.log(`(${(e as Error).message})`);
    }
  }
  if (reports.length) {
    console.log("## Table 1 (test, greedy)\n\n" + markdownTable(table1Rows(reports)) + "\n");
    console.log("## Table 3 (forced python prefix)\n\n" + markdownTable(forcedPythonRows(reports, PAPER_FORCED_PYTHON)) + "\n");
  }
  for (const name of (f.plan as string[] | undefined) ?? ["rewards", "code-reasoning", "interventions", "clipping", ...(world === 1 ? ["investigations"] : ["gt-200", "random-200"])]) {
    const p = await loadPlan(name, mode);
    console.log(`## plan ${name}\n\n${planNote(name, p)}\n`);
    if (p.runs.length === 0) continue;
    const rows = name === "clipping" ? gainRows(p.runs, (c: Condition) => `${c.reward}, ${p.label(c)}`) : gainRows(p.runs);
    console.log(markdownTable(rows) + "\n");
    if (name === "code-reasoning") {
      console.log(markdownTable(transitionRows(p.runs)) + "\n");
      for (const fam of ["qwen-math-7b", "qwen-math-1.5b", "qwen-7b"]) {
        const stats = p.runs.filter((r) => r.spec.family === fam).map(transitions);
        const steered = steeredRuns(stats);
        if (!steered.length) continue;
        const c = pooledContributions(steered);
        console.log(`${fam}: ${steered.length} steered runs with a gain; pooled C: ${TRANSITIONS.map((k) => `${k} ${round(c[k])}%`).join(", ")}\n`);
      }
    }
  }
});
