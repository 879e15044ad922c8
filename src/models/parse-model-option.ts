import { resolve } from 'node:path';
import { isFile } from '../util/is-file.js';

/** A `--model` value, read. */
export interface ModelOption {
  /** The name before `=` in `alias=path`. */
  readonly alias?: string;
  /** The model file, absolute (resolved against `cwd`); it may not exist. */
  readonly path: string;
}

/**
 * The one reading of `--model`: `alias=path` or `path`. The value is an alias only when the part
 * before the first `=` is non-empty and holds no slash, the part after it is non-empty, and the
 * whole value is not itself an existing file (so `q=4.gguf`, a real file, stays a path).
 */
export function parseModelOption(value: string, cwd: string): ModelOption {
  const eq = value.indexOf('=');
  const alias = value.slice(0, eq);
  const rest = value.slice(eq + 1);
  if (eq > 0 && rest !== '' && !/[\\/]/.test(alias) && !isFile(resolve(cwd, value))) {
    return { alias, path: resolve(cwd, rest) };
  }
  return { path: resolve(cwd, value) };
}
