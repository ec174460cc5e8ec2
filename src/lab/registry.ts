/**
 * The one registry of notebooks -> plans -> figures. Read by the notebooks (a figure is saved only
 * under a registered id), `npm run sweep -- <notebook>` (the union of its plans), `npm start` (the
 * notebooks it runs and the figures it must find in out/ afterwards) and README's tables (tested
 * against `readmeTables()`). A new notebook is one entry here; its plans live in src/lab/plans.ts.
 */
import { FAMILY_IDS, type FamilyId } from "../world/families";
import { familiesOfWorld } from "../world/families-v2";
import type { World } from "../world/worlds";
import { PLANS, planNotInWorld, type PlanName } from "./plans";

export interface FigureEntry {
  /** The saved path under out/ (out/<id>.html and .png); also the id a cell passes to figure(). */
  id: string;
  /** A copy of its PNG shown in README's results table. */
  readme?: { image: string; alt: string; what: string };
  /** The one family it shows: not drawn in a world where that family is not calibrated. */
  family?: FamilyId;
  /** The plan it is drawn from when that plan is a study of some worlds only (planWorlds): not drawn in the others. */
  plan?: PlanName;
}

export interface NotebookEntry {
  /** The file name without .ipynb. */
  id: string;
  /** The paper's figures and tables it reproduces (README's table). */
  paper: string;
  /** The plans its cells read; `npm run sweep -- <id>` computes all of their default runs. */
  plans: PlanName[];
  /** README's plan column when it has no plan, or a remark after the plans. */
  planNote?: string;
  figures: FigureEntry[];
}

const CODE_FAMILIES = ["qwen-math-7b", "qwen-math-1.5b", "qwen-7b"] as const;
const ids = (...xs: string[]): FigureEntry[] => xs.map((id) => ({ id }));
/** A figure per family: `<prefix><family>`. */
const perFamily = (prefix: string, families: readonly FamilyId[]): FigureEntry[] => families.map((family) => ({ id: `${prefix}${family}`, family }));
/** Figures drawn from one plan (whose worlds then decide where they are drawn). */
const fromPlan = (plan: PlanName, fs: FigureEntry[]): FigureEntry[] => fs.map((f) => ({ ...f, plan }));

