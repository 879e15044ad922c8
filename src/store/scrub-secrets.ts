/** What a scrubbed secret is replaced with. */
export const REDACTED = '[redacted]';

/**
 * Key names (lower-cased, without `-` and `_`) that hold credentials. Matched by suffix, so
 * `openaiApiKey` and `hf_token` are caught while `max_tokens` (plural) is not.
 */
const secretKeySuffixes = ['apikey', 'authorization', 'token', 'secret', 'password', 'passwd', 'cookie'];

/** Whether a key or flag name names a credential. */
export function isSecretKey(key: string): boolean {
  const normalised = key.replace(/^-+/, '').replace(/[-_]/g, '').toLowerCase();
  return secretKeySuffixes.some((suffix) => normalised.endsWith(suffix));
}

const urlWithCredentials = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]+@/i;

/** Replaces the `user:password@` part of a URL-like string. */
function scrubString(value: string): string {
  return value.replace(urlWithCredentials, `$1${REDACTED}@`);
}

/**
 * A deep copy of `value` with credential-named keys replaced by `[redacted]` and credentials
 * removed from URLs. Callers already leave secrets out of what they store; this is the second
 * line of defence, because a checkpoint file is easy to copy or attach to a bug report.
 */
export function scrubSecrets(value: unknown): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((element) => scrubSecrets(element));
  const copy: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    copy[key] = isSecretKey(key) && member !== null && member !== undefined ? REDACTED : scrubSecrets(member);
  }
  return copy;
}

/**
 * The command line with the values of credential flags (`--api-key X`, `--token=X`) and URL
 * credentials replaced, for the `runs` table.
 */
export function scrubArgv(argv: readonly string[]): string[] {
  const result: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const equals = arg.indexOf('=');
    if (arg.startsWith('-') && equals > 0 && isSecretKey(arg.slice(0, equals))) {
      result.push(`${arg.slice(0, equals)}=${REDACTED}`);
    } else if (arg.startsWith('-') && equals < 0 && isSecretKey(arg) && i + 1 < argv.length) {
      result.push(arg, REDACTED);
      i++;
    } else {
      result.push(scrubString(arg));
    }
  }
  return result;
}
