import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer } from '../sim/sim-server.js';
import { getJson, postJson, send } from './http.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const mainJs = path.join(root, '.build/test/sim/sim-server-main.js');
const binDir = path.join(root, 'test/sim/bin');

const children: ChildProcess[] = [];
let scratch: string;

beforeAll(() => {
  for (const file of [mainJs, path.join(root, '.build/test/sim/fake-llama-server.js')]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: build it with \`npx tsc -p tsconfig.tools.json\` (npm test does)`);
  }
  scratch = mkdtempSync(path.join(tmpdir(), 'sim-server-test-'));
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function start(command: string, args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  return child;
}

/** Everything the stream has written so far, and the first match of `pattern`, or the exit that came first. */
function waitFor(child: ChildProcess, stream: Readable, pattern: RegExp): Promise<{ match: RegExpExecArray; text: () => string }> {
  let text = '';
  stream.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    const onData = (chunk: string): void => {
      text += chunk;
      const match = pattern.exec(text);
      if (match !== null) resolve({ match, text: () => text });
    };
    stream.on('data', onData);
    // 'close' rather than 'exit': output can still be buffered when the process has exited.
    child.once('close', (code) => reject(new Error(`exited with ${code} before printing ${pattern}; output:\n${text}`)));
  });
}

async function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = await once(child, 'exit');
  return code as number | null;
}

/** The exit code and all of stderr, once the process has exited and its pipes are drained. */
async function failureOf(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = await once(child, 'close');
  return { code: code as number | null, stderr };
}

describe('sim-server-main', () => {
  it('prints one line with its URL and pid, serves the flags it got, and exits when stdin closes', async () => {
    const child = start(process.execPath, [mainJs, '--port', '0', '--slots', '8', '--service-ms', '1', '--flavour', 'llama-server', '--models', 'a,b', '--completion-tokens', '5', '--seed', '3']);
    const { match, text } = await waitFor(child, child.stdout!, /^(.*)\n/);
    const line = JSON.parse(match[1]!) as { url: string; pid: number };
    expect(line.pid).toBe(child.pid);
    expect(line.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await getJson(`${line.url}/props`)).json.total_slots).toBe(8);
    const answer = await postJson(`${line.url}/v1/completions`, { model: 'b', prompt: 'hi' });
    expect(answer.json).toMatchObject({ model: 'b', usage: { completion_tokens: 5 } });
    expect((await getJson(`${line.url}/__sim/stats`)).json).toMatchObject({ requests: 1, completed: 1, models: { b: 1 } });
    child.stdin!.end();
    expect(await exitOf(child)).toBe(0);
    expect(text()).toBe(`${match[1]}\n`);
  });

  it('reads the API key from the named env variable and exits on SIGTERM', async () => {
    const child = start(process.execPath, [mainJs, '--flavour', 'openai', '--api-key-env', 'SIM_TEST_KEY'], { SIM_TEST_KEY: 'abc' });
    const { url } = JSON.parse((await waitFor(child, child.stdout!, /^(.*)\n/)).match[1]!) as { url: string };
    expect((await send(`${url}/v1/models`)).status).toBe(401);
    expect((await send(`${url}/v1/models`, { headers: { authorization: 'Bearer abc' } })).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exitOf(child)).toBe(0);
  });

  it('exits with 2 and names the flag when a flag is invalid', async () => {
    const child = start(process.execPath, [mainJs, '--slots', 'many']);
    const { code, stderr } = await failureOf(child);
    expect(code).toBe(2);
    expect(stderr).toContain('Expected `--slots` to be a number, got `many`');
  });
});

describe('fake llama-server', () => {
  const listening = /server is listening on http:\/\/127\.0\.0\.1:(\d+)/;

  it('runs from test/sim/bin on PATH, honours -m, -np and -c, ignores other flags and logs its start', async () => {
    const model = path.join(scratch, 'tiny-q4.gguf');
    writeFileSync(model, 'GGUF');
    const startLog = path.join(scratch, 'starts.jsonl');
    const child = start('llama-server', ['-m', model, '--host', '127.0.0.1', '--port', '0', '-np', '3', '-c', '3000', '-ngl', '99', '--jinja', '--cache-type-k', 'f16', '-cb'], {
      PATH: `${binDir}${path.delimiter}${process.env['PATH']}`,
      SIM_START_LOG: startLog,
    });
    const port = Number((await waitFor(child, child.stderr!, listening)).match[1]);
    const url = `http://127.0.0.1:${port}`;
    const props = (await getJson(`${url}/props`)).json;
    expect(props).toMatchObject({ total_slots: 3, model_path: model, default_generation_settings: { n_ctx: 1000 } });
    expect((await getJson(`${url}/v1/models`)).json.data.map((entry: any) => entry.id)).toEqual(['tiny-q4.gguf']);
    expect((await postJson(`${url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'x' }] })).status).toBe(200);
    const starts = readFileSync(startLog, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(starts).toEqual([{ pid: expect.any(Number), model, port, time: expect.any(Number) }]);
    // The real binary ignores stdin; batch's orphan protection must not rely on it.
    child.stdin!.end();
    expect((await getJson(`${url}/health`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exitOf(child)).toBe(0);
  });

  it('defaults to one slot and reports 503 while SIM_LOAD_MS runs', async () => {
    const model = path.join(scratch, 'slow.gguf');
    writeFileSync(model, 'GGUF');
    const child = start(process.execPath, [path.join(root, '.build/test/sim/fake-llama-server.js'), '--model', model, '--port', '0'], { SIM_LOAD_MS: '60000' });
    const port = Number((await waitFor(child, child.stderr!, /HTTP server is listening, hostname: 127\.0\.0\.1, port: (\d+)/)).match[1]);
    expect((await getJson(`http://127.0.0.1:${port}/health`)).status).toBe(503);
    child.kill('SIGTERM');
    expect(await exitOf(child)).toBe(0);
  });

  it('exits with 1 when the model file does not exist', async () => {
    const child = start(process.execPath, [path.join(root, '.build/test/sim/fake-llama-server.js'), '-m', path.join(scratch, 'absent.gguf'), '--port', '0']);
    const { code, stderr } = await failureOf(child);
    expect(code).toBe(1);
    expect(stderr).toMatch(/failed to open GGUF file .*absent\.gguf/);
  });

  it('exits with 1 and llama-server\'s bind message when the port is in use', async () => {
    const model = path.join(scratch, 'busy.gguf');
    writeFileSync(model, 'GGUF');
    const occupant = await startSimServer();
    try {
      const child = start(process.execPath, [path.join(root, '.build/test/sim/fake-llama-server.js'), '-m', model, '--port', String(occupant.port)]);
      const { code, stderr } = await failureOf(child);
      expect(code).toBe(1);
      expect(stderr).toContain(`couldn't bind HTTP server socket, hostname: 127.0.0.1, port: ${occupant.port}`);
    } finally {
      await occupant.close();
    }
  });
});
