/** Atomic file writes live in the store (src/store.ts), next to the cleanup of what a killed write leaves. */
export { writeFileAtomic } from "./store";
