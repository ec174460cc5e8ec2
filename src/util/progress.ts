/** A one-line progress display for long loops: done/total, rate, time left, and a caller's message. */
export interface Progress {
  tick(done: number, message?: string): void;
  finish(message?: string): void;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * Writes to stderr (stdout stays clean for --json). On a terminal it redraws one line; in a log
 * file it prints a line at most every `everySec` seconds.
 */
export function makeProgress(label: string, total: number, opts: { start?: number; unit?: string; everySec?: number; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const unit = opts.unit ?? "steps";
  const start0 = opts.start ?? 0;
  const t0 = Date.now();
  const every = (opts.everySec ?? (stream.isTTY ? 0.2 : 10)) * 1000;
  let last = 0;
  const line = (done: number, message = "") => {
    const sec = (Date.now() - t0) / 1000;
    const rate = (done - start0) / Math.max(sec, 1e-9);
    const left = (total - done) / rate;
    return `${label} ${done}/${total} ${unit} | ${rate.toFixed(2)} ${unit}/s | ${fmtTime(sec)} elapsed, ${fmtTime(left)} left${message ? " | " + message : ""}`;
  };
  return {
    tick(done, message) {
      const now = Date.now();
      if (now - last < every && done < total) return;
      last = now;
      if (stream.isTTY) stream.write(`\r\x1b[K${line(done, message)}`);
      else stream.write(line(done, message) + "\n");
    },
    finish(message) {
      const sec = (Date.now() - t0) / 1000;
      const text = `${label} done in ${fmtTime(sec)}${message ? " | " + message : ""}`;
      stream.write(stream.isTTY ? `\r\x1b[K${text}\n` : text + "\n");
    },
  };
}
