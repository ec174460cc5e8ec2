/** Write the project-local tslab kernelspec (run by `npm run setup`; the other scripts call it too). */
import { writeKernelspec } from "./jupyter";

console.log(`[setup] kernelspec: ${writeKernelspec()}`);
