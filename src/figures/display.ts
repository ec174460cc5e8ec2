/**
 * Showing and saving figures and tables. The only module in src/ that touches tslab or the plotly
 * bundle, so everything else runs anywhere (tests, CLIs, other kernels).
 *
 * Figures are plain plotly objects `{data, layout, config?}` built by pure functions elsewhere.
 * - Inline (`showFigure`): an HTML output holding a <div> and a call to Plotly.newPlot. plotly.js
 *   is read as text from node_modules/plotly.js-dist (never `require`d: it expects a browser) and
 *   embedded in the first figure a kernel shows, so a notebook exported to HTML renders its figures
 *   with no network. Later figures rely on that copy: after clearing that output in an open
 *   notebook, restart the kernel and run from the top (the figure says so if it finds no Plotly).
 * - Saved (`saveFigure`): a standalone HTML file, plus a PNG rendered by headless Chromium when one
 *   is installed (Debian `chromium`; SPURIOUS_CHROMIUM names another). No browser, no PNG: a note.
 * Tables are danfojs DataFrames: `showTable` renders an HTML table (danfojs has none in Node),
 * `saveTable` writes CSV with proper quoting (danfojs' toCSV does not quote commas).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { DataFrame } from "danfojs-node";

/** A plotly figure as plain data: what Plotly.newPlot takes. */
export interface Figure {
  data: Array<Record<string, unknown>>;
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/** The project root: src/figures/../.. (same under tsx, node and the tslab kernel). */
export const projectRoot = path.resolve(__dirname, "..", "..");

/** Where generated files go (gitignored); `npm start` writes its reports here too. SPURIOUS_OUT moves it (the tests use a temporary folder). */
export const outDir = process.env.SPURIOUS_OUT ? path.resolve(process.env.SPURIOUS_OUT) : path.join(projectRoot, "out");

/** A path under out/, e.g. outputPath("figures", "fig1") → <root>/out/figures/fig1. */
export function outputPath(...parts: string[]): string {
  return path.join(outDir, ...parts);
}

const plotlyBundlePath = path.join(projectRoot, "node_modules", "plotly.js-dist", "plotly.js");
let bundleText: string | null = null;
/** Set once the bundle went into an output of this kernel (module state lives as long as it). */
let bundleEmbedded = false;
let figureCounter = 0;

function plotlyBundle(): string {
  if (bundleText === null) {
    if (!fs.existsSync(plotlyBundlePath)) throw new Error(`plotly bundle not found at ${plotlyBundlePath}: run \`npm run setup\``);
    bundleText = fs.readFileSync(plotlyBundlePath, "utf8");
    // Inlined in a <script>, this text would end the element early.
    if (/<\/script/i.test(bundleText)) throw new Error(`${plotlyBundlePath} contains "</script": cannot inline it`);
  }
  return bundleText;
}

/** Options of a public function checked against the allowed keys, so a typo is an error. */
function checkKeys(fn: string, given: object, allowed: readonly string[], what = "option"): void {
  for (const key of Object.keys(given)) {
    if (!allowed.includes(key)) throw new Error(`${fn}: unknown ${what} "${key}" (allowed: ${allowed.join(", ")})`);
  }
}

function checkFigure(fn: string, figure: Figure): void {
  if (figure === null || typeof figure !== "object") throw new Error(`${fn}: figure must be an object {data, layout}`);
  checkKeys(fn, figure, ["data", "layout", "config"], "figure key");
  if (!Array.isArray(figure.data)) throw new Error(`${fn}: figure.data must be an array of traces`);
}

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value ?? {}).replace(/</g, "\\u003c");
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] as string);
}

function figureHeight(figure: Figure): number {
  const h = figure.layout?.height;
  return typeof h === "number" && h > 0 ? h : 450;
}

