import { AppError } from '../../errors.js';
import { contentFingerprintPrefix } from '../../prompts/input-content-hash.js';
import { formatInputShard, type InputShard } from '../../prompts/input-shard.js';
import type { JobRecord } from '../../store/store-records.js';

/** One shard's job, as much of it as the check reads. */
export interface ShardInputs {
  readonly store: { readonly path: string };
  readonly job: JobRecord;
  readonly shard: InputShard;
}

/**
 * Checks that the shards of job `whole` read inputs of the same content: every shard reads the
 * whole input, so each holds the same content fingerprint (`InputContentHash`) when they read the
 * same prompts. Shards run on a file whose content changed between them (the same path, other
 * lines) would merge into an output that silently lacks the prompts one of them never saw.
 * Throws SHARDS_MISMATCHED (exit 2) naming each shard's fingerprint and the fix. A shard without
 * a content fingerprint (from a `batch` before it, or still reading) is not compared here: one
 * still reading is an unfinished shard, which export refuses without --partial.
 */
export function checkShardInputs(whole: string, shards: readonly ShardInputs[]): void {
  const known = shards.filter((s) => s.job.inputFingerprint.startsWith(contentFingerprintPrefix));
  const first = known[0];
  if (first === undefined || known.every((s) => s.job.inputFingerprint === first.job.inputFingerprint)) return;
  const described = known
    .map((s) => `shard ${formatInputShard(s.shard)} (${s.store.path}) read ${s.job.inputFingerprint.slice(0, contentFingerprintPrefix.length + 12)}…`)
    .join(', ');
  throw new AppError(
    'SHARDS_MISMATCHED',
    `the shards of job "${whole}" read inputs of different content: ${described}; every shard must read the same prompts. Run the odd shard again with the inputs the others read (\`batch run <inputs> --job ${whole} --shard K/N\` reads them anew and sends only the prompts that changed), then export again`,
  );
}
