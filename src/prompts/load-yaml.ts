import { lazyPackage } from '../util/lazy-package.js';

/**
 * The yaml package, loaded the first time a prompt has front matter. Loaded with every run it cost
 * ~55 ms of start-up and ~8 MB of resident memory (BENCHMARKS.md, "What `batch` itself costs"), for
 * the many jobs whose prompts have none.
 */
export const loadYaml = lazyPackage<typeof import('yaml')>('yaml');
