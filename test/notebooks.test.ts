// Every notebook in notebooks/ runs headlessly through real Jupyter with the project's tslab kernel;
// any failing cell (compile error, throw, rejected promise, error thrown later from a timer) fails
// its test with the notebook, the cell's source and the error (see scripts/run_notebook.py).
// SPURIOUS_NOTEBOOKS=<substring> runs only the notebooks whose file name contains it.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { clearedText } from "../scripts/clear-outputs";
import { jupyterProblem } from "../scripts/jupyter";
import { formatFailure, listNotebooks, notebooksDir, runNotebook } from "../scripts/notebooks";

const filter = process.env.SPURIOUS_NOTEBOOKS ?? "";

// Notebooks run in smoke mode here: fresh smoke-scale runs in a temporary store, so every code
// path a notebook has is exercised in seconds and the shipped results in data/ are never touched.
process.env.SPURIOUS_NOTEBOOK_SCALE = "smoke";
process.env.SPURIOUS_RUNS = fs.mkdtempSync(path.join(os.tmpdir(), "spurious-notebook-runs-"));
// ... and their figures go to a temporary folder, not out/ (which holds what npm start made).
process.env.SPURIOUS_OUT = fs.mkdtempSync(path.join(os.tmpdir(), "spurious-notebook-out-"));
after(() => {
  for (const dir of [process.env.SPURIOUS_RUNS!, process.env.SPURIOUS_OUT!]) fs.rmSync(dir, { recursive: true, force: true });
});
const notebooks = listNotebooks().filter((f) => path.basename(f).includes(filter));
const rel = (f: string) => path.relative(process.cwd(), f);

test("notebooks/ has notebooks to run", () => {
  assert.ok(notebooks.length > 0, filter ? `no notebook matches SPURIOUS_NOTEBOOKS=${filter}` : `no .ipynb in ${notebooksDir}`);
});

test("notebooks are committed without outputs", () => {
  const dirty = listNotebooks().filter((f) => clearedText(fs.readFileSync(f, "utf8")) !== null);
  assert.deepEqual(dirty.map(rel), [], "run `npm run clear-outputs` before committing");
});

test("Jupyter is installed", () => {
  const problem = jupyterProblem();
  assert.ok(problem === null, problem ?? "");
});

for (const notebook of notebooks) {
  test(`${rel(notebook)} runs without a failing cell`, async () => {
    const problem = jupyterProblem();
    if (problem) assert.fail(problem);
    const result = await runNotebook({ notebook: rel(notebook) });
    if (!result.ok) assert.fail(formatFailure(result));
  });
}
