// The registry of notebooks -> plans -> figures against what it describes: the notebooks folder,
// the figure ids the notebooks' cells save, README's tables, and `npm run sweep -- <notebook>`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "../src/util/paths";
import { figureNotInWorld, findFigure, NOTEBOOKS, readmeTables, registryProblems } from "../src/lab/registry";
import { FAMILY_CORPORA_V2, familiesOfWorld, shipsFamily } from "../src/world/families-v2";
import { FAMILY_IDS } from "../src/world/families";
import { notebookWorld } from "../scripts/notebooks";

interface Cell { cell_type: string; source: string[] | string }
const cellsOf = (id: string): Cell[] => JSON.parse(fs.readFileSync(path.join(ROOT, "notebooks", `${id}.ipynb`), "utf8")).cells;
const text = (c: Cell) => (Array.isArray(c.source) ? c.source.join("") : c.source);
/** Figure ids a cell saves: figure("id", ...) or saveFigure(..., { path: "id" }). */
const savedIds = (src: string) => [...src.matchAll(/\bfigure\(\s*"([^"]+)"|saveFigure\([^;]*?path:\s*"([^"]+)"/g)].map((m) => m[1] ?? m[2]);

test("the registry is consistent: unique figure ids, known plans", () => {
  assert.deepEqual(registryProblems(), []);
  assert.throws(() => findFigure("05-clipping/fig99"), /figure "05-clipping\/fig99" is not registered: add it to its notebook's figures in src\/lab\/registry.ts/);
});

test("notebooks/ holds exactly the registered notebooks", () => {
  const files = fs.readdirSync(path.join(ROOT, "notebooks")).filter((f) => f.endsWith(".ipynb")).map((f) => f.replace(/\.ipynb$/, "")).sort();
  assert.deepEqual(files, NOTEBOOKS.map((n) => n.id).sort());
});

test("each notebook saves exactly its registered figures, one figure per cell", () => {
  for (const nb of NOTEBOOKS) {
    const cells = cellsOf(nb.id).filter((c) => c.cell_type === "code").map(text);
    const perCell = cells.map(savedIds);
    for (const [i, ids] of perCell.entries()) assert.ok(ids.length <= 1, `${nb.id} code cell ${i + 1} draws ${ids.length} figures: ${ids.join(", ")}`);
    for (const [i, src] of cells.entries()) assert.ok(!/\bfor\s*\(.*\)\s*\{?[^]*\bfigure\(/.test(src), `${nb.id} code cell ${i + 1} draws figures in a loop`);
    assert.deepEqual(perCell.flat().sort(), nb.figures.map((f) => f.id).sort(), `${nb.id}: figures saved by its cells vs src/lab/registry.ts`);
  }
});

test("README's figure and notebook tables are the registry's (src/lab/registry.ts readmeTables)", () => {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const t = readmeTables();
  assert.ok(readme.includes(t.figures), `README's results table differs from the registry; it should read:\n${t.figures}`);
  assert.ok(readme.includes(t.notebooks), `README's notebook table differs from the registry; it should read:\n${t.notebooks}`);
  for (const f of NOTEBOOKS.flatMap((n) => n.figures)) if (f.readme) assert.ok(fs.existsSync(path.join(ROOT, f.readme.image)), `${f.readme.image} (a copy of out/${f.id}.png) is missing`);
});

test("npm run sweep -- 04-interventions lists every run the notebook shows, the originals of Fig. 9 too", () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, "src/cli/sweep.ts"), "04-interventions", "--dry-run"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  // python reward on 6 families; format, incorrect and their two no-python compounds on 2 families
  assert.equal(lines.length, 6 + 4 * 2);
  assert.equal(lines.filter((l) => /-box_only_format-gt-s0-/.test(l)).length, 2);
  assert.equal(lines.filter((l) => /-math-incorrect-s0-/.test(l)).length, 2);
  const bad = spawnSync(process.execPath, [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, "src/cli/sweep.ts"), 'gamma={"gamma":[2]}', "--dry-run"], { encoding: "utf8" });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /knob "gamma" must be a non-empty list of distinct numbers in \[0, 1\]; got \[2\]/);
});

