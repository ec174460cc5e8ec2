/**
 * npm run notebook: the classic Jupyter Notebook (Debian has no JupyterLab) with the project's tslab
 * kernel, opened on notebooks/. Extra arguments go to Jupyter: `npm run notebook -- --port 9000`.
 */
import { spawn } from "node:child_process";
import { jupyterEnv, jupyterProblem, kernelName, projectRoot, python, writeKernelspec } from "./jupyter";

const problem = jupyterProblem({ needNotebookServer: true });
if (problem) {
  console.error(problem);
  process.exit(1);
}
writeKernelspec();

const args = ["-m", "notebook", `--notebook-dir=${projectRoot}`, "--NotebookApp.default_url=/tree/notebooks"];
// Jupyter refuses to run as root without this (containers, CI machines).
if (process.getuid?.() === 0) args.push("--allow-root");
// No desktop: do not try to launch a browser, just print the URL.
if (process.platform === "linux" && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) args.push("--no-browser");
args.push(...process.argv.slice(2));

console.log(`[notebook] kernel "${kernelName}"; new notebooks: New → "TypeScript (tslab, this project)"`);
const child = spawn(python, args, { stdio: "inherit", env: jupyterEnv() });
// Ctrl-C reaches Jupyter directly (same process group): let Jupyter ask for confirmation and
// shut its kernels down. A SIGTERM/SIGHUP sent to this process alone is passed on.
process.on("SIGINT", () => {});
for (const signal of ["SIGTERM", "SIGHUP"] as const) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
