/**
 * npm run clear-outputs [-- NOTEBOOK...]: strip outputs and execution counts, as notebooks are
 * committed (inlined plotly makes an executed notebook megabytes; outputs also make noisy diffs).
 * Default: every notebook in notebooks/. test/notebooks.test.ts checks that this was done.
 */
import * as fs from "node:fs";
import { listNotebooks } from "./notebooks";

interface Cell {
  cell_type: string;
  outputs?: unknown[];
  execution_count?: number | null;
}

/** The notebook's JSON text without outputs, or null when it has none already. */
export function clearedText(text: string): string | null {
  const nb = JSON.parse(text) as { cells: Cell[] };
  let changed = false;
  for (const cell of nb.cells) {
    if (cell.cell_type !== "code") continue;
    if ((cell.outputs?.length ?? 0) > 0 || cell.execution_count != null) changed = true;
    cell.outputs = [];
    cell.execution_count = null;
  }
  // Jupyter's own layout (one-space indent, final newline), so a cleared file diffs cleanly.
  return changed ? JSON.stringify(nb, null, 1) + "\n" : null;
}

if (require.main === module) {
  const files = process.argv.slice(2);
  for (const file of files.length ? files : listNotebooks()) {
    const cleared = clearedText(fs.readFileSync(file, "utf8"));
    if (cleared !== null) fs.writeFileSync(file, cleared);
    console.log(`${cleared === null ? "clean  " : "cleared"} ${file}`);
  }
}
