// A run in a child process, for the kill tests (test/faults.test.ts): argv[2] is the spec as JSON;
// the environment carries SPURIOUS_DATA and, to kill it at a chosen write, SPURIOUS_FAULT.
import { runOrLoad, runSummary } from "../src/lab/experiments";

runOrLoad(JSON.parse(process.argv[2])).then((run) => console.log(JSON.stringify(runSummary(run))));
