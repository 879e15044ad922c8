import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Backend, ServerType } from '../../src/backends/backend.js';
import { detectServerType } from '../../src/backends/detect-server-type.js';
import { normaliseServerUrl, openBackend } from '../../src/backends/open-backend.js';
import { AppError, ExitCode } from '../../src/errors.js';
import { simAnswer, startSimServer, type SimServer } from '../sim/sim-server.js';
import { backendFailure } from './backend-failure.js';
import { closedPortUrl } from '../helpers/closed-port-url.js';

let sim: SimServer | undefined;
let backend: Backend | undefined;

afterEach(async () => {
  await backend?.close();
  await sim?.close();
  backend = undefined;
  sim = undefined;
});

/** The AppError `action` throws or rejects with; fails when it succeeds. */
async function appFailure(action: () => unknown): Promise<AppError> {
  try {
    await action();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected an AppError, but the call succeeded');
}

describe('detectServerType', () => {
  it.each(['llama-server', 'ollama', 'openai'] as const)('detects %s', async (flavour: ServerType) => {
    sim = await startSimServer({ flavour });
    expect(await detectServerType(sim.url)).toBe(flavour);
    // Detection sends no completion request.
    expect(sim.stats().requests).toBe(0);
  });

  it('detects llama-server while its model is still loading', async () => {
    sim = await startSimServer({ flavour: 'llama-server', loadMs: 60_000 });
    expect(await detectServerType(sim.url)).toBe('llama-server');
  });

  it('fails on an unreachable port with SERVER_UNREACHABLE, exit code 3, naming the URL and the fix', async () => {
    const url = await closedPortUrl();
    const error = await backendFailure(detectServerType(url));
    expect(error).toMatchObject({ code: 'SERVER_UNREACHABLE', exitCode: ExitCode.Environment, url });
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain(url);
    expect(error.message).toContain('check that the server is running');
  });

  it('names what it saw when the server is no model server', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('nothing here');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const error = await backendFailure(detectServerType(url));
      expect(error.code).toBe('SERVER_UNRECOGNISED');
      expect(error.message).toContain('GET /v1/models → 404');
      expect(error.message).toContain('--server-type');
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  });
});

describe('openBackend', () => {
  it('detects the flavour and strips a trailing /v1 from the URL', async () => {
    sim = await startSimServer({ flavour: 'ollama' });
    backend = await openBackend({ url: `${sim.url}/v1` });
    expect(backend.type).toBe('ollama');
    expect(backend.url).toBe(sim.url);
    const result = await backend.complete({ endpoint: '/v1/chat/completions', body: { model: 'sim-model', messages: [{ role: 'user', content: 'via /v1' }] }, timeoutMs: 10_000 });
    expect((result.body as Record<string, any>).choices[0].message.content).toBe(simAnswer('via /v1'));
  });

  it('takes a given type without probing', async () => {
    sim = await startSimServer({ flavour: 'openai' });
    backend = await openBackend({ url: `${sim.url}/v1/`, type: 'llama-server' });
    expect(backend.type).toBe('llama-server');
    expect(backend.url).toBe(sim.url);
  });

  it('normalises base URLs', () => {
    expect(normaliseServerUrl('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
    expect(normaliseServerUrl('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080');
    expect(normaliseServerUrl('http://127.0.0.1:8080/v1')).toBe('http://127.0.0.1:8080');
    expect(normaliseServerUrl('https://models.example:443/v1/')).toBe('https://models.example');
  });

  it('refuses credentials in the URL, pointing at --api-key-env and never quoting them', async () => {
    const error = await appFailure(() => openBackend({ url: 'http://user:sk-CREDENTIAL-42@127.0.0.1:8080/v1' }));
    expect(error).toMatchObject({ code: 'USAGE', exitCode: ExitCode.Usage });
    expect(error.message).toContain('--api-key-env');
    expect(error.message).not.toContain('sk-CREDENTIAL-42');
    expect(error.message).not.toContain('user');
  });

  it.each([
    ['ftp://127.0.0.1:21', 'ftp:'],
    ['not a url', 'not a url'],
    ['127.0.0.1:8080', '127.0.0.1:8080'],
    ['http://127.0.0.1:8080/api/chat', '/api/chat'],
  ])('refuses %s as a usage error quoting it', async (url, quoted) => {
    const error = await appFailure(() => openBackend({ url }));
    expect(error).toMatchObject({ code: 'USAGE', exitCode: ExitCode.Usage });
    expect(error.message).toContain('--server');
    expect(error.message).toContain(quoted);
  });

  it('fails on an unreachable server before returning a backend', async () => {
    const url = await closedPortUrl();
    const error = await backendFailure(openBackend({ url }));
    expect(error).toMatchObject({ code: 'SERVER_UNREACHABLE', exitCode: ExitCode.Environment });
    expect(error.message).toContain(url);
  });
});
