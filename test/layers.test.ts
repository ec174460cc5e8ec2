// src/ is layered: util <- world <- model (with kernels) <- rl <- lab <- figures <- cli. A module may
// import from its own layer or a lower one, never a higher one, so each layer can be read (and
// tested) without the ones above it. Imports are found with the TypeScript parser: static imports,
// re-exports, `import("...")` and `require("...")`.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import ts from "typescript";

const root = path.resolve(__dirname, "..");
const src = path.join(root, "src");

/** Lowest first. kernels are the model layer's own WebAssembly (model.ts and backend.ts call them). */
const LAYERS: Record<string, number> = { util: 0, world: 1, model: 2, kernels: 2, rl: 3, lab: 4, figures: 5, cli: 6 };

/** Relative module specifiers a piece of TypeScript imports. */
function importsOf(code: string): string[] {
  const file = ts.createSourceFile("x.ts", code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) out.push(n.moduleSpecifier.text);
    if (ts.isCallExpression(n) && n.arguments.length === 1 && ts.isStringLiteralLike(n.arguments[0])) {
      const callee = n.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === "require")) out.push(n.arguments[0].text);
    }
    ts.forEachChild(n, visit);
  };
  visit(file);
  return out.filter((s) => s.startsWith("."));
}

/** The layer folder of a path under src/ (null for a file directly in src/). */
function layerOf(file: string): string | null {
  const parts = path.relative(src, file).split(path.sep);
  return parts.length > 1 ? parts[0] : null;
}

/** "file -> target" for every import of a file that points to a higher layer or out of the layers. */
function badImports(files: Record<string, string>): string[] {
  const bad: string[] = [];
  for (const [file, code] of Object.entries(files)) {
    const from = layerOf(file);
    for (const spec of importsOf(code)) {
      const target = path.resolve(path.dirname(file), spec);
      if (!target.startsWith(src + path.sep)) continue; // node_modules, scripts/ ...
      const to = layerOf(target);
      if (from === null || to === null || !(from in LAYERS) || !(to in LAYERS) || LAYERS[to] > LAYERS[from]) {
        bad.push(`${path.relative(root, file)} -> ${path.relative(root, target)}`);
      }
    }
  }
  return bad;
}

function sourceFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(src, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(".ts")) {
      const f = path.join(e.parentPath ?? e.path, e.name);
      out[f] = fs.readFileSync(f, "utf8");
    }
  }
  return out;
}

test("the import finder sees static, re-export, dynamic and require imports, and nothing in comments", () => {
  const code = `import { a } from "./a";\nimport type { B } from "../b/b";\nexport { c } from "./c";\nconst d = await import("./d");\nconst e = require("./e");\n// import { f } from "./f";\nimport * as tf from "@tensorflow/tfjs";`;
  assert.deepEqual(importsOf(code), ["./a", "../b/b", "./c", "./d", "./e"]);
});

test("an upward import, a file outside the layers and an unknown folder are each reported", () => {
  const f = (p: string) => path.join(src, p);
  assert.deepEqual(badImports({ [f("world/problems.ts")]: `import { x } from "../lab/experiments";` }), ["src/world/problems.ts -> src/lab/experiments"]);
  assert.deepEqual(badImports({ [f("lab/plans.ts")]: `import { x } from "../world/problems";\nimport { y } from "./knobs";` }), []);
  assert.deepEqual(badImports({ [f("model/model.ts")]: `import { k } from "../kernels/gelu";` }), []);
  assert.deepEqual(badImports({ [f("kernels/gelu.ts")]: `import { g } from "../rl/grpo";` }), ["src/kernels/gelu.ts -> src/rl/grpo"]);
  assert.deepEqual(badImports({ [f("loose.ts")]: `import { r } from "./util/rng";` }), ["src/loose.ts -> src/util/rng"]);
  assert.deepEqual(badImports({ [f("misc/x.ts")]: `import { r } from "../util/rng";` }), ["src/misc/x.ts -> src/util/rng"]);
});

test("every module of src/ sits in a layer folder and imports only its own layer or lower ones", () => {
  const files = sourceFiles();
  const loose = Object.keys(files).filter((f) => !(String(layerOf(f)) in LAYERS)).map((f) => path.relative(root, f));
  assert.deepEqual(loose, [], `modules outside the layer folders (${Object.keys(LAYERS).join(", ")})`);
  assert.ok(Object.keys(files).length > 40, "found the modules of src/");
  assert.deepEqual(badImports(files), [], "imports that point up the layers (util <- world <- model <- rl <- lab <- figures <- cli)");
});
