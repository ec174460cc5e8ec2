/**
 * npm run calibrate [-- --json]
 * The pre-RL calibration, step by step (the only place a knob is fitted to the paper):
 *  1. measure each shared base's capacity per mode on `test`, forcing the mode with a prefix:
 *     code ("python "), language in small steps ("3+4 is "), language in big steps ("3+4*2 is ");
 *  2. for every family, search the logit means of its corpus so that the predicted greedy table
 *     (calibration.ts) lands on the paper's Table 1 row, with the capacity of its base.
 * Prints the fitted means; they are copied into families.ts by hand, so the specs stay readable
 * and every change is visible in review. Then each family is pretrained and *measured*.
 */
import * as fs from "node:fs";
import { initBackend } from "../backend";
import { calibrate } from "../calibration";
import { loadCheckpoint } from "../checkpoint";
import { evaluateGreedy } from "../evaluate";
import { BASE_IDS, FAMILIES, FAMILY_IDS, type BaseId } from "../families";
import { disposeParams } from "../model";
import { checkpointPath } from "../paths";
import { getSplit, type Problem } from "../problems";
import { parseFlags, runMain } from "./args";

function languagePrefix(p: Problem, big: boolean): string {
  const first = `${p.operands[0]}${p.ops[0]}${p.operands[1]}`;
  return big ? `${first}${p.ops[1]}${p.operands[2]} is ` : `${first} is `;
}

runMain(async () => {
  const f = parseFlags(process.argv.slice(2), { json: { type: "boolean", help: "print one JSON object as the last stdout line" } }, "usage: npm run calibrate [-- --json]");
  await initBackend();
  const test = getSplit("test");
  const capacity: Record<string, { code: number; small: number; big: number }> = {};
  for (const base of BASE_IDS) {
    if (!fs.existsSync(checkpointPath(base))) {
      console.error(`[calibrate] ${base} is not trained yet: its families are skipped (npm run pretrain -- --base ${base})`);
      continue;
    }
    const { params, header } = loadCheckpoint(checkpointPath(base));
    const acc = (prefixes: string[]) => evaluateGreedy(params, header.config, test, { prefixes }).summary.accuracy / 100;
    capacity[base] = {
      code: acc(test.map(() => "python ")),
      small: acc(test.map((p) => languagePrefix(p, false))),
      big: acc(test.map((p) => languagePrefix(p, true))),
    };
    disposeParams(params);
    console.error(`[calibrate] ${base} capacity: code ${(100 * capacity[base].code).toFixed(1)}%, language small steps ${(100 * capacity[base].small).toFixed(1)}%, big steps ${(100 * capacity[base].big).toFixed(1)}%`);
  }
  const fits: Record<string, unknown> = {};
  for (const id of FAMILY_IDS) {
    const fam = FAMILIES[id];
    const c = capacity[fam.base as BaseId];
    if (!c) continue;
    const cap = { code: c.code, language: fam.corpus.languageBigSteps > 0.5 ? c.big : c.small };
    const fit = calibrate(fam.corpus, fam.target, cap);
    fits[id] = { mode: fit.corpus.mode.mean, slipCode: fit.corpus.slip.code.mean, slipLanguage: fit.corpus.slip.language.mean, prediction: fit.prediction, maxError: fit.error };
    console.log(`${id.padEnd(18)} mode ${fit.corpus.mode.mean.toFixed(2)}  slip code ${fit.corpus.slip.code.mean.toFixed(2)}  slip language ${fit.corpus.slip.language.mean.toFixed(2)}  -> predicted code ${fit.prediction.codeFrequency.toFixed(1)}%, acc code ${fit.prediction.accuracyCode?.toFixed(1) ?? "-"}%, acc language ${fit.prediction.accuracyLanguage?.toFixed(1) ?? "-"}% (max error ${fit.error.toFixed(1)})`);
  }
  if (f.json) console.log(JSON.stringify({ capacity, fits }));
});