/** A <div> plus the script that draws the figure into it (needs window.Plotly on the page). */
function figureSnippet(figure: Figure, divId: string): string {
  const config = { responsive: true, displaylogo: false, ...figure.config };
  return [
    `<div id="${divId}" style="width:100%;height:${figureHeight(figure)}px;">`,
    "(plotly figure: plotly.js is not loaded on this page; restart the kernel and run the notebook from the top)",
    "</div>",
    "<script>(function () {",
    `  var el = document.getElementById(${JSON.stringify(divId)});`,
    "  if (!el || !window.Plotly) return;",
    '  el.textContent = "";',
    `  window.Plotly.newPlot(el, ${scriptJson(figure.data)}, ${scriptJson(figure.layout)}, ${scriptJson(config)});`,
    "})();</script>",
  ].join("\n");
}

/** tslab's display API, loaded only inside a kernel (elsewhere tslab would pull in zeromq). */
function tslabDisplay(fn: string): typeof import("tslab").display {
  let tslab: typeof import("tslab");
  try {
    tslab = require("tslab");
  } catch (e) {
    throw new Error(`${fn} needs the tslab kernel (run it in a notebook): ${(e as Error).message}`);
  }
  return tslab.display;
}

function displayHtml(fn: string, html: string): void {
  try {
    tslabDisplay(fn).html(html);
  } catch (e) {
    // tslab throws "Not ready" when no kernel runs this process.
    throw new Error(`${fn} needs the tslab kernel (run it in a notebook; use saveFigure/saveTable elsewhere): ${(e as Error).message}`);
  }
}

/** Show a plotly figure as the cell's output. */
export function showFigure(figure: Figure): void {
  checkFigure("showFigure", figure);
  // pid: ids stay unique across kernel restarts in one open page (no randomness needed).
  const divId = `spurious-figure-${process.pid}-${++figureCounter}`;
  const parts: string[] = [];
  if (!bundleEmbedded) parts.push(`<script type="text/javascript">${plotlyBundle()}\n</script>`);
  parts.push(figureSnippet(figure, divId));
  displayHtml("showFigure", parts.join("\n"));
  bundleEmbedded = true;
}

/**
 * A complete HTML page: opens offline, in any browser. The bundle is inlined, or with `plotlySrc`
 * loaded from that (relative) path, so a folder of figures holds one 11 MB copy, not one each.
 */
export function standaloneFigureHtml(figure: Figure, opts: { title?: string; plotlySrc?: string } = {}): string {
  checkFigure("standaloneFigureHtml", figure);
  checkKeys("standaloneFigureHtml", opts, ["title", "plotlySrc"]);
  const layoutTitle = (figure.layout?.title as { text?: unknown } | undefined)?.text;
  const title = opts.title ?? (typeof layoutTitle === "string" ? layoutTitle : "figure");
  return [
    "<!DOCTYPE html>",
    '<html><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    opts.plotlySrc ? `<script type="text/javascript" src="${escapeHtml(opts.plotlySrc)}"></script>` : `<script type="text/javascript">${plotlyBundle()}\n</script>`,
    '</head><body style="margin:0">',
    figureSnippet(figure, "figure"),
    "</body></html>",
    "",
  ].join("\n");
}

export interface SaveFigureOptions {
  /** File path without extension (".html"/".png" are added); relative paths are under out/. */
  path: string;
  /** "auto": PNG when Chromium is found; true: PNG or an error; false: HTML only. */
  png?: boolean | "auto";
  /** PNG size in CSS pixels (layout.width/height win when set) and pixel density. */
  width?: number;
  height?: number;
  scale?: number;
}

export interface SavedFigure {
  html: string;
  /** null when no PNG was written; `pngSkipped` then says why. */
  png: string | null;
  pngSkipped?: string;
}

