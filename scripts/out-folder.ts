/**
 * The output folder of `npm start` (out/, or SPURIOUS_OUT): cleared only of what `npm start`
 * itself wrote there, never wholesale.
 *
 * `npm start` leaves a manifest, out/.spurious-out.json, listing the files it wrote. The next start
 * removes exactly those (so no stale report survives a rename) and nothing else. A folder without
 * a manifest is ours only when it is empty or missing, or when it is the default out/ (gitignored,
 * documented as generated: adopted now, cleared next time); any other folder with files is refused,
 * so SPURIOUS_OUT=. or SPURIOUS_OUT=data can never delete a thing.
 *
 * A start killed midway never writes its final manifest, so the manifest it leaves must already
 * cover what it wrote: before any notebook runs, the manifest lists every file the start will write
 * (plannedFiles), and what the last start listed. Otherwise a killed start's figures would count
 * as foreign from then on, and a stale one would survive every later start.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { allFigures } from "../src/lab/registry";
import { cellText } from "./notebooks";
import { removeDebris, writeFileAtomic } from "../src/util/store";

export const MANIFEST = ".spurious-out.json";

interface Manifest {
  writtenBy: "npm start";
  files: string[];
}

/** Every file under `dir`, relative to it, in sorted order. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out.push(path.relative(dir, full));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

function readManifest(dir: string): Manifest | null {
  const file = path.join(dir, MANIFEST);
  if (!fs.existsSync(file)) return null;
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message}); remove it and clear ${dir} by hand`);
  }
  if (m?.writtenBy !== "npm start" || !Array.isArray(m.files)) throw new Error(`${file} is not a manifest of npm start; remove it and clear ${dir} by hand`);
  return m;
}

export interface Prepared {
  dir: string;
  /** Files present before this start that are not ours: never listed, never removed. */
  foreign: Set<string>;
  removed: string[];
}

/**
 * Make `dir` ready for a new start: remove the files the last start listed (and folders that
 * become empty), or refuse a folder that is not ours. `isDefault` marks the project's own out/.
 */
export function prepareOutFolder(dir: string, isDefault: boolean, planned: string[] = []): Prepared {
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) throw new Error(`the output folder ${dir} is a file; point SPURIOUS_OUT at a folder`);
  removeDebris(dir, MANIFEST); // a manifest write cut short by a kill
  const manifest = readManifest(dir);
  const present = listFiles(dir);
  if (!manifest && present.length > 0 && !isDefault) {
    throw new Error(`refusing to write into ${dir}: it holds ${present.length} file(s) and no ${MANIFEST}, so it is not a folder npm start made; set SPURIOUS_OUT to a new or empty folder (or unset it to use out/)`);
  }
  const removed: string[] = [];
  for (const rel of manifest?.files ?? []) {
    const full = path.resolve(dir, rel);
    // A manifest entry may only name a file inside the folder.
    if (path.relative(dir, full).startsWith("..") || path.isAbsolute(rel)) throw new Error(`${path.join(dir, MANIFEST)} lists ${rel}, outside ${dir}; remove the manifest and clear the folder by hand`);
    const f = fs.statSync(full, { throwIfNoEntry: false });
    if (!f?.isFile()) continue;
    fs.rmSync(full);
    removed.push(rel);
    for (let d = path.dirname(full); d !== dir && d.startsWith(dir); d = path.dirname(d)) {
      if (fs.readdirSync(d).length > 0) break;
      fs.rmdirSync(d);
    }
  }
  fs.mkdirSync(dir, { recursive: true });
  // What is left is not ours, except in the default out/ met without a manifest (made by an older
  // npm start): its files are adopted, to be cleared next time.
  const foreign = new Set(manifest || !isDefault ? listFiles(dir).filter((f) => f !== MANIFEST) : []);
  // Even a start killed midway leaves its folder marked as ours, with all it may write listed.
  writeManifest(dir, foreign, [...planned, ...(manifest?.files ?? [])]);
  return { dir, foreign, removed };
}

/**
 * Record as written by npm start every file now in the folder and every `alsoPlanned` one (written
 * later, or never), except the foreign ones. The write is atomic: a kill leaves the old manifest or the new.
 */
export function writeManifest(dir: string, foreign: Set<string>, alsoPlanned: string[] = []): void {
  const files = [...new Set([...listFiles(dir), ...alsoPlanned])].filter((f) => f !== MANIFEST && !foreign.has(f)).sort();
  const m: Manifest = { writtenBy: "npm start", files };
  writeFileAtomic(path.join(dir, MANIFEST), JSON.stringify(m, null, 1) + "\n");
}

/**
 * Every file a start will write, relative to the output folder: each notebook's report and
 * index.html, the shared plotly.js, each registered figure (<id>.html, .png), and what the notebooks
 * save under a literal path (saveFigure: .html and .png; saveTable: .csv).
 */
export function plannedFiles(notebooks: string[]): string[] {
  const files = ["index.html", "plotly.js"];
  for (const nb of notebooks) {
    files.push(`${path.basename(nb, ".ipynb")}.html`);
    const cells: { source: string | string[] }[] = JSON.parse(fs.readFileSync(nb, "utf8")).cells ?? [];
    const code = cells.map(cellText).join("\n");
    for (const m of code.matchAll(/\bsave(Figure|Table)\([^;]*?\bpath:\s*"([^"]+)"/g)) {
      const base = m[2].replace(/\.(html|png|csv)$/, "");
      files.push(...(m[1] === "Figure" ? [`${base}.html`, `${base}.png`] : [`${base}.csv`]));
    }
  }
  for (const f of allFigures()) files.push(`${f.id}.html`, `${f.id}.png`);
  return [...new Set(files.map((f) => path.normalize(f)))].sort();
}
