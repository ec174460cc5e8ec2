/**
 * The tensor backend, chosen in one place.
 *
 * Preference order: tfjs-node-gpu (CUDA), tfjs-node (native CPU), wasm (SIMD, one thread in Node),
 * cpu (pure JS). tfjs-node(-gpu) are optional dependencies: their install script downloads
 * libtensorflow, which fails on machines that reach only the npm registry, and then they are simply
 * absent. SPURIOUS_BACKEND forces one backend by name. The backend in use is printed once and
 * recorded with every stored result, because numbers differ (slightly) between backends.
 */
import * as tf from "@tensorflow/tfjs";
import { installAliases } from "../kernels/aliases";
import { installColumnSum } from "../kernels/column-sum";

export const BACKENDS = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendInfo {
  /** Our name for it (tensorflow-gpu and tensorflow both run on tf's "tensorflow" backend). */
  name: BackendName;
  /** What tf.getBackend() reports. */
  tfBackend: string;
  /** Why the preferred ones were skipped, for the message. */
  skipped: string[];
}

let current: BackendInfo | null = null;

function tryRequire(id: string): string | null {
  try {
    require(id);
    return null;
  } catch (e) {
    return (e as Error).message.split("\n")[0];
  }
}

async function activate(name: BackendName): Promise<string | null> {
  if (name === "tensorflow-gpu" || name === "tensorflow") {
    const pkg = name === "tensorflow-gpu" ? "@tensorflow/tfjs-node-gpu" : "@tensorflow/tfjs-node";
    const err = tryRequire(pkg);
    if (err) return `${pkg} not installed (${err})`;
    // danfojs' override maps tfjs-node to plain tfjs, which registers no native backend.
    if (!tf.findBackend("tensorflow")) return `${pkg} loaded but registered no native backend`;
    await tf.setBackend("tensorflow");
    return null;
  }
  if (name === "wasm") {
    const err = tryRequire("@tensorflow/tfjs-backend-wasm");
    if (err) return `@tensorflow/tfjs-backend-wasm not installed (${err})`;
    // wasm's kernels are registered now: patch its copies and its sums over leading axes (kernels/)
    installAliases();
    installColumnSum();
  }
  try {
    // setBackend throws for an unregistered name and resolves false when init fails.
    const ok = await tf.setBackend(name);
    return ok ? null : `${name} failed to initialise`;
  } catch (e) {
    return `${name}: ${(e as Error).message}`;
  }
}

/**
 * Select the backend (once per process; later calls return the same answer).
 * @param force  a backend name; defaults to the SPURIOUS_BACKEND environment variable.
 */
export async function initBackend(opts: { force?: string; quiet?: boolean } = {}): Promise<BackendInfo> {
  const force = opts.force ?? process.env.SPURIOUS_BACKEND ?? "";
  if (force && !(BACKENDS as readonly string[]).includes(force)) {
    throw new Error(`unknown backend "${force}" (SPURIOUS_BACKEND); valid: ${BACKENDS.join(", ")}`);
  }
  if (current && (!force || current.name === force)) return current;
  tf.enableProdMode();
  const order: readonly BackendName[] = force ? [force as BackendName] : BACKENDS;
  const skipped: string[] = [];
  for (const name of order) {
    const err = await activate(name);
    if (err === null) {
      await tf.ready();
      current = { name, tfBackend: tf.getBackend(), skipped };
      if (!opts.quiet) {
        const why = skipped.length ? ` (skipped: ${skipped.join("; ")})` : "";
        console.error(`[spurious] tensor backend: ${name}${why}`);
      }
      return current;
    }
    skipped.push(err);
  }
  throw new Error(`no tensor backend could be started: ${skipped.join("; ")}`);
}

/** The backend chosen by initBackend, or an error if none was chosen yet. */
export function backendInfo(): BackendInfo {
  if (!current) throw new Error("initBackend() has not been called");
  return current;
}
