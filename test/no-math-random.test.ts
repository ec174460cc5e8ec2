// One source of randomness (src/util/rng.ts): nothing in src/, and no notebook cell, reads Math.random.
// Found with the TypeScript parser, so comments and strings that mention it are fine, and
// `Math["random"]` or `const { random } = Math` are caught too.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import ts from "typescript";

const root = path.resolve(__dirname, "..");

/** "line:col" of every read of Math.random in a piece of TypeScript. */
function mathRandomReads(code: string, fileName = "code.ts"): string[] {
  const file = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const isMath = (e: ts.Node) => ts.isIdentifier(e) && e.text === "Math";
  const at = (n: ts.Node) => {
    const { line, character } = file.getLineAndCharacterOfPosition(n.getStart(file));
    found.push(`${line + 1}:${character + 1}`);
  };
  const visit = (n: ts.Node): void => {
    if (ts.isPropertyAccessExpression(n) && isMath(n.expression) && n.name.text === "random") at(n);
    if (ts.isElementAccessExpression(n) && isMath(n.expression) && ts.isStringLiteralLike(n.argumentExpression) && n.argumentExpression.text === "random") at(n);
    if (ts.isVariableDeclaration(n) && n.initializer && isMath(n.initializer) && ts.isObjectBindingPattern(n.name)) {
      for (const el of n.name.elements) {
        const key = el.propertyName ?? el.name;
        if ((ts.isIdentifier(key) || ts.isStringLiteral(key)) && key.text === "random") at(el);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(file);
  return found;
}

function filesUnder(dir: string, ext: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(ext))
    .map((e) => path.join(e.parentPath ?? e.path, e.name));
}

test("the detector finds reads of Math.random and ignores mentions", () => {
  assert.deepEqual(mathRandomReads("const x = Math.random();"), ["1:11"]);
  assert.deepEqual(mathRandomReads('const f = Math["random"];\nconst { random } = Math;\nconst { random: r } = Math;'), ["1:11", "2:9", "3:9"]);
  assert.deepEqual(mathRandomReads('// Math.random()\nconst s = "Math.random()";\n/* Math.random */ Math.floor(1);'), []);
});

test("nothing in src/ reads Math.random", () => {
  const offenders = filesUnder(path.join(root, "src"), ".ts").flatMap((file) =>
    mathRandomReads(fs.readFileSync(file, "utf8"), file).map((pos) => `${path.relative(root, file)}:${pos}`),
  );
  assert.deepEqual(offenders, [], "use makeRng(seed, ...keys) from src/util/rng.ts instead");
});

test("no notebook cell reads Math.random", () => {
  const offenders: string[] = [];
  for (const file of filesUnder(path.join(root, "notebooks"), ".ipynb")) {
    const nb = JSON.parse(fs.readFileSync(file, "utf8")) as { cells: Array<{ cell_type: string; source: string | string[] }> };
    nb.cells.forEach((cell, i) => {
      if (cell.cell_type !== "code") return;
      const code = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
      for (const pos of mathRandomReads(code)) offenders.push(`${path.relative(root, file)} cell ${i} ${pos}`);
    });
  }
  assert.deepEqual(offenders, [], "use makeRng(seed, ...keys) from src/util/rng.ts instead");
});
