import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { decomposeGain, decomposeRunGain } from "../src/lab/gain-decomposition";
import { runsDir } from "../src/util/paths";

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);

test("gain decomposition by hand: mode shift plus the change within each mode, exactly", () => {
  // start: 20% code at 80% right, language 40% right -> 0.2*80 + 0.8*40 = 48
  // end:   60% code at 70% right, language 30% right -> 0.6*70 + 0.4*30 = 54
  const d = decomposeGain(
    { accuracy: 48, codeFrequency: 20, accuracyCode: 80, accuracyLanguage: 40 },
    { accuracy: 54, codeFrequency: 60, accuracyCode: 70, accuracyLanguage: 30 },
  );
  close(d.total, 6);
  close(d.modeShift, 0.4 * (75 - 35)); // +16: the mode moved towards the better one
  close(d.withinCode, 0.4 * -10); // -4
  close(d.withinLanguage, 0.6 * -10); // -6: the arithmetic decayed in both modes
  close(d.modeShift + d.withinCode + d.withinLanguage, d.total);
  assert.deepEqual([d.codeStart, d.codeEnd], [20, 60]);
});

test("gain decomposition: a mode absent at one end counts wholly as a mode shift", () => {
  // no code at the start; at the end 50% code at 90%, language unchanged at 40%
  const d = decomposeGain(
    { accuracy: 40, codeFrequency: 0, accuracyCode: null, accuracyLanguage: 40 },
    { accuracy: 65, codeFrequency: 50, accuracyCode: 90, accuracyLanguage: 40 },
  );
  close(d.modeShift, 0.5 * (90 - 40));
  close(d.withinCode, 0);
  close(d.withinLanguage, 0);
  close(d.total, 25);
  const none = decomposeGain({ accuracy: 30, codeFrequency: 0, accuracyCode: null, accuracyLanguage: 30 }, { accuracy: 20, codeFrequency: 0, accuracyCode: null, accuracyLanguage: 20 });
  [none.modeShift, none.withinCode, none.withinLanguage].forEach((v, i) => close(v, [0, 0, -10][i]));
  assert.throws(() => decomposeRunGain({ evals: [] }), /needs two evaluations/);
});

test("gain decomposition of every stored run adds up to its gain", () => {
  const files = fs.readdirSync(runsDir()).filter((f) => f.endsWith(".json"));
  assert.ok(files.length > 0);
  for (const f of files) {
    const run = JSON.parse(fs.readFileSync(path.join(runsDir(), f), "utf8"));
    if (run.status !== "complete") continue;
    const d = decomposeRunGain(run);
    assert.ok(Math.abs(d.modeShift + d.withinCode + d.withinLanguage - d.total) < 1e-9, `${f}: parts do not add up`);
  }
});
