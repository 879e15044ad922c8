import { afterEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { LlamaServerBackend } from '../../src/backends/llama-server-backend.js';
import { OllamaBackend } from '../../src/backends/ollama-backend.js';
import { createBackend, normaliseServerUrl, openBackend } from '../../src/backends/open-backend.js';
import { OpenAiBackend } from '../../src/backends/openai-backend.js';
import { ExitCode, UsageError } from '../../src/errors.js';
import { json, startRecordingServer, type RecordingServer } from './recording-server.js';

let server: RecordingServer | undefined;
let backend: Backend | undefined;
afterEach(async () => {
  await backend?.close();
  await server?.close();
  backend = undefined;
  server = undefined;
});

describe('normaliseServerUrl', () => {
  it('keeps protocol, host and port and strips a trailing /v1', () => {
    expect(normaliseServerUrl('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
    expect(normaliseServerUrl('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080');
    expect(normaliseServerUrl('https://api.example.com/v1/')).toBe('https://api.example.com');
    expect(normaliseServerUrl('http://localhost:11434/v1')).toBe('http://localhost:11434');
  });

  it('refuses credentials without echoing them, and names --api-key-env', () => {
    let caught: unknown;
    try {
      normaliseServerUrl('http://user:s3cret-pass@127.0.0.1:8080');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).exitCode).toBe(ExitCode.Usage);
    expect((caught as Error).message).toContain('--api-key-env');
    expect((caught as Error).message).not.toContain('s3cret-pass');
  });

  it.each([
    ['127.0.0.1:8080', 'add the scheme: http://127.0.0.1:8080'],
    ['ftp://127.0.0.1', 'got scheme "ftp:"'],
    ['http://127.0.0.1:8080/v1/chat/completions', 'got path "/v1/chat/completions"'],
    ['http://127.0.0.1:8080/?x=1', 'without query or fragment'],
  ])('refuses %s', (raw, message) => {
    expect(() => normaliseServerUrl(raw)).toThrow(message);
  });
});

describe('createBackend', () => {
  it('returns the adapter of each flavour, on the normalised URL', () => {
    const made = [
      createBackend('openai', { url: 'http://127.0.0.1:1/v1' }),
      createBackend('llama-server', { url: 'http://127.0.0.1:1' }),
      createBackend('ollama', { url: 'http://127.0.0.1:1' }),
    ];
    expect(made[0]).toBeInstanceOf(OpenAiBackend);
    expect(made[1]).toBeInstanceOf(LlamaServerBackend);
    expect(made[2]).toBeInstanceOf(OllamaBackend);
    expect(made.map((b) => [b.type, b.url])).toEqual([
      ['openai', 'http://127.0.0.1:1'],
      ['llama-server', 'http://127.0.0.1:1'],
      ['ollama', 'http://127.0.0.1:1'],
    ]);
    return Promise.all(made.map((b) => b.close()));
  });

  it('refuses an unknown type', () => {
    expect(() => createBackend('vllm' as never, { url: 'http://127.0.0.1:1' })).toThrow('expected `type` to be one of openai, llama-server, ollama, got "vllm"');
  });
});

describe('openBackend', () => {
  it('detects the flavour, then talks to it', async () => {
    server = await startRecordingServer((req, res) => (req.path === '/props' ? json(res, 200, { total_slots: 3, default_generation_settings: { n_ctx: 1024 } }) : json(res, 404, { error: { message: 'File Not Found' } })));
    backend = await openBackend({ url: `${server.url}/v1` });
    expect(backend).toBeInstanceOf(LlamaServerBackend);
    expect(await backend.describe()).toEqual({ type: 'llama-server', slots: 3, contextSize: 1024, models: [] });
  });

  it('skips detection when the type is given', async () => {
    server = await startRecordingServer((_, res) => json(res, 200, { version: '1' }));
    backend = await openBackend({ url: server.url, type: 'openai' });
    expect(backend).toBeInstanceOf(OpenAiBackend);
    expect(server.requests).toHaveLength(0);
  });
});
