import { createRequire } from 'node:module';

type Yaml = typeof import('yaml');

const requireYaml = createRequire(import.meta.url);
let yaml: Yaml | undefined;

/**
 * The yaml package, loaded the first time a prompt has front matter. Loaded with every run it cost
 * ~55 ms of start-up and ~8 MB of resident memory (BENCHMARKS.md, "What `batch` itself costs"), for
 * the many jobs whose prompts have none. Its CommonJS entry, so that loading stays synchronous.
 */
export function loadYaml(): Yaml {
  yaml ??= requireYaml('yaml') as Yaml;
  return yaml;
}
