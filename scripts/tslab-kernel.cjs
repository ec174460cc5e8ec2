#!/usr/bin/env node
// The project's Jupyter kernel: tslab, with its compiler's rootDir widened to the project root.
//
// Why: tslab compiles each cell as `<notebook dir>/__tslab__.ts` with `rootDir` = the notebook's
// folder, so `import { x } from "../src/x"` fails with "File is not under 'rootDir'"
// (yunabe/tslab#63). We patch tslab's converter in memory before the kernel starts (node_modules
// stays untouched): rootDir becomes the project root, and the two places that assume the cell's
// output sits directly in outDir (and side modules map back under cwd) follow. Cells still compile
// in the notebook's folder, so relative imports mean what they say, and every file a cell imports
// is type-checked with it: a type error in src/ fails the cell that imports it.
//
// Plain CommonJS run by plain node on purpose: no tsx loader inside the kernel, whose require hooks
// would compete with tslab's own handling of .ts imports.
//
// usage (written into build/jupyter/kernels/*/kernel.json by scripts/kernelspec.ts):
//   node scripts/tslab-kernel.cjs --config-path {connection_file}
"use strict";
const fs = require("fs");
const path = require("path");
const Module = require("module");

const projectRoot = path.resolve(__dirname, "..");

function fail(message) {
  // Jupyter shows the kernel's stderr in its log; the headless runner prints it too.
  console.error(`[tslab-kernel] ${message}`);
  process.exit(1);
}

const configIndex = process.argv.indexOf("--config-path");
const configPath = configIndex > 0 ? process.argv[configIndex + 1] : undefined;
if (!configPath) fail("usage: node scripts/tslab-kernel.cjs --config-path <connection file>");

let tslabDir;
try {
  tslabDir = path.dirname(require.resolve("tslab/package.json", { paths: [projectRoot] }));
} catch {
  fail(`tslab is not installed under ${projectRoot}/node_modules: run \`npm run setup\``);
}
const tslabVersion = JSON.parse(fs.readFileSync(path.join(tslabDir, "package.json"), "utf8")).version;
const converterPath = path.join(tslabDir, "dist", "converter.js");

// Each edit: text that must occur exactly once in tslab's dist/converter.js, and its replacement.
const edits = [
  {
    why: "compute the widened rootDir (the project root, unless the notebook lives outside it)",
    find: "const cwd = ts.sys.getCurrentDirectory();",
    replace:
      "const cwd = ts.sys.getCurrentDirectory();\n" +
      `    const spuriousProjectRoot = (0, tspath_1.normalizeSlashes)(${JSON.stringify(projectRoot)});\n` +
      "    const spuriousRel = path_1.default.relative(spuriousProjectRoot, cwd);\n" +
      "    const spuriousRootDir = spuriousRel.startsWith('..') || path_1.default.isAbsolute(spuriousRel) ? cwd : spuriousProjectRoot;\n" +
      "    const spuriousCwdUnderRoot = (0, tspath_1.normalizeSlashes)(path_1.default.relative(spuriousRootDir, cwd));",
  },
  {
    why: "find the cell's JavaScript under outDir/<notebook dir relative to the root>",
    find: 'const dstFilename = (0, tspath_1.normalizeJoin)(outDir, "__tslab__.js");',
    replace: 'const dstFilename = (0, tspath_1.normalizeJoin)(outDir, spuriousCwdUnderRoot, "__tslab__.js");',
  },
  {
    why: "find the cell's declarations there too",
    find: 'const dstDeclFilename = (0, tspath_1.normalizeJoin)(outDir, "__tslab__.d.ts");',
    replace: 'const dstDeclFilename = (0, tspath_1.normalizeJoin)(outDir, spuriousCwdUnderRoot, "__tslab__.d.ts");',
  },
  {
    why: "set rootDir to the project root",
    find: "rootDir: cwd,",
    replace: "rootDir: spuriousRootDir,",
  },
  {
    why: "map imported files' outputs back to their real paths under the root, not under cwd",
    find: "path: (0, tspath_1.normalizeJoin)(cwd, rel),",
    replace: "path: (0, tspath_1.normalizeJoin)(spuriousRootDir, rel),",
  },
  {
    // tslab silently drops the diagnostics of every file outside the notebook's folder, so a type
    // error in ../src/x.ts would not fail the cell. Keep them for files under the root (shown
    // relative to the notebook, e.g. "../src/x.ts 3:7 - ..."), except packages in node_modules.
    why: "report type errors of imported files under the root, not only under cwd",
    find: 'const rel = path_1.default.relative(cwd, d.file.fileName);\n                if (rel.startsWith("..")) {',
    replace:
      "const rel = path_1.default.relative(cwd, d.file.fileName);\n" +
      "                const spuriousRelToRoot = path_1.default.relative(spuriousRootDir, d.file.fileName);\n" +
      "                if (spuriousRelToRoot.startsWith('..') || spuriousRelToRoot.split(path_1.default.sep).includes('node_modules')) {",
  },
];

let source = fs.readFileSync(converterPath, "utf8");
for (const edit of edits) {
  const count = source.split(edit.find).length - 1;
  if (count !== 1) {
    fail(
      `cannot widen tslab's rootDir: expected exactly one occurrence of\n  ${edit.find}\n` +
        `in ${converterPath} (tslab ${tslabVersion}), found ${count}. ` +
        `tslab changed: update the edits in scripts/tslab-kernel.cjs (this one was to ${edit.why}).`,
    );
  }
  source = source.replace(edit.find, () => edit.replace);
}

// Load the patched converter under its real filename, so tslab's `require("./converter")` gets it.
const converter = new Module(converterPath, module);
converter.filename = converterPath;
converter.paths = Module._nodeModulePaths(path.dirname(converterPath));
converter._compile(source, converterPath);
converter.loaded = true;
require.cache[converterPath] = converter;

// startKernel is tslab's stable entry point (its globally installed CLI calls it in a local tslab).
// enableFindLocal: false, or it would look for another tslab from the notebook's folder upwards.
const { startKernel } = require(path.join(tslabDir, "dist", "main.js"));
startKernel({ configPath, enableFindLocal: false, jsKernel: false, globalVersion: tslabVersion });