export const NOTEBOOKS: NotebookEntry[] = [
  { id: "00-environment", paper: "", plans: [], figures: ids("00-environment/random-walk") },
  {
    id: "01-base-models", paper: "Table 1, Fig. 5", plans: [], planNote: "(evaluations of the shipped checkpoints)",
    figures: [{ id: "01-base-models/table1", readme: { image: "docs/figures/table1.png", alt: "Table 1 analog", what: "Table 1, Fig. 5" } }],
  },
  {
    id: "02-rewards-across-families", paper: "Fig. 1, Figs. 2–4; ground truth over 200 steps (world 2)", plans: ["rewards", "gt-200", "random-200"],
    figures: [
      { id: "02-rewards/fig1-gains", readme: { image: "docs/figures/fig1-gains.png", alt: "Fig. 1 analog", what: "Fig. 1, Figs. 2–4" } },
      ...perFamily("02-rewards/curves-", FAMILY_IDS),
      ...fromPlan("gt-200", [
        ...perFamily("02-rewards/gt-200-", ["qwen-math-7b", "llama-8b-instruct"]).map((f) => (f.family === "qwen-math-7b" ? { ...f, readme: { image: "docs/figures/gt-200-qwen-math-7b.png", alt: "Ground truth over 200 steps (world 2)", what: "world 2, pre-registered: ground truth over 200 steps by learning rate, beside the paper's gain" } } : f)),
        { id: "02-rewards/gt-200-distance" },
      ]),
      ...fromPlan("random-200", ids("02-rewards/random-200")),
    ],
  },
  {
    id: "03-code-reasoning", paper: "Fig. 6, Fig. 7, Table 2", plans: ["code-reasoning"],
    figures: [
      ...perFamily("03-code/fig6-code-frequency-", CODE_FAMILIES).map((f) => (f.family === "qwen-math-7b" ? { ...f, readme: { image: "docs/figures/fig6-code-frequency.png", alt: "Fig. 6 analog", what: "Fig. 6, Fig. 7, Table 2" } } : f)),
      ...perFamily("03-code/fig6-rollout-code-", CODE_FAMILIES),
      ...perFamily("03-code/fig7-transitions-", CODE_FAMILIES),
    ],
  },
  {
    id: "04-interventions", paper: "Table 3, Fig. 8, Fig. 9", plans: ["python-reward", "no-python"],
    figures: [
      { id: "04-interventions/fig8-python-reward-code", readme: { image: "docs/figures/fig8-python-code.png", alt: "Fig. 8 analog", what: "Table 3, Fig. 8, Fig. 9" } },
      ...ids("04-interventions/fig8-python-reward-accuracy"),
      ...perFamily("04-interventions/fig9-compound-", ["qwen-math-7b", "olmo-7b-sft"]),
    ],
  },
  {
    id: "05-random-rewards-and-clipping", paper: "Figs. 10–13, and a pre-registered investigation", plans: ["gamma", "clip-ablations", "batch-shape"],
    planNote: "(`batch-shape` holds the pre-registered `investigations`: question and prediction in `data/investigations/README.md`, committed before the runs)",
    figures: [
      { id: "05-clipping/fig10-gamma", readme: { image: "docs/figures/fig10-gamma.png", alt: "Fig. 10 analog", what: "Figs. 10–13" } },
      { id: "05-clipping/fig11-accuracy", readme: { image: "docs/figures/fig11-clipping.png", alt: "Fig. 11 analog", what: "Fig. 11: the clip removed three ways" } },
      ...ids("05-clipping/fig11-code", "05-clipping/fig12-token-prob", "05-clipping/clip-low", "05-clipping/clip-high", "05-clipping/first-token-p-code", "05-clipping/rollout-code", "05-clipping/fig13-seeds-clip", "05-clipping/fig13-seeds-noclip"),
      ...fromPlan("batch-shape", [
        { id: "05-clipping/investigation-batch-accuracy", readme: { image: "docs/figures/investigation-batch-accuracy.png", alt: "Investigation: batch shape", what: "pre-registered investigation: random rewards by batch shape, with and without the clip" } },
        ...ids("05-clipping/investigation-batch-p-code", "05-clipping/investigation-batch-clip"),
      ]),
    ],
  },
  {
    id: "06-when-spurious-rewards-help", paper: "beyond the paper: a pre-registered regime study of random rewards (drift vs diffusion)", plans: ["regime-lr", "regime-sgd-lr", "regime-shape", "regime-clip", "regime-loss", "regime-optimizer", "regime-confirm", "regime-control"],
    planNote: "(question, predictions and decision rules in `data/investigations/README.md`, committed before the runs)",
    figures: fromPlan("regime-lr", [
      { id: "06-regime/phase-lr", readme: { image: "docs/figures/regime-phase-lr.png", alt: "Regime study: phase diagram", what: "regime study, stage 1: random reward by learning rate, with and without the clip" } },
      ...ids("06-regime/p-code-drift", "06-regime/param-distance", "06-regime/token-prob", "06-regime/clip-buckets"),
      { id: "06-regime/phase-stage2", readme: { image: "docs/figures/regime-phase-stage2.png", alt: "Regime study: stage 2", what: "regime study, stage 2: one axis at a time around the centre, with and without the clip" } },
      ...ids("06-regime/p-code-stage2", "06-regime/control"),
      { id: "06-regime/rule-b-cell", readme: { image: "docs/figures/regime-rule-b-cell.png", alt: "Regime study: rule B's cell", what: "regime study, rule B: the chosen cell, or the closest when none qualifies, seed by seed" } },
    ]),
  },
  {
    id: "07-beyond-the-paper", paper: "beyond the paper: a contaminated family against the fresh split, and other policy-gradient algorithms under a random reward (world 2)", plans: ["contamination", "contamination-200", "algorithms"],
    planNote: "(pre-registered: v2-contamination, v2-algorithms in `data/investigations/README.md`, committed before the runs)",
    figures: [
      ...fromPlan("contamination", [{ id: "07-beyond/test-vs-fresh", readme: { image: "docs/figures/beyond-test-vs-fresh.png", alt: "Beyond the paper: contamination", what: "beyond the paper: gains on test (contaminated) and fresh (in no corpus), clean and contaminated toy Qwen2.5-Math-7B" } }]),
      ...fromPlan("contamination-200", ids("07-beyond/test-vs-fresh-200")),
      ...fromPlan("algorithms", [{ id: "07-beyond/algorithms", readme: { image: "docs/figures/beyond-algorithms.png", alt: "Beyond the paper: algorithms", what: "beyond the paper: the random reward under REINFORCE, RLOO, Dr. GRPO, clip-higher and GRPO" } }]),
    ],
  },
];

