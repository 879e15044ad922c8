import { afterEach, describe, expect, it } from 'vitest';
import { detectServerType } from '../../src/backends/detect-server-type.js';
import { BackendError, ExitCode } from '../../src/errors.js';
import { json, startRecordingServer, type Handler, type RecordingServer } from './recording-server.js';
import { closedPortUrl } from '../helpers/closed-port-url.js';

let server: RecordingServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function detect(handler: Handler, options: { apiKey?: string; timeoutMs?: number } = {}): Promise<unknown> {
  server = await startRecordingServer(handler);
  return detectServerType(server.url, options).catch((error: unknown) => error);
}

function notFound(_: unknown, res: Parameters<Handler>[1]): void {
  json(res, 404, { error: { message: 'not found' } });
}

describe('detectServerType', () => {
  it("detects Ollama by /api/version", async () => {
    expect(await detect((req, res) => (req.path === '/api/version' ? json(res, 200, { version: '0.12.3' }) : notFound(req, res)))).toBe('ollama');
    expect(server!.requests.map((r) => r.path).sort()).toEqual(['/api/version', '/props']);
  });

  it('asks /api/version and /props at once: one round trip before the first prompt, not two', async () => {
    // Neither is answered until both have arrived: probed one after the other, this would time out.
    const held: Array<() => void> = [];
    const type = await detect(
      (req, res) => {
        held.push(() => (req.path === '/props' ? json(res, 200, { total_slots: 4 }) : notFound(req, res)));
        if (held.length === 2) for (const answer of held) answer();
      },
      { timeoutMs: 10_000 },
    );
    expect(type).toBe('llama-server');
    expect(server!.requests.map((r) => r.path).sort()).toEqual(['/api/version', '/props']);
  });

  it('an Ollama is known by /api/version even when its /props never answers', async () => {
    const type = await detect((req, res) => (req.path === '/api/version' ? json(res, 200, { version: '0.12.3' }) : undefined), { timeoutMs: 300 });
    expect(type).toBe('ollama');
  });

  it('detects Ollama by "Ollama is running" at /', async () => {
    const type = await detect((req, res) => {
      if (req.path === '/') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('Ollama is running');
      } else notFound(req, res);
    });
    expect(type).toBe('ollama');
  });

  it('detects llama-server by /props with total_slots', async () => {
    expect(await detect((req, res) => (req.path === '/props' ? json(res, 200, { total_slots: 2, default_generation_settings: { n_ctx: 512 } }) : notFound(req, res)))).toBe('llama-server');
  });

  it('detects an OpenAI-compatible server by /v1/models, sending the API key', async () => {
    const type = await detect(
      (req, res) => (req.path === '/v1/models' && req.headers.authorization === 'Bearer k-123' ? json(res, 200, { data: [{ id: 'x' }] }) : notFound(req, res)),
      { apiKey: 'k-123' },
    );
    expect(type).toBe('openai');
  });

  it('says what it saw and suggests --server-type when nothing matches', async () => {
    const error = (await detect(notFound)) as BackendError;
    expect(error).toBeInstanceOf(BackendError);
    expect(error.code).toBe('SERVER_UNRECOGNISED');
    expect(error.retryable).toBe(false);
    expect(error.exitCode).toBe(ExitCode.Environment);
    expect(error.message).toContain('GET /api/version → 404, GET /props → 404, GET /v1/models → 404, GET / → 404');
    expect(error.message).toContain('pass --server-type');
  });

  it('says the API key was refused on a 401, without showing it', async () => {
    const error = (await detect((req, res) => json(res, 401, { error: { message: 'invalid key' } }), { apiKey: 'sk-hidden-999' })) as BackendError;
    expect(error.code).toBe('AUTH_FAILED');
    expect(error.exitCode).toBe(ExitCode.Environment);
    expect(error.statusCode).toBe(401);
    expect(error.message).toContain('--api-key-env');
    expect(error.message).not.toContain('sk-hidden-999');
  });

  it('fails with SERVER_UNREACHABLE, exit code 3 and the fix when nothing listens', async () => {
    const url = await closedPortUrl();
    const error = (await detectServerType(url).catch((e: unknown) => e)) as BackendError;
    expect(error).toBeInstanceOf(BackendError);
    expect(error.code).toBe('SERVER_UNREACHABLE');
    expect(error.retryable).toBe(false);
    expect(error.exitCode).toBe(ExitCode.Environment);
    expect(error.url).toBe(url);
    expect(error.message).toBe(`cannot reach ${url} (ECONNREFUSED): check that the server is running and that --server is right`);
  });

  it('gives up on a server that accepts and never answers, within the probe timeout', async () => {
    const error = (await detect(() => undefined, { timeoutMs: 150 })) as BackendError;
    expect(error).toBeInstanceOf(BackendError);
    expect(error.code).toBe('REQUEST_TIMEOUT');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('within 150 ms');
  });
});
