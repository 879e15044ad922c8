import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { jobDbPath } from '../../src/store/job-paths.js';
import { chat, done, feed } from '../store/fixtures.js';

/**
 * Writes job `name` into the checkpoints folder `home`: four prompts, "one" and "three" done (100
 * and 300 ms), "two" failed with MODEL_NOT_FOUND, "four" pending.
 */
export async function writeDemoJob(home: string, name = 'demo'): Promise<void> {
  const store = CheckpointStore.open({ path: jobDbPath(home, name) });
  const job = store.openJob({ name, config: {}, inputFingerprint: 'f' });
  await store.ingest(job.id, feed([chat('one', 0), chat('two', 1), chat('three', 2), chat('four', 3)]));
  const writer = store.createResultWriter(job.id);
  writer.record(done('three', { latencyMs: 300, model: 'm1' }));
  writer.record(done('one', { latencyMs: 100, response: { statusCode: 200, requestId: 'r1', body: { choices: [{ text: 'say "hi", ok\nbye' }] } } }));
  writer.record({ customId: 'two', status: 'failed', attempts: 1, response: { statusCode: 404, requestId: 'r2', body: { error: 'no model' } }, error: { code: 'MODEL_NOT_FOUND', message: 'model x not found' }, finishedAt: Date.now() });
  await writer.close();
  store.close();
}
