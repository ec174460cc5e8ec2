/**
 * The file store under every result: atomic writes, JSON reads that name the file, a lock per run,
 * and the removal of what a killed process left behind.
 *
 *   writeFileAtomic   temporary sibling `<file>.tmp-<pid>-<ms>`, fsync, rename: a reader never sees
 *                     half a file, and a kill leaves at most a temporary that `removeDebris` clears
 *   acquireLock       a complete `{pid, host}` file hard-linked into place (the link fails when the
 *                     lock exists), so a lock is never seen empty; a dead or unreadable holder's
 *                     lock is broken with a printed note
 *   fault             SPURIOUS_FAULT=<point>@<n>[:throw] kills (or throws in) this process at the
 *                     n-th pass through a named point, so tests can kill a run at a chosen write
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Named places where a test may stop a process: inside a write (temp written, not renamed), after a rename, after taking a lock. */
export type FaultPoint = "write" | "renamed" | "lock";
const faultCounts = new Map<string, number>();

/** Kill (SIGKILL, as a power cut would) or throw at the n-th pass through `point` when SPURIOUS_FAULT asks for it. */
export function fault(point: FaultPoint): void {
  const spec = process.env.SPURIOUS_FAULT;
  if (!spec) return;
  const m = /^(write|renamed|lock)@(\d+)(:throw)?$/.exec(spec);
  if (!m) throw new Error(`SPURIOUS_FAULT="${spec}" is not <write|renamed|lock>@<n>[:throw]; unset it`);
  if (m[1] !== point) return;
  const n = (faultCounts.get(point) ?? 0) + 1;
  faultCounts.set(point, n);
  if (n !== Number(m[2])) return;
  if (m[3]) throw new Error(`injected fault at ${point} #${n} (SPURIOUS_FAULT)`);
  process.kill(process.pid, "SIGKILL");
}

/** Forget the fault counters (tests that inject several faults in one process). */
export function resetFaults(): void {
  faultCounts.clear();
}

const TEMP = /\.(?:tmp|stale)-(\d+)(?:-\d+)?$/;

function tempName(file: string): string {
  return `${file}.tmp-${process.pid}-${Date.now()}`;
}

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tempName(file);
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, typeof data === "string" ? Buffer.from(data, "utf8") : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fault("write");
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fault("renamed");
}

