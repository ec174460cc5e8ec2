/**
 * Tables as plain rows (pure, testable) and their danfojs DataFrame form for notebooks.
 */
import { DataFrame } from "danfojs-node";

export type Row = Record<string, string | number | null>;

/** A DataFrame of rows (columns in the first row's key order). */
export function frame(rows: readonly Row[]): DataFrame {
  if (rows.length === 0) throw new Error("frame: no rows");
  const columns = Object.keys(rows[0]);
  return new DataFrame(rows.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? "" : r[c]))), { columns });
}

/** Round for display; null stays null. */
export function round(x: number | null | undefined, digits = 1): number | null {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Rows as a GitHub markdown table (for REPRODUCTION.md and terminal summaries). */
export function markdownTable(rows: readonly Row[]): string {
  if (rows.length === 0) return "(no rows)";
  const cols = Object.keys(rows[0]);
  const cell = (v: string | number | null | undefined) => (v === null || v === undefined ? "–" : String(v).replace(/\|/g, "\\|"));
  return [`| ${cols.join(" | ")} |`, `|${cols.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${cols.map((c) => cell(r[c])).join(" | ")} |`)].join("\n");
}
