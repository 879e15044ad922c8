import { createRequire } from 'node:module';

/**
 * commander, through its CommonJS entry: its ESM wrapper costs a parse of the entry on every
 * start, and `batch --help` loads little else. The bundle of `batch run` holds commander itself
 * instead (scripts/build-bundle.mjs replaces this module), so that a run loads one copy, compiled
 * with the bundle's code cache.
 */
export const commander = createRequire(import.meta.url)('commander') as typeof import('commander');
