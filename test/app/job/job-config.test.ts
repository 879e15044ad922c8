import { describe, expect, it } from 'vitest';
import { jobConfigOf, jobConfigVersion, parseJobConfig } from '../../../src/app/job/job-config.js';

describe('the job config', () => {
  it('keeps only the settings a job remembers, with a version', () => {
    const config = jobConfigOf(['/p/in.jsonl'], { workers: 8, timeoutMs: 5000, servers: ['http://127.0.0.1:1'], db: '/x.sqlite', retryFailed: true, json: true } as never);
    expect(config).toEqual({ version: jobConfigVersion, inputs: ['/p/in.jsonl'], settings: { workers: 8, timeoutMs: 5000, servers: ['http://127.0.0.1:1'] } });
  });

  it('reads back what it wrote, typed', () => {
    const written = jobConfigOf(['-'], { slots: 2, contextSize: 512, stream: true, models: ['q=/m/q.gguf'] });
    const { config, ignored } = parseJobConfig(JSON.parse(JSON.stringify(written)) as Record<string, unknown>, 'db.sqlite');
    expect(config).toEqual(written);
    expect(ignored).toEqual([]);
  });

  it('reads version 0 (flat, as the first wave saved it) into the same shape', () => {
    const v0 = { inputs: ['/p/a'], servers: ['http://127.0.0.1:8080'], workers: 4, timeoutMs: 60000, graceMs: 30000, somethingOld: 1 };
    expect(parseJobConfig(v0, 'db.sqlite').config).toEqual({
      version: jobConfigVersion,
      inputs: ['/p/a'],
      settings: { servers: ['http://127.0.0.1:8080'], workers: 4, timeoutMs: 60000, graceMs: 30000 },
    });
  });

  it('ignores a saved value its row refuses, saying which and what to pass', () => {
    const { config, ignored } = parseJobConfig({ version: 1, inputs: [], settings: { timeoutMs: 0, workers: 'x', retries: 3 } }, 'db.sqlite');
    expect(config.settings).toEqual({ retries: 3 });
    expect(ignored).toEqual([
      'expected `--workers` (saved in db.sqlite) to be a whole number >= 1, got "x"; ignoring it (pass --workers to set it)',
      'expected `--timeout` (saved in db.sqlite) to be a number of seconds > 0, got 0; ignoring it (pass --timeout to set it)',
    ]);
  });

  it('refuses a config written by a newer batch, and a malformed one, naming the database', () => {
    expect(() => parseJobConfig({ version: 7, settings: {} }, 'db.sqlite')).toThrow(/db\.sqlite: the job's saved config has version 7.*update batch/);
    expect(() => parseJobConfig({ version: 1, settings: [] }, 'db.sqlite')).toThrow(/db\.sqlite: expected the job's saved config to hold an object "settings"/);
    expect(() => parseJobConfig({ version: 1, inputs: 'a', settings: {} }, 'db.sqlite')).toThrow(/saved inputs to be a list of paths/);
  });
});
