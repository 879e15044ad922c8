/**
 * The entry of commander's bundle (scripts/build-bundle.mjs, loaded by commander.ts): commander,
 * and the folder maker load-bundle.ts writes the code cache with at exit.
 */
export * from 'commander';
export { makeFolder } from '../util/make-folder.js';
