import { AppError } from '../../errors.js';
import { readModelIdentity, type ModelIdentity } from '../../models/model-identity.js';
import { parseModelOption } from '../../models/parse-model-option.js';
import type { CheckpointStore } from '../../store/checkpoint-store.js';

export interface ModelIdentityCheck {
  readonly store: CheckpointStore;
  readonly jobId: number;
  readonly jobName: string;
  /** `--model` values of the run (absolute paths, or alias=path). */
  readonly models: readonly string[];
  /** `--accept-model-change`: continue with a changed model, saying so. */
  readonly accept: boolean;
  readonly notice?: (line: string) => void;
}

/**
 * Compares each `--model` file with the identity the job recorded for it (size, modification time,
 * a hash of its ends): another model at the same path would mix two models' answers under one name.
 * A job with answers is refused (MODEL_CHANGED, exit 2) unless `accept`; a file whose only change is
 * its modification time (touched, copied back) is the same model, said in a notice. The identities
 * seen now become the job's. A file that cannot be read is left to the server that loads it.
 */
export async function checkModelIdentities(check: ModelIdentityCheck): Promise<void> {
  const recorded = check.store.modelIdentities(check.jobId);
  const answered = check.store.countByStatus(check.jobId).done > 0;
  const current: ModelIdentity[] = [];
  for (const value of check.models) {
    const { path } = parseModelOption(value, '/');
    const identity = await readModelIdentity(path).catch(() => undefined);
    if (identity !== undefined) current.push(identity);
  }
  // Only files that changed since the job recorded them: an unchanged model says nothing.
  const changes = current.flatMap((now) => {
    const before = recorded.get(now.path);
    const changed = before !== undefined && (before.sizeBytes !== now.sizeBytes || before.sampleHash !== now.sampleHash || before.mtimeMs !== now.mtimeMs);
    return changed ? [{ now, before, what: describeChange(before, now) }] : [];
  });
  const real = changes.filter((c) => c.before.sizeBytes !== c.now.sizeBytes || c.before.sampleHash !== c.now.sampleHash);
  if (real.length > 0 && answered && !check.accept) {
    const list = real.map((c) => `${c.now.path} (${c.what})`).join('; ');
    throw new AppError(
      'MODEL_CHANGED',
      `job "${check.jobName}" was answered by another model at the same path: ${list}. Continuing would mix two models' answers under one name: put the original file back, pass --accept-model-change to continue with this one (the earlier answers stay), or start a new job with --job`,
    );
  }
  for (const c of changes) {
    if (real.includes(c) && answered) check.notice?.(`model ${c.now.path} changed since the job's earlier answers (${c.what}): continuing with it, as --accept-model-change asks; the job now holds answers of both models`);
    else if (!real.includes(c)) check.notice?.(`model ${c.now.path} was modified since the job's earlier runs but its size and content are the same: the same model`);
  }
  check.store.recordModelIdentities(check.jobId, current);
}

/** What differs between two identities of one path, for a message. */
function describeChange(before: ModelIdentity, now: ModelIdentity): string {
  const parts: string[] = [];
  if (before.sizeBytes !== now.sizeBytes) parts.push(`size ${before.sizeBytes} → ${now.sizeBytes} bytes`);
  else if (before.sampleHash !== now.sampleHash) parts.push('same size, other content');
  if (before.mtimeMs !== now.mtimeMs) parts.push(`modified ${new Date(before.mtimeMs).toISOString()} → ${new Date(now.mtimeMs).toISOString()}`);
  return parts.join(', ');
}