/** Save a figure as standalone HTML, and as PNG where Chromium is installed. */
export async function saveFigure(figure: Figure, opts: SaveFigureOptions): Promise<SavedFigure> {
  checkFigure("saveFigure", figure);
  checkKeys("saveFigure", opts, ["path", "png", "width", "height", "scale"]);
  const { png = "auto", scale = 2 } = opts;
  const width = typeof figure.layout?.width === "number" ? figure.layout.width : (opts.width ?? 900);
  const height = typeof figure.layout?.height === "number" ? figure.layout.height : (opts.height ?? 500);
  if (typeof opts.path !== "string" || opts.path === "") throw new Error("saveFigure: path must be a non-empty string");
  for (const [name, v] of [["width", width], ["height", height], ["scale", scale]] as const) {
    if (!(typeof v === "number" && v > 0)) throw new Error(`saveFigure: ${name} must be a positive number, got ${v}`);
  }
  if (png !== true && png !== false && png !== "auto") throw new Error(`saveFigure: png must be true, false or "auto", got ${String(png)}`);

  const base = path.resolve(outDir, opts.path.replace(/\.(html|png)$/, ""));
  fs.mkdirSync(path.dirname(base), { recursive: true });
  const saved: SavedFigure = { html: `${base}.html`, png: null };
  // One shared copy of plotly.js at the top of out/, referenced relatively: still offline.
  const shared = path.join(outDir, "plotly.js");
  // (a copy of the installed file; its size tells a stale copy without reading 11 MB per figure)
  if (!fs.existsSync(shared) || fs.statSync(shared).size !== fs.statSync(plotlyBundlePath).size) {
    plotlyBundle(); // fails with the setup hint when the bundle is missing or cannot be inlined
    fs.copyFileSync(plotlyBundlePath, shared);
  }
  const rel = path.relative(path.dirname(base), shared).split(path.sep).join("/");
  fs.writeFileSync(saved.html, standaloneFigureHtml(figure, { plotlySrc: rel }));

  if (png === false) return saved;
  const chromium = findChromium();
  if (!chromium) {
    if (png === true) throw new Error("saveFigure: png: true but no Chromium found (npm run setup installs it; or set SPURIOUS_CHROMIUM)");
    saved.pngSkipped = "no Chromium found (npm run setup installs it; or set SPURIOUS_CHROMIUM)";
    return saved;
  }
  fs.writeFileSync(`${base}.png`, await renderPng({ figure, chromium, width, height, scale }));
  saved.png = `${base}.png`;
  return saved;
}

