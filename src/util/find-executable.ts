import { delimiter, isAbsolute, join } from 'node:path';
import { isExecutableFile } from './is-executable-file.js';

/** The first executable `name` on `env.PATH` (absolute folders only, as a shell finds it), or undefined. */
export function findExecutable(name: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}
