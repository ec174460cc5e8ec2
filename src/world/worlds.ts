/**
 * World versions: which synthetic world a checkpoint was pretrained in, and so which world its
 * labels, evaluations and runs belong to.
 *
 *   1  the world of the shipped checkpoints and runs: a mode's mistakes are deliberate slips (the
 *      last written value off by one) whose rate the corpus sets per problem.
 *   2  mistakes from capability (issue 11; src/world/corpus-v2.ts): written steps that combine
 *      several operations, which a small network computes unreliably; slips off by default.
 *
 * Both worlds share the problems and their splits (src/world/problems.ts): they differ only in how
 * the pretraining corpora write responses. World 1 is the default and is left out of every hash,
 * file name and stored header, so everything stored before world versions existed keeps its name
 * and loads as world 1. Anything stored for another world carries its number, and reading it as
 * another world is an error naming both.
 */
export const WORLDS = [1, 2] as const;
export type World = (typeof WORLDS)[number];
export const DEFAULT_WORLD: World = 1;

export const WORLD_ABOUT: Record<World, string> = {
  1: "mistakes are slips (a last value off by one)",
  2: "mistakes from capability (steps that combine operations)",
};

const valid = () => WORLDS.map((w) => `${w} (${WORLD_ABOUT[w]})`).join(", ");

/** A world version from a setting or a stored field; `where` names it in the error. */
export function parseWorld(value: unknown, where: string): World {
  if (!(WORLDS as readonly unknown[]).includes(value)) throw new Error(`${where}: unknown world version ${JSON.stringify(value)}; valid: ${valid()}`);
  return value as World;
}

/** The world a stored header or file says it belongs to: no field means world 1 (written before worlds existed). */
export function storedWorld(stored: { world?: unknown }, where: string): World {
  return stored.world === undefined ? DEFAULT_WORLD : parseWorld(stored.world, where);
}

/** The field to store: nothing for world 1 (so v1's files and hashes stay as they were), else the number. */
export function worldField(world: World): { world?: World } {
  return world === DEFAULT_WORLD ? {} : { world };
}

/** Throw when something stored for one world is read as another; the message names both and the remedy. */
export function checkWorld(what: string, found: World, wanted: World, remedy: string): void {
  if (found !== wanted) throw new Error(`${what} belongs to world ${found} (${WORLD_ABOUT[found]}), but world ${wanted} (${WORLD_ABOUT[wanted]}) was asked for; ${remedy}`);
}
