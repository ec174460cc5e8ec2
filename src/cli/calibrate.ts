/**
 * npm run calibrate [-- --json]
 * The pre-RL calibration, step by step (the only place a knob is fitted to the paper):
 *  1. measure each shared base's capacity per mode on `test`, forcing the mode with a prefix:
 *     code ("python "), language in small steps ("3+4 is "), language in big steps ("3+4*2 is ");
 *  2. for every family, search the logit means of its corpus so that the predicted greedy table
 *     (calibration.ts) lands on the paper's Table 1 row, with the capacity of its base.
 * Prints the fitted means; they are copied into families.ts by hand, so the specs stay readable
 * and every change is visible in review. Then each family is pretrained and *measured*.
 *  3. (second pass, automatic when a trained family has a stored evaluation) the network does not
 *     follow its corpus perfectly (cells near p = 0.5 go either way), so the target is shifted by
 *     the gap between the measured and the predicted table, and the means fitted again.
 */
import * as fs from "node:fs";
import { initBackend } from "../model/backend";
import { calibrate, predictTable } from "../world/calibration";
import { checkpointSha } from "../model/checkpoint";
import { reportPath, type BaseModelReport } from "../lab/basemodels";
import { loadCheckpoint } from "../model/checkpoint";
import { evaluateGreedy } from "../lab/evaluate";
import { BASE_IDS, FAMILIES, FAMILY_IDS, type BaseId } from "../world/families";
import { disposeParams } from "../model/model";
import { checkpointPath } from "../util/paths";
import { getSplit, type Problem } from "../world/problems";
import { parseFlags, runMain } from "./args";

function languagePrefix(p: Problem, big: boolean): string {
  const first = `${p.operands[0]}${p.ops[0]}${p.operands[1]}`;
  return big ? `${first}${p.ops[1]}${p.operands[2]} is ` : `${first} is `;
}

/** The stored evaluation of a family's current checkpoint, if any. */
function storedReport(id: string): BaseModelReport | null {
  const file = reportPath(id, checkpointSha(checkpointPath(id)));
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : null;
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
    let target = fam.target;
    let note = "";
    const report = fs.existsSync(checkpointPath(id)) ? storedReport(id) : null;
    if (report) {
      // second pass: aim off by the measured-minus-predicted gap of the current means
      const now = predictTable(fam.corpus, cap);
      const shift = (want: number | null, got: number | null, pred: number | null) => (want === null || got === null || pred === null ? want : want - (got - pred));
      target = {
        ...fam.target,
        codeFrequency: shift(fam.target.codeFrequency, report.test.codeFrequency, now.codeFrequency)!,
        accuracyCode: shift(fam.target.accuracyCode, report.test.accuracyCode, now.accuracyCode),
        accuracyLanguage: shift(fam.target.accuracyLanguage, report.test.accuracyLanguage, now.accuracyLanguage)!,
      };
      if (fam.target.codeFrequency === 0) target.codeFrequency = 0;
      note = ` [2nd pass: measured code ${report.test.codeFrequency.toFixed(1)}/${report.test.accuracyCode?.toFixed(1) ?? "-"}/${report.test.accuracyLanguage?.toFixed(1) ?? "-"} vs predicted ${now.codeFrequency.toFixed(1)}/${now.accuracyCode?.toFixed(1) ?? "-"}/${now.accuracyLanguage?.toFixed(1) ?? "-"}]`;
    }
    const fit = calibrate(fam.corpus, target, cap);
    fits[id] = { mode: fit.corpus.mode.mean, slipCode: fit.corpus.slip.code.mean, slipLanguage: fit.corpus.slip.language.mean, prediction: fit.prediction, maxError: fit.error };
    console.log(`${id.padEnd(18)} mode ${fit.corpus.mode.mean.toFixed(2)}  slip code ${fit.corpus.slip.code.mean.toFixed(2)}  slip language ${fit.corpus.slip.language.mean.toFixed(2)}  -> predicted code ${fit.prediction.codeFrequency.toFixed(1)}%, acc code ${fit.prediction.accuracyCode?.toFixed(1) ?? "-"}%, acc language ${fit.prediction.accuracyLanguage?.toFixed(1) ?? "-"}% (max error ${fit.error.toFixed(1)})${note}`);
  }
  if (f.json) console.log(JSON.stringify({ capacity, fits }));
});
