import { createRequire } from 'node:module';

const requirePackage = createRequire(import.meta.url);

/**
 * A package (or a Node built-in) loaded the first time it is asked for, through its CommonJS entry
 * so that loading stays synchronous: what a run rarely needs stays off every run's start.
 */
export function lazyPackage<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requirePackage(name) as T);
}
