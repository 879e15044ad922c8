import { execFileSync } from 'node:child_process';

/**
 * Debian's `prometheus` package's binary (`prometheus` or `promtool`), or undefined when it is not
 * installed (`.ci/run` installs it).
 */
export function findPrometheusBinary(name: 'prometheus' | 'promtool'): string | undefined {
  try {
    const found = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    return found === '' ? undefined : found;
  } catch {
    return undefined;
  }
}