export function findNotebook(id: string): NotebookEntry {
  const nb = NOTEBOOKS.find((n) => n.id === id);
  if (!nb) throw new Error(`unknown notebook "${id}"; registered in src/lab/registry.ts: ${NOTEBOOKS.map((n) => n.id).join(", ")}`);
  return nb;
}

export function allFigures(): (FigureEntry & { notebook: string })[] {
  return NOTEBOOKS.flatMap((n) => n.figures.map((f) => ({ ...f, notebook: n.id })));
}

export function findFigure(id: string): FigureEntry & { notebook: string } {
  const f = allFigures().find((x) => x.id === id);
  if (!f) throw new Error(`figure "${id}" is not registered: add it to its notebook's figures in src/lab/registry.ts (README's table and npm start read that list)`);
  return f;
}

/**
 * Whether a figure is drawn from a world's runs: null when it is, else the reason it is not (a
 * study run in world 1 only; a family not calibrated in that world). Cells print the reason, and
 * npm start expects exactly the figures this allows.
 */
export function figureNotInWorld(f: FigureEntry, world: World): string | null {
  const elsewhere = f.plan ? planNotInWorld(f.plan, world) : null;
  if (elsewhere) return elsewhere;
  if (f.family && !familiesOfWorld(world).includes(f.family)) return `${f.family} is not calibrated in world ${world} (no Table 1 model there: src/world/families-v2.ts)`;
  return null;
}

/** Registry consistency: unique ids, every plan known. Returns the problems found (none: []). */
export function registryProblems(): string[] {
  const problems: string[] = [];
  const figs = allFigures().map((f) => f.id);
  for (const id of new Set(figs)) if (figs.filter((x) => x === id).length > 1) problems.push(`figure ${id} is registered twice`);
  for (const n of NOTEBOOKS) for (const p of n.plans) if (!PLANS.includes(p)) problems.push(`notebook ${n.id} reads unknown plan ${p}`);
  for (const n of NOTEBOOKS) for (const f of n.figures) if (f.plan && !n.plans.includes(f.plan)) problems.push(`figure ${f.id} is drawn from plan ${f.plan}, which its notebook ${n.id} does not read`);
  return problems;
}

/** README's two tables (results at a glance; notebooks and their plans), generated from the registry. */
export function readmeTables(): { figures: string; notebooks: string } {
  const figRows = NOTEBOOKS.flatMap((n) => n.figures.filter((f) => f.readme).map((f) => `| ![${f.readme!.alt}](${f.readme!.image}) | \`${n.id}\` (${f.readme!.what}) |`));
  const nbRows = NOTEBOOKS.filter((n) => n.paper).map((n) => {
    const plans = [n.plans.map((p) => `\`${p}\``).join(", "), n.planNote ?? ""].filter(Boolean).join(" ");
    return `| \`${n.id}\` | ${n.paper} | ${plans} |`;
  });
  return {
    figures: ["| figure | notebook |", "|---|---|", ...figRows].join("\n"),
    notebooks: ["| notebook | paper | plans (`npm run sweep -- <notebook or plan>`) |", "|---|---|---|", ...nbRows].join("\n"),
  };
}
