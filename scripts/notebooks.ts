/**
 * Run notebooks headlessly through real Jupyter with the project's tslab kernel.
 *
 * Shared by `npm start` (scripts/start.ts) and `npm test` (test/notebooks.test.ts). The work is done
 * by scripts/run_notebook.py under Debian's Python (see its header for why a driver of our own);
 * this side prepares the kernelspec, starts it, and turns its JSON result into a readable failure.
 *
 * CLI, to run some notebooks by hand (exit code 1 if any fails):
 *   npm run run-notebook -- notebooks/00-environment.ipynb [--html out/]
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { jupyterEnv, jupyterProblem, kernelName, projectRoot, python, writeKernelspec } from "./jupyter";
import { NOTEBOOKS } from "../src/lab/registry";
import { DEFAULT_WORLD, parseWorld, type World } from "../src/world/worlds";

export const notebooksDir = path.join(projectRoot, "notebooks");

export interface NotebookFailure {
  /** error: the cell threw or did not compile; uncaught: an exception from a timer or an unhandled
   *  rejection; timeout; kernel-died; kernel-start; runner: the driver itself failed. */
  kind: "error" | "uncaught" | "timeout" | "kernel-died" | "kernel-start" | "runner";
  /** The error as the kernel printed it (tslab writes it to the cell's stderr). */
  text: string;
  /** 0-based index of the failing cell among all the notebook's cells (markdown included). */
  cell: number | null;
  /** 1-based position among the code cells, as progress messages count them. */
  codeCell: number | null;
  source: string | null;
}

export interface NotebookResult {
  notebook: string;
  ok: boolean;
  /** Non-empty code cells in the notebook. */
  cells: number;
  executed: number;
  seconds: number;
  cellSeconds: number[];
  failure: NotebookFailure | null;
}

export interface RunNotebookOptions {
  /** Path of the .ipynb (relative to the current directory or absolute). */
  notebook: string;
  /** Write a self-contained HTML export of the executed notebook here. */
  html?: string;
  /** Write the executed notebook (with outputs) here; the input file is never modified. */
  executed?: string;
  /** Per-cell limit; default SPURIOUS_CELL_TIMEOUT or 900 s. */
  cellTimeoutSec?: number;
  /** Stream the driver's per-cell progress to stderr (otherwise it is kept for failures only). */
  progress?: boolean;
}

const optionKeys = new Set(["notebook", "html", "executed", "cellTimeoutSec", "progress"]);

/** The notebooks `npm start` and `npm test` run: the registry's (src/lab/registry.ts), in its order;
 *  test/registry.test.ts checks that notebooks/ holds exactly these. */
export function listNotebooks(dir: string = notebooksDir): string[] {
  return NOTEBOOKS.map((n) => path.join(dir, `${n.id}.ipynb`)).filter((f) => fs.existsSync(f));
}

/** A notebook cell's source as one string (.ipynb stores it as a string or a list of lines). */
export function cellText(c: { source: string | string[] }): string {
  return Array.isArray(c.source) ? c.source.join("") : c.source;
}

/**
 * The world a notebook reads: its settings cell's `const WORLD = N;` (a notebook without one reads
 * world 1). npm start uses it to know which registered figures the notebook can draw.
 */
export function notebookWorld(notebook: string): World {
  let cells: { cell_type: string; source: string | string[] }[];
  try {
    cells = JSON.parse(fs.readFileSync(notebook, "utf8")).cells;
  } catch (e) {
    throw new Error(`${notebook}: not a readable notebook (${(e as Error).message})`);
  }
  const settings = cells?.find((c) => c.cell_type === "code");
  const m = /^(?:const|let) WORLD(?:\s*:\s*\w+)?\s*=\s*(\S+?)(?:\s+as\s+const)?\s*;/m.exec(settings ? cellText(settings) : "");
  if (m) return parseWorld(/^\d+$/.test(m[1]) ? Number(m[1]) : m[1], `${notebook}'s WORLD setting`);
  // A notebook that passes a world to notebookMode must say which in its settings cell, in the form npm start reads.
  if (/notebookMode\([^)]*\bworld\s*:/.test(cells.map(cellText).join("\n"))) {
    throw new Error(`${notebook}: its cells pass a world to notebookMode, but its first code cell has no "const WORLD = <n>;" line (npm start reads that line to know which figures the notebook draws)`);
  }
  return DEFAULT_WORLD;
}

