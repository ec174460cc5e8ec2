// The store's lock, the output folder's ownership, strict flags and one canonical name per reward
// and seed (issues 14 and 15).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MANIFEST, plannedFiles, prepareOutFolder, writeManifest } from "../scripts/out-folder";
import { listNotebooks } from "../scripts/notebooks";
import { allFigures } from "../src/lab/registry";
import { parseFlags } from "../src/cli/args";
import { resolveSpec, runName } from "../src/lab/experiments";
import { ROOT } from "../src/util/paths";
import { PLANS, plan } from "../src/lab/plans";
import { canonicalReward } from "../src/rl/rewards";
import { acquireLock, breakLock, lockHeld, removeDebris, takeNext, tryClaim, writeFileAtomic } from "../src/util/store";

const tsx = path.join(ROOT, "node_modules/tsx/dist/cli.mjs");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "spurious-store-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A live process that is not this one, to hold a lock; the caller kills it. */
function sleeper() {
  return spawn(process.execPath, ["-e", "setInterval(() => {}, 1e6)"], { stdio: "ignore" });
}

test("14.3: a lock held by a live process refuses a second taker with a message naming the holder; a waiter gets it once the holder is dead", async () => {
  const lock = path.join(dir, "run.json.lock");
  const holder = sleeper();
  try {
    fs.writeFileSync(lock, JSON.stringify({ pid: holder.pid, host: os.hostname() }));
    await assert.rejects(acquireLock(lock, { wait: false, quiet: true }), new RegExp(`run\\.json\\.lock is held by pid ${holder.pid} on ${os.hostname()}; wait for it to finish`));
    assert.deepEqual(removeDebris(dir, "run"), [], "a live holder's lock is not debris");
    const waiting = acquireLock(lock, { quiet: true, pollMs: 20 });
    const gone = new Promise((res) => holder.once("exit", res));
    holder.kill("SIGKILL");
    await gone;
    const release = await waiting;
    assert.equal(JSON.parse(fs.readFileSync(lock, "utf8")).pid, process.pid);
    await assert.rejects(acquireLock(lock, { wait: false, quiet: true }), new RegExp(`held by pid ${process.pid}`));
    release();
    assert.ok(!fs.existsSync(lock));
  } finally {
    holder.kill("SIGKILL");
  }
});

test("15: two breakers of one dead holder's lock: the late one leaves the lock the first one took", async () => {
  const lock = path.join(dir, "race.json.lock");
  const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
  const stale = JSON.stringify({ pid: dead, host: os.hostname() });
  fs.writeFileSync(lock, stale);
  // W1 and W2 both read the dead holder X; W1 breaks it and takes the lock (L1) ...
  const w2Saw = fs.readFileSync(lock, "utf8");
  const release = await acquireLock(lock, { quiet: true });
  const l1 = fs.readFileSync(lock, "utf8");
  assert.equal(JSON.parse(l1).pid, process.pid);
  // ... then W2, still acting on X, breaks: only X may go, so L1 stands
  breakLock(lock, w2Saw);
  assert.equal(fs.readFileSync(lock, "utf8"), l1);
  await assert.rejects(acquireLock(lock, { wait: false, quiet: true }), new RegExp(`held by pid ${process.pid}`));
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith("race.")), ["race.json.lock"], "nothing left aside");
  release();
  assert.ok(!fs.existsSync(lock));
});

test("6: debris of dead processes is removed, a live process's is kept, other runs' files are untouched; a broken lock is named", (t) => {
  const d = path.join(dir, "debris");
  const dead = spawnSync(process.execPath, ["-e", ""]).pid!; // exited: its pid is dead
  const live = process.pid;
  const files = [`r1.json`, `r1.json.tmp-${dead}-17`, `r1.state.ckpt.tmp-${dead}-18`, `r1.json.tmp-${live}-19`, `r1.json.lock.stale-${dead}`, `r10.json.tmp-${dead}-20`];
  for (const f of files) writeFileAtomic(path.join(d, f), "x");
  fs.writeFileSync(path.join(d, "r1.json.lock"), JSON.stringify({ pid: dead, host: os.hostname() }));
  fs.writeFileSync(path.join(d, "r2.json.lock"), "");
  const notes = t.mock.method(console, "error", () => {});
  const removed = removeDebris(d, "r1").map((f) => path.basename(f)).sort();
  assert.deepEqual(removeDebris(d, "r2").map((f) => path.basename(f)), ["r2.json.lock"]);
  assert.deepEqual(notes.mock.calls.map((c) => c.arguments[0]), [`[lock] breaking r1.json.lock: its holder, pid ${dead}, is dead`, "[lock] breaking r2.json.lock: its content is unreadable (a writer was killed)"]);
  notes.mock.restore();
  assert.deepEqual(removed, [`r1.json.lock`, `r1.json.lock.stale-${dead}`, `r1.json.tmp-${dead}-17`, `r1.state.ckpt.tmp-${dead}-18`]);
  assert.deepEqual(fs.readdirSync(d).sort(), [`r1.json`, `r1.json.tmp-${live}-19`, `r10.json.tmp-${dead}-20`]);
});