test("a figure is drawn in a world only from runs that world has: its family calibrated there, a study in its own world", () => {
  // Every family is calibrated in both worlds since session 9; a calibration pass (calibrated: false)
  // is what a family is while its row is being fitted, so mark one as such for the length of the check
  // (synchronously, restored in finally: no other test of this file runs meanwhile).
  assert.deepEqual(familiesOfWorld(2), [...FAMILY_IDS]);
  assert.equal(figureNotInWorld(findFigure("02-rewards/curves-olmo-7b-sft"), 2), null);
  const spec = FAMILY_CORPORA_V2["olmo-7b-sft"];
  spec.calibrated = false;
  try {
    assert.ok(!shipsFamily(2, "olmo-7b-sft") && shipsFamily(1, "olmo-7b-sft"));
    assert.match(figureNotInWorld(findFigure("02-rewards/curves-olmo-7b-sft"), 2) ?? "", /olmo-7b-sft is not calibrated in world 2/);
    assert.equal(figureNotInWorld(findFigure("02-rewards/curves-olmo-7b-sft"), 1), null);
  } finally {
    spec.calibrated = true;
  }
  assert.equal(figureNotInWorld(findFigure("02-rewards/curves-qwen-math-7b"), 2), null);
  assert.equal(figureNotInWorld(findFigure("02-rewards/fig1-gains"), 2), null);
  // The regime study and the batch-shape investigation were run in world 1 only; the 200-step curves in world 2.
  assert.match(figureNotInWorld(findFigure("06-regime/phase-lr"), 2) ?? "", /world 1 only \(set WORLD = 1/);
  assert.match(figureNotInWorld(findFigure("05-clipping/investigation-batch-accuracy"), 2) ?? "", /world 1 only/);
  assert.equal(figureNotInWorld(findFigure("05-clipping/investigation-batch-accuracy"), 1), null);
  assert.match(figureNotInWorld(findFigure("02-rewards/gt-200-qwen-math-7b"), 1) ?? "", /world 2 only \(set WORLD = 2/);
  assert.equal(figureNotInWorld(findFigure("02-rewards/random-200"), 2), null);
});

test("a notebook's world is its settings cell's WORLD (npm start expects that world's figures)", () => {
  assert.equal(notebookWorld(path.join(ROOT, "notebooks", "02-rewards-across-families.ipynb")), 2);
  assert.equal(notebookWorld(path.join(ROOT, "notebooks", "06-when-spurious-rewards-help.ipynb")), 1);
  assert.equal(notebookWorld(path.join(ROOT, "notebooks", "00-environment.ipynb")), 1); // no setting: world 1
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nbworld-"));
  const bad = path.join(dir, "bad.ipynb");
  fs.writeFileSync(bad, JSON.stringify({ cells: [{ cell_type: "code", source: ["const WORLD = 7;\n"] }] }));
  assert.throws(() => notebookWorld(bad), /bad\.ipynb's WORLD setting: unknown world version 7/);
  fs.writeFileSync(bad, JSON.stringify({ cells: [{ cell_type: "code", source: ["const WORLD: World = 2 as const;\n"] }] }));
  assert.equal(notebookWorld(bad), 2);
  fs.writeFileSync(bad, JSON.stringify({ cells: [{ cell_type: "code", source: ["const RECOMPUTE = false;\n"] }, { cell_type: "code", source: ["const mode = notebookMode(false, { world: W });\n"] }] }));
  assert.throws(() => notebookWorld(bad), /pass a world to notebookMode, but its first code cell has no "const WORLD = <n>;" line/);
  fs.writeFileSync(bad, "{ not json");
  assert.throws(() => notebookWorld(bad), /bad\.ipynb: not a readable notebook/);
});

test("npm run sweep -- <notebook> --world 2 runs every family world 2 has calibrated (all six), and leaves out studies of the other world", () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, "src/cli/sweep.ts"), "02-rewards-across-families", "--world", "2", "--dry-run"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const families = familiesOfWorld(2);
  const lines = r.stdout.trim().split("\n").filter((l) => l.includes("-default-")); // Fig. 1's runs (gt-200's are --scale full)
  assert.equal(lines.length, families.length * 10); // gt and random x 3 seeds, four rewards x 1
  for (const l of lines) assert.ok(families.some((f) => l.includes(` w2-${f}-`)), l);
  assert.equal(families.length, FAMILY_IDS.length);
  assert.doesNotMatch(r.stderr, /left out, not calibrated/);
  // in world 1 the notebook's world-2 studies are left out, and a world-1 study named in world 2 is refused
  const w1 = spawnSync(process.execPath, [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, "src/cli/sweep.ts"), "02-rewards-across-families", "--dry-run"], { encoding: "utf8" });
  assert.equal(w1.status, 0, w1.stderr);
  assert.match(w1.stderr, /left out: plan gt-200 is a study of world 2 only/);
  assert.ok(w1.stdout.trim().split("\n").every((l) => l.includes("-default-")), "no 200-step run in world 1");
  const bad = spawnSync(process.execPath, [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, "src/cli/sweep.ts"), "regime-lr", "--world", "2", "--dry-run"], { encoding: "utf8" });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /plan regime-lr is a study of world 1 only .*run it with --world 1/);
});