export async function runNotebook(opts: RunNotebookOptions): Promise<NotebookResult> {
  for (const key of Object.keys(opts)) if (!optionKeys.has(key)) throw new Error(`runNotebook: unknown option "${key}"`);
  if (!fs.existsSync(opts.notebook)) throw new Error(`runNotebook: no such notebook ${opts.notebook}`);
  const cellTimeoutSec = opts.cellTimeoutSec ?? Number(process.env.SPURIOUS_CELL_TIMEOUT || 900);
  if (!(cellTimeoutSec > 0)) throw new Error(`runNotebook: cellTimeoutSec must be > 0, got ${cellTimeoutSec}`);
  const problem = jupyterProblem();
  if (problem) throw new Error(problem);
  writeKernelspec();

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "spurious-nb-"));
  const resultFile = path.join(tmp, "result.json");
  const args = [
    path.join(projectRoot, "scripts", "run_notebook.py"),
    opts.notebook,
    "--kernel", kernelName,
    "--result", resultFile,
    "--cell-timeout", String(cellTimeoutSec),
  ];
  for (const [flag, file] of [["--html", opts.html], ["--executed", opts.executed]] as const) {
    if (!file) continue;
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    args.push(flag, file);
  }
  try {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(python, args, { env: jupyterEnv(), stdio: ["ignore", "inherit", "pipe"] });
      let stderr = "";
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (chunk: string) => {
        stderr += chunk;
        if (opts.progress) process.stderr.write(chunk);
      });
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stderr }));
    });
    if (code !== 0 || !fs.existsSync(resultFile)) {
      return {
        notebook: opts.notebook, ok: false, cells: 0, executed: 0, seconds: 0, cellSeconds: [],
        failure: { kind: "runner", text: `${python} scripts/run_notebook.py exited with ${code}\n${stderr}`, cell: null, codeCell: null, source: null },
      };
    }
    return JSON.parse(fs.readFileSync(resultFile, "utf8")) as NotebookResult;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// Frames of tslab's and Node's own machinery: they bury the one line that points into the cell.
const noiseFrame = /^\s+at .*(node:vm|node:internal|[/\\]tslab[/\\]dist[/\\]|sigintHandlersWrap)/;

/** A failure as a reader wants it: which notebook, which cell, its source, the error. */
export function formatFailure(result: NotebookResult): string {
  const f = result.failure;
  if (!f) return `${result.notebook}: ok`;
  // 1-based, counting markdown cells too, as a reader scrolling the notebook counts.
  const where = f.cell === null ? "" : `, cell ${f.cell + 1} (code cell ${f.codeCell} of ${result.cells})`;
  const text = f.text.split("\n").filter((line) => !noiseFrame.test(line)).join("\n");
  const parts = [`notebook ${result.notebook}${where} failed: ${f.kind}`];
  if (f.source !== null) parts.push("--- cell source ---", f.source.trimEnd());
  parts.push("--- error ---", text.trimEnd() || "(no error text)");
  return parts.join("\n");
}

async function main(argv: string[]): Promise<number> {
  let htmlDir: string | undefined;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--html") htmlDir = argv[++i];
    else if (argv[i].startsWith("-")) throw new Error(`unknown flag ${argv[i]}; usage: notebooks.ts [--html DIR] NOTEBOOK...`);
    else files.push(argv[i]);
  }
  if (files.length === 0) files.push(...listNotebooks());
  let failed = 0;
  for (const notebook of files) {
    const html = htmlDir ? path.join(htmlDir, path.basename(notebook, ".ipynb") + ".html") : undefined;
    const result = await runNotebook({ notebook, html, progress: true });
    console.log(result.ok ? `ok   ${notebook} (${result.seconds.toFixed(1)} s)` : formatFailure(result));
    if (html) console.log(`     report: ${html}`);
    if (!result.ok) failed++;
  }
  return failed ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      console.error(e.message);
      process.exit(1);
    },
  );
}
