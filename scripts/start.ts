/**
 * npm start: the project's main job, headless.
 *
 * A list of steps run in order; a failing step is reported and the rest still run, and the exit
 * code says whether all passed. For now one step: execute every notebook and export it as a
 * self-contained HTML report into out/ (figures render offline: the plotly bundle is inside).
 * Later steps (checkpoints, experiment runs, paper figures) go into `steps`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { outDir, projectRoot } from "../src/figures/display";
import { plannedFiles, prepareOutFolder, writeManifest } from "./out-folder";
import { formatFailure, listNotebooks, notebookWorld, runNotebook, type NotebookResult } from "./notebooks";
import { allFigures, figureNotInWorld } from "../src/lab/registry";

interface Step {
  name: string;
  /** Throws when the step failed; the message is printed as the reason. */
  run: () => Promise<void>;
}

const steps: Step[] = [{ name: "notebooks → out/*.html", run: exportNotebooks }];

async function exportNotebooks(): Promise<void> {
  const notebooks = listNotebooks();
  if (notebooks.length === 0) throw new Error("no notebooks in notebooks/");
  const results: NotebookResult[] = [];
  for (const notebook of notebooks) {
    const name = path.basename(notebook, ".ipynb");
    const html = path.join(outDir, `${name}.html`);
    const result = await runNotebook({ notebook: path.relative(process.cwd(), notebook), html, progress: true });
    results.push(result);
    console.log(result.ok ? `  ok     ${path.relative(process.cwd(), html)} (${result.seconds.toFixed(1)} s)` : formatFailure(result));
  }
  writeIndex(results);
  // Every registered figure its notebook's world can draw must have been drawn (README's images are
  // copies of some of them); a family not calibrated in that world, or a world-1 study, is not.
  const worlds = new Map(notebooks.map((n) => [path.basename(n, ".ipynb"), notebookWorld(n)]));
  const expected = allFigures().filter((f) => worlds.has(f.notebook) && figureNotInWorld(f, worlds.get(f.notebook)!) === null);
  const absent = expected.filter((f) => !fs.existsSync(path.join(outDir, `${f.id}.html`)));
  if (absent.length) console.error(`[start] ${absent.length} registered figure(s) not drawn: ${absent.map((f) => f.id).join(", ")}`);
  const failed = results.filter((r) => !r.ok);
  if (absent.length && !failed.length) throw new Error(`${absent.length} registered figure(s) missing from ${outDir} (src/lab/registry.ts lists them)`);
  if (failed.length) throw new Error(`${failed.length} notebook(s) failed: ${failed.map((r) => r.notebook).join(", ")} (their reports show the error)`);
}

/** out/index.html: one link per report, so the folder opens as one document. */
function writeIndex(results: NotebookResult[]): void {
  const rows = results.map((r) => {
    const name = path.basename(r.notebook, ".ipynb");
    const status = r.ok ? "ok" : `FAILED (${r.failure?.kind})`;
    return `<li><a href="${encodeURI(name)}.html">${name}</a> — ${status}, ${r.seconds.toFixed(1)} s</li>`;
  });
  const page = `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Reports</title></head><body>\n<h1>Notebook reports</h1>\n<ul>\n${rows.join("\n")}\n</ul>\n</body></html>\n`;
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, "index.html"), page);
}

async function main(): Promise<number> {
  const t0 = Date.now();
  // What the last start wrote goes (so no stale figure survives a rename); a folder that is not ours is refused before anything runs.
  let prepared;
  try {
    prepared = prepareOutFolder(outDir, outDir === path.join(projectRoot, "out"), plannedFiles(listNotebooks()));
  } catch (e) {
    console.error(`[start] ${(e as Error).message}`);
    return 2;
  }
  const failed: string[] = [];
  for (const step of steps) {
    console.log(`[start] ${step.name}`);
    try {
      await step.run();
    } catch (e) {
      failed.push(step.name);
      console.error(`[start] FAILED: ${step.name}: ${(e as Error).message}`);
    }
  }
  writeManifest(outDir, prepared.foreign);
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  console.log(failed.length ? `[start] ${failed.length} step(s) failed (${secs} s)` : `[start] done in ${secs} s: open ${path.relative(process.cwd(), outDir)}/index.html`);
  return failed.length ? 1 : 0;
}

main().then((code) => process.exit(code));
