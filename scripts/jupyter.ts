/**
 * Where Jupyter is, and the project's own kernelspec.
 *
 * Jupyter comes from Debian, so it runs under Debian's /usr/bin/python3 (a `python3` earlier on
 * PATH, e.g. pyenv, usually lacks it). The kernelspec lives in build/jupyter/kernels/ and every
 * script that starts Jupyter points JUPYTER_PATH there, so nothing is installed into the user's
 * Jupyter and the spec always names this checkout's node and launcher.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export const projectRoot = path.resolve(__dirname, "..");

/** Prepended to JUPYTER_PATH; holds kernels/<kernelName>/kernel.json. */
export const jupyterDir = path.join(projectRoot, "build", "jupyter");

/** The kernel every notebook of this project runs on (also in each notebook's metadata). */
export const kernelName = "tslab-spurious";

/** The Python that has Jupyter. SPURIOUS_PYTHON overrides it (non-Debian machines). */
export const python = process.env.SPURIOUS_PYTHON || "/usr/bin/python3";

/** Write build/jupyter/kernels/<kernelName>/kernel.json; returns its path. */
export function writeKernelspec(): string {
  const dir = path.join(jupyterDir, "kernels", kernelName);
  fs.mkdirSync(dir, { recursive: true });
  const spec = {
    // Absolute paths: Jupyter starts the kernel from the notebook's folder with its own PATH.
    argv: [process.execPath, path.join(projectRoot, "scripts", "tslab-kernel.cjs"), "--config-path", "{connection_file}"],
    display_name: "TypeScript (tslab, this project)",
    language: "typescript",
    interrupt_mode: "signal",
  };
  const file = path.join(dir, "kernel.json");
  const text = JSON.stringify(spec, null, 2) + "\n";
  // Rewrite only on change, so a running Notebook server does not see a needless update.
  if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== text) fs.writeFileSync(file, text);
  return file;
}

/** process.env plus JUPYTER_PATH pointing at the project's kernelspec first. */
export function jupyterEnv(): NodeJS.ProcessEnv {
  const prior = process.env.JUPYTER_PATH;
  return { ...process.env, JUPYTER_PATH: prior ? `${jupyterDir}${path.delimiter}${prior}` : jupyterDir };
}

/**
 * Why Jupyter cannot run here, or null when it can. Checks the Python modules the runner and
 * `npm run notebook` import, so the message can say exactly what to do.
 */
export function jupyterProblem(opts: { needNotebookServer?: boolean } = {}): string | null {
  const modules = ["jupyter_client", "nbformat", "nbconvert", ...(opts.needNotebookServer ? ["notebook"] : [])];
  const probe = spawnSync(python, ["-c", `import ${modules.join(", ")}`], { encoding: "utf8" });
  if (probe.error) return `cannot start ${python} (${probe.error.message}): run \`npm run setup\` (or set SPURIOUS_PYTHON)`;
  if (probe.status !== 0) {
    const why = probe.stderr.trim().split("\n").pop();
    return `Jupyter is not installed for ${python} (${why}): run \`npm run setup\``;
  }
  return null;
}
