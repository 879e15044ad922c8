/**
 * The entry of the bundle `batch run` and `batch resume` load (scripts/build-bundle.mjs): the CLI,
 * and the folder maker load-bundle.ts writes the code cache with at exit (it cannot import it
 * itself without adding a module and node:fs's facade to every start).
 */
export { main } from './main.js';
export { makeFolder } from '../util/make-folder.js';
