/**
 * npm run sweep -- <plan | 'plan={knobs}' | notebook | specs.json> [...] [--workers N] [--scale S] [--world N]
 * A notebook means every run its plans hold (src/lab/registry.ts); 'plan={"gamma":[0.7]}' is a plan
 * with a cell's knobs (the command a notebook cell prints for runs it will not compute itself).
 * Runs independent experiments in parallel processes (one per core by default), skipping stored
 * results. Each run is its own `npm run experiment` process (so a crash stays in that run), with
 * its log in logs/sweep/<run>.log; the sweep shows combined progress and, at the end, which runs
 * failed (the others are kept). Interrupt it and start it again: finished runs are skipped and
 * unfinished ones resume.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { resolveSpec, runName, runPath, SCALES, storedRun, type Scale } from "../lab/experiments";
import { lockHeld, readJson, takeNext, tryClaim } from "../util/store";
import { checkpointPath, ROOT } from "../util/paths";
import { labelsPath } from "../rl/datasets";
import { isPlanName, plan, PLANS, planNotInWorld, planWorlds, type PlanName, type Spec } from "../lab/plans";
import { NOTEBOOKS } from "../lab/registry";
import { parseFlags, runMain, UsageError } from "./args";
import { WORLD_FLAG, worldFlag } from "./experiment-args";
import type { World } from "../world/worlds";
import { shipsFamily } from "../world/families-v2";

function specsFrom(arg: string, scale: Scale, world: World): Spec[] {
  return planSpecs(arg, scale, world).map((s) => ({ world, ...s }));
}

/** A plan run in other worlds only (planWorlds): named on its own it is an error; within a notebook it is left out. */
function planInWorld(name: PlanName, world: World, named: boolean): boolean {
  const why = planNotInWorld(name, world);
  if (!why) return true;
  if (named) throw new UsageError(`${why}; no notebook shows its runs in world ${world}: in a sweep, run it with --world ${planWorlds(name)![0]}, or list specs in a .json file to run them elsewhere`);
  console.error(`[sweep] left out: ${why}`);
  return false;
}

function planSpecs(arg: string, scale: Scale, world: World): Spec[] {
  const withKnobs = /^([a-z0-9-]+)=(\{.*\})$/s.exec(arg);
  if (withKnobs && isPlanName(withKnobs[1])) {
    planInWorld(withKnobs[1], world, true);
    let knobs: object;
    try {
      knobs = JSON.parse(withKnobs[2]);
    } catch (e) {
      throw new UsageError(`the knobs of ${withKnobs[1]} are not JSON (${(e as Error).message}): ${withKnobs[2]}`);
    }
    return plan(withKnobs[1], scale, knobs);
  }
  if (isPlanName(arg)) return planInWorld(arg, world, true) ? plan(arg, scale) : [];
  const nb = NOTEBOOKS.find((n) => n.id === path.basename(arg).replace(/\.ipynb$/, "") && n.plans.length > 0);
  if (nb) return nb.plans.filter((p) => planInWorld(p, world, false)).flatMap((p) => plan(p, scale));
  if (arg.endsWith(".json")) {
    if (!fs.existsSync(arg)) throw new UsageError(`spec file ${arg} does not exist`);
    const list = readJson(arg, "fix the file: it must hold a JSON array of specs");
    if (!Array.isArray(list)) throw new UsageError(`${arg} must hold a JSON array of specs`);
    return list.map((s: Spec, i) => {
      if (s === null || typeof s !== "object") throw new UsageError(`${arg}: entry ${i} is ${JSON.stringify(s)}, not a spec object like {"family": "qwen-math-7b", "reward": "math"}`);
      return { scale, ...s };
    });
  }
  throw new UsageError(`"${arg}" is not a plan (${PLANS.join(", ")}), a plan with knobs ('gamma={"gamma":[0.7]}'), a notebook (${NOTEBOOKS.filter((n) => n.plans.length).map((n) => n.id).join(", ")}) or a .json list of specs`);
}


function argsOf(s: Spec): string[] {
  const a = ["--family", s.family, "--reward", s.reward, "--variant", s.variant ?? "gt", "--seed", String(s.seed ?? 0), "--scale", s.scale ?? "default", "--world", String(s.world ?? 1), ...(s.fresh ? ["--fresh"] : []), "--json"];
  for (const [k, v] of Object.entries(s.overrides ?? {})) a.push("--set", `${k}=${v}`);
  return a;
}