/** The Chromium binary: SPURIOUS_CHROMIUM, else the usual names on PATH; null if none. */
export function findChromium(): string | null {
  const forced = process.env.SPURIOUS_CHROMIUM;
  if (forced) return fs.existsSync(forced) ? forced : null;
  const names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    for (const name of names) {
      const candidate = path.join(dir, name);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return null;
}

/**
 * Render with Plotly.toImage in headless Chromium and read the PNG back from the dumped DOM
 * (no puppeteer: it downloads its own browser). The page loads the bundle by file:// URL, so the
 * dump stays small.
 */
async function renderPng(o: { figure: Figure; chromium: string; width: number; height: number; scale: number }): Promise<Buffer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "spurious-png-"));
  try {
    const page = path.join(dir, "page.html");
    const layout = { ...o.figure.layout, width: o.width, height: o.height };
    fs.writeFileSync(
      page,
      [
        '<!DOCTYPE html><html><head><meta charset="utf-8">',
        `<script src="${pathToFileURL(plotlyBundlePath).href}"></script></head><body>`,
        "<script>",
        "function put(id, text) { var p = document.createElement('pre'); p.id = id; p.textContent = text; document.body.appendChild(p); }",
        `Plotly.toImage({data: ${scriptJson(o.figure.data)}, layout: ${scriptJson(layout)}, config: ${scriptJson(o.figure.config)}},`,
        `  {format: "png", width: ${o.width}, height: ${o.height}, scale: ${o.scale}})`,
        "  .then(function (url) { put('spurious-png', url); }, function (e) { put('spurious-error', String(e && e.stack || e)); });",
        "</script></body></html>",
      ].join("\n"),
    );
    // Flags measured to work headless as root in a container (see shared/ENVIRONMENT.md).
    const args = [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--no-first-run", "--disable-quic", `--user-data-dir=${path.join(dir, "profile")}`,
      "--allow-file-access-from-files", "--virtual-time-budget=30000", "--dump-dom", pathToFileURL(page).href,
    ];
    const dom = await new Promise<string>((resolve, reject) => {
      execFile(o.chromium, args, { timeout: 120_000, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err && !stdout) reject(new Error(`saveFigure: ${o.chromium} failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
    const png = /<pre id="spurious-png">data:image\/png;base64,([A-Za-z0-9+/=]+)<\/pre>/.exec(dom);
    if (png) return Buffer.from(png[1], "base64");
    const error = /<pre id="spurious-error">([\s\S]*?)<\/pre>/.exec(dom);
    throw new Error(`saveFigure: Plotly.toImage in Chromium ${error ? `failed: ${error[1]}` : "produced no image"}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface TableOptions {
  /** Rows shown (the rest is counted below the table). */
  maxRows?: number;
  /** Digits after the point for non-integer numbers. */
  digits?: number;
  caption?: string;
}

function formatCell(value: unknown, digits: number): string {
  if (value === null || value === undefined) return "";
  if (typeof value !== "number" || Number.isInteger(value) || !Number.isFinite(value)) return String(value);
  const a = Math.abs(value);
  return a !== 0 && (a < 1e-3 || a >= 1e7) ? value.toExponential(digits) : value.toFixed(digits);
}

/** Rows of a DataFrame as arrays (danfojs gives a flat array for a one-column frame). */
function rowsOf(table: DataFrame): unknown[][] {
  return (table.values as unknown[]).map((row) => (Array.isArray(row) ? row : [row]));
}

/** The HTML table showTable displays ("dataframe" class: Jupyter's stylesheet styles it). */
export function tableHtml(table: DataFrame, opts: TableOptions = {}): string {
  checkKeys("tableHtml", opts, ["maxRows", "digits", "caption"]);
  const { maxRows = 30, digits = 4, caption } = opts;
  if (!(Number.isInteger(maxRows) && maxRows > 0)) throw new Error(`tableHtml: maxRows must be a positive integer, got ${maxRows}`);
  if (!(Number.isInteger(digits) && digits >= 0 && digits <= 20)) throw new Error(`tableHtml: digits must be an integer in [0, 20], got ${digits}`);
  const rows = rowsOf(table);
  const index = table.index as Array<string | number>;
  const cell = (tag: string, v: unknown) => `<${tag}>${escapeHtml(formatCell(v, digits))}</${tag}>`;
  const lines = ['<table class="dataframe" border="1">'];
  if (caption) lines.push(`<caption>${escapeHtml(caption)}</caption>`);
  lines.push(`<thead><tr><th></th>${table.columns.map((c) => cell("th", c)).join("")}</tr></thead>`, "<tbody>");
  for (let i = 0; i < Math.min(rows.length, maxRows); i++) {
    lines.push(`<tr>${cell("th", index[i])}${rows[i].map((v) => cell("td", v)).join("")}</tr>`);
  }
  lines.push("</tbody></table>");
  const hidden = rows.length - maxRows;
  if (hidden > 0) lines.push(`<p>… ${hidden} more row${hidden === 1 ? "" : "s"} (${rows.length} in all)</p>`);
  return lines.join("\n");
}

/** Show a DataFrame as an HTML table in the cell's output. */
export function showTable(table: DataFrame, opts: TableOptions = {}): void {
  displayHtml("showTable", tableHtml(table, opts));
}

function csvField(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** CSV text (RFC 4180 quoting, numbers at full precision, header row, no index column). */
export function tableCsv(table: DataFrame): string {
  const lines = [table.columns.map(csvField).join(",")];
  for (const row of rowsOf(table)) lines.push(row.map(csvField).join(","));
  return lines.join("\n") + "\n";
}

/** Save a DataFrame as CSV; `path` without or with ".csv", relative paths under out/. */
export function saveTable(table: DataFrame, opts: { path: string }): string {
  checkKeys("saveTable", opts, ["path"]);
  if (typeof opts.path !== "string" || opts.path === "") throw new Error("saveTable: path must be a non-empty string");
  const file = path.resolve(outDir, opts.path.endsWith(".csv") ? opts.path : `${opts.path}.csv`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, tableCsv(table));
  return file;
}
