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

/** The lock's holder; null when the file is unreadable (empty, garbage); "gone" when it vanished meanwhile. */
function readHolder(lock: string): Holder | null | "gone" {
  let text: string;
  try {
    text = fs.readFileSync(lock, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "gone";
    return null;
  }
  try {
    const h = JSON.parse(text);
    return Number.isInteger(h?.pid) && typeof h?.host === "string" ? h : null;
  } catch {
    return null;
  }
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
    const holder = readHolder(lock);
    if (holder === "gone") continue;
    if (holder === null || (holder.host === os.hostname() && !isAlive(holder.pid))) {
      if (!opts.quiet) console.error(`[lock] breaking ${path.basename(lock)}: ${holder === null ? "its content is unreadable (a writer was killed)" : `its holder, pid ${holder.pid}, is dead`}`);
      breakLock(lock);
      continue;
    }
    const who = `pid ${holder.pid} on ${holder.host}`;
    if (opts.wait === false) throw new Error(`${lock} is held by ${who}; wait for it to finish, or remove the lock if that process is gone`);
    if (!warned && !opts.quiet) console.error(`[lock] ${path.basename(lock)} is held by ${who}; waiting for it`);
    warned = true;
    await new Promise((res) => setTimeout(res, opts.pollMs ?? 2000));
  }
}

/**
 * Remove a stale lock by renaming it away first: of two processes breaking the same lock only one
 * rename succeeds. If what was renamed turns out to be a fresh lock another waiter took meanwhile, it
 * is linked back.
 */
function breakLock(lock: string): void {
  const before = fs.existsSync(lock) ? fs.readFileSync(lock, "utf8") : null;
  const aside = `${lock}.stale-${process.pid}`;
  try {
    fs.renameSync(lock, aside);
  } catch {
    return; // someone else broke it first
  }
  const moved = fs.readFileSync(aside, "utf8");
  if (moved !== before && readHolder(aside) !== null) {
    try {
      fs.linkSync(aside, lock);
    } catch {
      /* a third process holds it now; theirs stands */
    }
  }
  fs.rmSync(aside, { force: true });
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
      const h = readHolder(full);
      if (h === null || (h !== "gone" && h.host === os.hostname() && !isAlive(h.pid))) {
        breakLock(full);
        removed.push(full);
      }
    }
  }
  return removed;
}