test("1: the output folder loses only what npm start listed; a folder that is not ours is refused", () => {
  const out = path.join(dir, "out");
  // a fresh folder becomes ours; what this start writes goes into the manifest
  let p = prepareOutFolder(out, false);
  fs.mkdirSync(path.join(out, "02-rewards"));
  fs.writeFileSync(path.join(out, "index.html"), "i");
  fs.writeFileSync(path.join(out, "02-rewards", "fig.png"), "f");
  writeManifest(out, p.foreign);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, MANIFEST), "utf8")).files, ["02-rewards/fig.png", "index.html"]);
  // a file the user puts there later is not ours: the next start keeps it
  fs.writeFileSync(path.join(out, "notes.txt"), "mine");
  p = prepareOutFolder(out, false);
  assert.deepEqual(p.removed.sort(), ["02-rewards/fig.png", "index.html"]);
  assert.deepEqual(fs.readdirSync(out).sort(), [MANIFEST, "notes.txt"]);
  writeManifest(out, p.foreign);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, MANIFEST), "utf8")).files, []);
  // a folder with files and no manifest is refused and left as it was: SPURIOUS_OUT=. names the checkout
  const foreign = path.join(dir, "thesis");
  fs.mkdirSync(foreign);
  fs.writeFileSync(path.join(foreign, "chapter1.tex"), "precious");
  assert.throws(() => prepareOutFolder(foreign, false), /refusing to write into .*thesis: it holds 1 file\(s\) and no \.spurious-out\.json/);
  assert.throws(() => prepareOutFolder(ROOT, false), /refusing to write into/);
  assert.ok(fs.existsSync(path.join(ROOT, "package.json")));
  // ... also through npm start itself, before any notebook runs
  const r = spawnSync(process.execPath, [tsx, path.join(ROOT, "scripts/start.ts")], { encoding: "utf8", env: { ...process.env, SPURIOUS_OUT: foreign }, timeout: 120_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /refusing to write into .*thesis/);
  assert.deepEqual(fs.readdirSync(foreign), ["chapter1.tex"]);
  assert.equal(fs.readFileSync(path.join(foreign, "chapter1.tex"), "utf8"), "precious");
});

test("1: a start killed midway leaves a manifest that already lists what it wrote, so the next start clears it", () => {
  const out = path.join(dir, "killed-out");
  const manifest = () => JSON.parse(fs.readFileSync(path.join(out, MANIFEST), "utf8")).files;
  // before any notebook runs, the manifest lists every planned file
  prepareOutFolder(out, false, ["index.html", "fig/a.html", "fig/a.png"]);
  assert.deepEqual(manifest(), ["fig/a.html", "fig/a.png", "index.html"]);
  fs.mkdirSync(path.join(out, "fig"));
  fs.writeFileSync(path.join(out, "fig", "a.html"), "stale figure");
  fs.writeFileSync(path.join(out, "index.html"), "i");
  // ... killed here (no final writeManifest); the user then adds a file of their own
  fs.writeFileSync(path.join(out, "notes.txt"), "mine");
  // figure a is renamed away: the next start no longer plans it, yet clears it
  const p = prepareOutFolder(out, false, ["index.html"]);
  assert.deepEqual(p.removed.sort(), ["fig/a.html", "index.html"]);
  assert.deepEqual(fs.readdirSync(out).sort(), [MANIFEST, "notes.txt"]);
  assert.deepEqual([...p.foreign], ["notes.txt"]);
  // what the last start listed stays listed until a start finishes and records what it wrote
  assert.deepEqual(manifest(), ["fig/a.html", "fig/a.png", "index.html"]);
  writeManifest(out, p.foreign);
  assert.deepEqual(manifest(), []);
  // a manifest write cut short by a kill leaves a temporary, which the next start removes
  const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
  fs.writeFileSync(path.join(out, `${MANIFEST}.tmp-${dead}-1`), "{");
  assert.deepEqual([...prepareOutFolder(out, false).foreign], ["notes.txt"]);
  assert.deepEqual(fs.readdirSync(out).sort(), [MANIFEST, "notes.txt"]);
});