runMain(async () => {
  const argv = process.argv.slice(2);
  const positional = argv.filter((a, i) => !a.startsWith("--") && !(i > 0 && ["--workers", "--scale", "--world"].includes(argv[i - 1])));
  const flags = argv.filter((a) => !positional.includes(a));
  const f = parseFlags(flags, {
    workers: { type: "int", help: "parallel processes", default: Math.max(1, os.cpus().length) },
    scale: { type: "string", help: "scale of plan runs", default: "default", choices: SCALES },
    "dry-run": { type: "boolean", help: "list the runs and whether they are stored, compute nothing" },
    world: { ...WORLD_FLAG, help: `${WORLD_FLAG.help} (a spec in a .json list may name its own)` },
  }, "usage: npm run sweep -- <plan|notebook|specs.json> [...] [--workers N] [--scale S] [--world N]");
  if (positional.length === 0) throw new UsageError(`name a plan (${PLANS.join(", ")}), a notebook, or a specs .json`);
  const workers = f.workers as number;
  if (workers < 1) throw new UsageError("--workers must be >= 1");
  // Resolve (and so validate) every spec before starting anything; drop duplicates across plans.
  const seen = new Set<string>();
  const jobs: { spec: Spec; name: string }[] = [];
  const uncalibrated = new Set<string>();
  for (const arg of positional) for (const spec of specsFrom(arg, f.scale as Scale, worldFlag(f))) {
    let resolved;
    try {
      resolved = resolveSpec(spec); // an unknown family or reward is named here, before its checkpoint is looked for
    } catch (e) {
      throw new Error(`${arg}: ${(e as Error).message}`);
    }
    // A plan or notebook names every family; a world that has not calibrated one has no Table 1 model
    // of it to start from (none is shipped), so its runs are left out (said below) rather than failing the sweep.
    if (!shipsFamily(resolved.world, resolved.family)) {
      uncalibrated.add(`${resolved.family} (world ${resolved.world})`);
      continue;
    }
    const ck = checkpointPath(resolved.family, resolved.world);
    if (!fs.existsSync(ck)) throw new Error(`family ${resolved.family} has no checkpoint in world ${resolved.world} (${ck}): npm run pretrain -- --family ${resolved.family}${resolved.world === 1 ? "" : ` --world ${resolved.world}`}`);
    const name = runName(resolved);
    if (!seen.has(name)) {
      seen.add(name);
      jobs.push({ spec: { ...spec, world: resolved.world }, name });
    }
  }
  if (uncalibrated.size) console.error(`[sweep] left out, not calibrated in their world (src/world/families-v2.ts): ${[...uncalibrated].join(", ")}`);
  const done = new Set(jobs.filter((j) => storedRun(j.name)).map((j) => j.name));
  const todo = jobs.filter((j) => !done.has(j.name));
  console.error(`[sweep] ${jobs.length} runs, ${jobs.length - todo.length} stored, ${todo.length} to compute with ${workers} worker(s)`);
  if (f["dry-run"]) {
    for (const j of jobs) console.log(`${done.has(j.name) ? "stored " : "missing"} ${j.name}`);
    return;
  }
  const logDir = path.join(ROOT, "logs", "sweep");
  fs.mkdirSync(logDir, { recursive: true });
  const spawnTsx = (script: string, args: string[], log: string) => new Promise<number | null>((resolve) => {
    const out = fs.openSync(log, "a");
    const child = spawn(process.execPath, [path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), path.join(ROOT, "src", "cli", script), ...args], { stdio: ["ignore", out, out], env: process.env });
    child.on("close", (code) => { fs.closeSync(out); resolve(code); });
    child.on("error", () => { fs.closeSync(out); resolve(null); });
  });
  // Majority-vote labels first, one process per family, so parallel runs never label twice.
  // One labelling per (world, family): "qwen-math-7b" in world 1, "w2-qwen-math-7b" in world 2.
  const labelled = new Map(todo.filter((j) => (j.spec.variant ?? "gt") !== "gt").map((j) => {
    const world = j.spec.world ?? 1;
    return [`${world === 1 ? "" : `w${world}-`}${j.spec.family}`, { fam: j.spec.family, world }] as const;
  }));
  const needLabels = [...labelled.keys()].filter((k) => !fs.existsSync(labelsPath(labelled.get(k)!.fam, labelled.get(k)!.world)));
  for (let i = 0; i < needLabels.length; i += workers) {
    const batch = needLabels.slice(i, i + workers);
    console.error(`[sweep] labelling train prompts by majority vote: ${batch.join(", ")}`);
    const codes = await Promise.all(batch.map((k) => spawnTsx("label.ts", ["--family", labelled.get(k)!.fam, "--world", String(labelled.get(k)!.world)], path.join(logDir, `labels-${k}.log`))));
    codes.forEach((c, k) => { if (c !== 0) console.error(`[sweep] FAILED labelling ${batch[k]} (log logs/sweep/labels-${batch[k]}.log); its mv/incorrect/oneshot runs will fail`); });
  }
  const failed: { name: string; log: string; code: number | null }[] = [];
  // Jobs not yet started. A second sweep over the same list (one per core) shares it: a run another
  // sweep has claimed, or another process holds the lock of, is deferred, and one finished meanwhile is
  // skipped; a worker waits on a held run only when nothing else is left. The claim is taken here,
  // before the child starts (the child's own lock comes seconds later, after its backend loads).
  let finished = 0;
  const queue = [...todo];
  const claimOf = (name: string) => `${runPath(name)}.sweep.lock`;
  const stored = (name: string) => {
    try {
      return storedRun(name) !== null;
    } catch {
      return false; // a damaged file: the child run names the problem in its log
    }
  };
  const take = (): { job: (typeof todo)[number]; release: () => void } | undefined => {
    for (let tries = 0; ; tries++) {
      const { job, skipped } = takeNext(queue, (j) => stored(j.name), (j) => lockHeld(claimOf(j.name)) || lockHeld(`${runPath(j.name)}.lock`));
      for (const j of skipped) console.error(`[sweep] stored by another process meanwhile: ${j.name}`);
      finished += skipped.length;
      if (!job) return undefined;
      const release = tryClaim(claimOf(job.name));
      if (release) return { job, release };
      // Claimed by another sweep (between the look and the claim, or every job left is): try the others
      // once each, then wait on this one (its child waits on the run's lock, and skips it once stored).
      if (tries >= queue.length) return { job, release: () => {} };
      queue.push(job);
    }
  };
  const running = new Set<string>();
  const t0 = Date.now();
  const status = () => {
    const sec = (Date.now() - t0) / 1000;
    const rate = finished / Math.max(sec, 1);
    const left = rate > 0 ? ((todo.length - finished) / rate / 60).toFixed(0) + " min left" : "?";
    console.error(`[sweep] ${finished}/${todo.length} done, ${failed.length} failed, running: ${[...running].join(", ") || "-"} | ${(sec / 60).toFixed(1)} min elapsed, ${left}`);
  };
  const timer = setInterval(status, 30_000);
  const worker = async () => {
    for (let next = take(); next; next = take()) {
      const { job, release } = next;
      running.add(job.name);
      const log = path.join(logDir, `${job.name}.log`);
      let code = await spawnTsx("experiment.ts", argsOf(job.spec), log);
      release();
      running.delete(job.name);
      finished++;
      // The worker gets the spec as flags: a field lost on the way would store (or find) another run.
      if (code === 0 && !storedRun(job.name)) {
        fs.appendFileSync(log, `\n[sweep] the worker finished but ${job.name} is not stored: it ran another spec than the one planned (a spec field the experiment CLI does not pass?)\n`);
        code = -1;
      }
      if (code !== 0) failed.push({ name: job.name, log, code });
      console.error(`[sweep] ${code === 0 ? "done  " : "FAILED"} ${job.name}${code === 0 ? "" : ` (exit ${code}; log ${path.relative(process.cwd(), log)})`}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, todo.length) }, worker));
  clearInterval(timer);
  status();
  if (failed.length) {
    console.error(`[sweep] ${failed.length} run(s) failed:`);
    for (const x of failed) console.error(`  ${x.name}: exit ${x.code}, see ${path.relative(process.cwd(), x.log)}`);
    process.exitCode = 1;
  }
});