/** Parse a JSON file; unreadable or malformed content is an error naming the file and `remedy`. */
export function readJson(file: string, remedy: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ${remedy}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message}); ${remedy}`);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

interface Holder {
  pid: number;
  host: string;
}

/** A lock file as read once: its exact text, and its holder (null when the text is unreadable: empty, garbage). */
interface LockSeen {
  text: string;
  holder: Holder | null;
}

/** Read a lock once; "gone" when it vanished meanwhile. */
function readLock(lock: string): LockSeen | "gone" {
  let text: string;
  try {
    text = fs.readFileSync(lock, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "gone";
    return { text: "", holder: null };
  }
  try {
    const h = JSON.parse(text);
    return { text, holder: Number.isInteger(h?.pid) && typeof h?.host === "string" ? h : null };
  } catch {
    return { text, holder: null };
  }
}

/** Why a lock may be broken (unreadable, or a dead holder on this host), or null while its holder may be alive. */
function staleReason(holder: Holder | null): string | null {
  if (holder === null) return "its content is unreadable (a writer was killed)";
  if (holder.host === os.hostname() && !isAlive(holder.pid)) return `its holder, pid ${holder.pid}, is dead`;
  return null;
}

/**
 * Break the lock as `seen` shows it if that is stale: "live" when its holder may be alive, "broken"
 * when this process removed it (with a printed note), "raced" when another process changed it first.
 */
function breakIfStale(lock: string, seen: LockSeen, quiet: boolean | undefined): "live" | "broken" | "raced" {
  const why = staleReason(seen.holder);
  if (why === null) return "live";
  if (!breakLock(lock, seen.text)) return "raced";
  if (!quiet) console.error(`[lock] breaking ${path.basename(lock)}: ${why}`);
  return "broken";
}

/** Whether a live process (as far as this host can tell) holds the lock now: a read, never a write. */
export function lockHeld(lock: string): boolean {
  const seen = readLock(lock);
  return seen !== "gone" && staleReason(seen.holder) === null;
}

/**
 * The next job of a queue shared with other processes (two sweeps over one list): jobs already
 * stored are removed and returned as `skipped`; the first job nobody holds is taken; when every
 * job left is held, the first one (its worker then waits on its lock). Mutates `queue`.
 */
export function takeNext<T>(queue: T[], stored: (job: T) => boolean, held: (job: T) => boolean): { job: T | undefined; skipped: T[] } {
  const skipped: T[] = [];
  for (let i = 0; i < queue.length; i++) {
    if (stored(queue[i])) {
      skipped.push(...queue.splice(i--, 1));
      continue;
    }
    if (!held(queue[i])) return { job: queue.splice(i, 1)[0], skipped };
  }
  return { job: queue.shift(), skipped };
}

/**
 * Claim a file for this process at once, without waiting: the holder's JSON (as a lock's), created
 * exclusively. A claim whose holder is dead is broken and taken; a live one returns null. Returns the
 * release, which removes the claim only while it is still this process's.
 */
export function tryClaim(file: string): (() => void) | null {
  const me = JSON.stringify({ pid: process.pid, host: os.hostname() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, me, { flag: "wx" });
      return () => {
        try {
          if (fs.readFileSync(file, "utf8") === me) fs.rmSync(file, { force: true });
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new Error(`cannot create the claim ${file}: ${(e as Error).message}`);
      const seen = readLock(file);
      if (seen !== "gone" && breakIfStale(file, seen, true) === "live") return null;
    }
  }
  return null;
}

export interface LockOptions {
  quiet?: boolean;
  /** Wait while a live process holds the lock (default); false: throw an error naming the holder. */
  wait?: boolean;
  /** How often a waiter looks again. */
  pollMs?: number;
}

/** Take a lock file, breaking a dead or unreadable holder's; returns the release function. */
export async function acquireLock(lock: string, opts: LockOptions = {}): Promise<() => void> {
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const me = JSON.stringify({ pid: process.pid, host: os.hostname() });
  let warned = false;
  for (;;) {
    // The lock appears complete or not at all: write the holder to a temporary, then hard-link it
    // into place (link, unlike rename, fails when the lock exists).
    const tmp = tempName(lock);
    fs.writeFileSync(tmp, me);
    let taken = false;
    try {
      fs.linkSync(tmp, lock);
      taken = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new Error(`cannot create the lock ${lock}: ${(e as Error).message}`);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    if (taken) {
      fault("lock");
      // Release only a lock that is still ours.
      return () => {
        try {
          if (fs.readFileSync(lock, "utf8") === me) fs.rmSync(lock, { force: true });
        } catch {
          /* already gone */
        }
      };
    }
    const seen = readLock(lock);
    if (seen === "gone" || breakIfStale(lock, seen, opts.quiet) !== "live") continue;
    const holder = seen.holder!;
    const who = `pid ${holder.pid} on ${holder.host}`;
    if (opts.wait === false) throw new Error(`${lock} is held by ${who}; wait for it to finish, or remove the lock if that process is gone`);
    if (!warned && !opts.quiet) console.error(`[lock] ${path.basename(lock)} is held by ${who}; waiting for it`);
    warned = true;
    await new Promise((res) => setTimeout(res, opts.pollMs ?? 2000));
  }
}

/**
 * Remove the lock only if its content is still exactly `stale`, the text judged dead; true when this
 * call removed it. The judgement and the removal are separate steps, so between them another process
 * may have broken the stale lock and taken a fresh one: removing whatever is there would then leave
 * two holders. So the lock is renamed aside (of two renames only one succeeds), compared with
 * `stale`, and linked back when it is a newer lock. Left open: a third process taking the lock in
 * the instant it is aside, which a rename-based lock cannot exclude; a note says when it happened.
 */
export function breakLock(lock: string, stale: string): boolean {
  const aside = `${lock}.stale-${process.pid}`;
  try {
    fs.renameSync(lock, aside);
  } catch {
    return false; // someone else broke it first
  }
  try {
    if (fs.readFileSync(aside, "utf8") === stale) return true;
    try {
      fs.linkSync(aside, lock);
    } catch {
      console.error(`[lock] ${path.basename(lock)} was taken by another process while a fresh lock was set aside; the fresh lock's holder lost it`);
    }
    return false;
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

/**
 * Remove what killed processes left next to the files `<dir>/<stem>.*`: temporaries of dead
 * processes, and a lock whose holder is dead or unreadable. Returns the removed paths.
 */
export function removeDebris(dir: string, stem: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (!name.startsWith(`${stem}.`)) continue;
    const full = path.join(dir, name);
    const m = TEMP.exec(name);
    if (m && Number(m[1]) !== process.pid && !isAlive(Number(m[1]))) {
      fs.rmSync(full, { force: true });
      removed.push(full);
    } else if (name.endsWith(".lock")) {
      const seen = readLock(full);
      if (seen !== "gone" && breakIfStale(full, seen, false) === "broken") removed.push(full);
    }
  }
  return removed;
}