test("1: a start plans its reports, index, plotly.js, every registered figure and the notebooks' saved tables", () => {
  const planned = plannedFiles(listNotebooks());
  for (const f of ["index.html", "plotly.js", "00-environment.html", "00-environment/random-walk.html", "00-environment/random-walk.png", "00-environment/random-walk.csv", "02-rewards/gains.csv"]) assert.ok(planned.includes(f), f);
  for (const f of allFigures()) assert.ok(planned.includes(`${f.id}.html`) && planned.includes(`${f.id}.png`), f.id);
  assert.ok(planned.every((f) => !path.isAbsolute(f) && !f.startsWith("..")));
});

test("5: boolean flags accept the bare flag, true and false, and refuse anything else", () => {
  const specs = { "dry-run": { type: "boolean" as const, help: "" } };
  assert.deepEqual(parseFlags(["--dry-run"], specs, "u"), { "dry-run": true });
  assert.deepEqual(parseFlags(["--dry-run=true"], specs, "u"), { "dry-run": true });
  assert.deepEqual(parseFlags(["--dry-run=false"], specs, "u"), { "dry-run": false });
  assert.throws(() => parseFlags(["--dry-run=yes"], specs, "u"), /flag --dry-run is true or false \(or bare --dry-run\), got "yes"/);
  const r = spawnSync(process.execPath, [tsx, path.join(ROOT, "src/cli/sweep.ts"), "rewards", "--dry-run=yes"], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /flag --dry-run is true or false/);
});

test("7: one canonical name per reward and seed; aliases map to it or are refused", () => {
  for (const alias of ["random0.5", "random00.5", "random0.50", "random0.500"]) assert.equal(canonicalReward(alias), "random0.5");
  assert.equal(canonicalReward("random1.0"), "random1");
  assert.equal(canonicalReward("inverse_random0.30_AND_no_repetition"), "inverse_random0.3_AND_no_repetition");
  assert.throws(() => canonicalReward("random0.0000001"), /gamma 0\.0000001 is below what a name can spell/);
  // the names the stored runs use are already canonical, so no stored run is renamed
  for (const p of PLANS) for (const s of plan(p)) assert.equal(canonicalReward(s.reward), s.reward, `${p}: ${s.reward}`);
  const names = ["random0.5", "random00.5", "random0.50"].map((reward) => runName(resolveSpec({ family: "qwen-math-7b", reward, seed: 1 })));
  assert.equal(new Set(names).size, 1);
  assert.match(names[0], /^qwen-math-7b-random0\.5-gt-s1-default-/);
  // seeds: plain decimal digits, exact in a double
  const seed = { seed: { type: "int" as const, help: "" } };
  assert.deepEqual(parseFlags(["--seed", "9007199254740991"], seed, "u"), { seed: 9007199254740991 });
  for (const bad of ["9007199254740993", "1e3", "0x10", "1.0"]) assert.throws(() => parseFlags(["--seed", bad], seed, "u"), new RegExp(`flag --seed needs an integer, got "${bad}"`));
  assert.throws(() => resolveSpec({ family: "qwen-math-7b", reward: "math", seed: 2 ** 53 }), /seed must be an integer from 0 to 9007199254740991, got 9007199254740992/);
});

test("two sweeps over one list share it: a held run is deferred, a stored one skipped, a held one waited on last", async () => {
  const q = ["a", "b", "c", "d"];
  const stored = new Set(["b"]);
  const held = new Set(["a"]);
  let r = takeNext(q, (j) => stored.has(j), (j) => held.has(j));
  assert.deepEqual([r.job, r.skipped, q], ["c", ["b"], ["a", "d"]]);
  held.add("d");
  r = takeNext(q, (j) => stored.has(j), (j) => held.has(j));
  assert.deepEqual([r.job, r.skipped, q], ["a", [], ["d"]]); // all held: the first, to wait on
  stored.add("d");
  r = takeNext(q, (j) => stored.has(j), (j) => held.has(j));
  assert.deepEqual([r.job, r.skipped, q], [undefined, ["d"], []]);
  // lockHeld reads the lock: live holder yes; dead holder or no lock no (and nothing is removed)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "held-"));
  const lock = path.join(dir, "run.json.lock");
  assert.equal(lockHeld(lock), false);
  const release = await acquireLock(lock, { quiet: true });
  assert.equal(lockHeld(lock), true);
  release();
  fs.writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname() }));
  assert.equal(lockHeld(lock), false);
  assert.ok(fs.existsSync(lock));
  // a sweep's claim: taken at once or not at all; a dead holder's is broken and taken
  const claim = path.join(dir, "run.json.sweep.lock");
  const mine = tryClaim(claim);
  assert.ok(mine);
  assert.ok(lockHeld(claim));
  assert.equal(tryClaim(claim), null);
  mine();
  assert.ok(!fs.existsSync(claim));
  fs.writeFileSync(claim, JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname() }));
  const again = tryClaim(claim);
  assert.ok(again);
  assert.ok(lockHeld(claim));
  again();
  fs.rmSync(dir, { recursive: true, force: true });
});
