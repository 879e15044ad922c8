import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../sim/sim-server.js';
import { closedPortUrl } from '../helpers/closed-port-url.js';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess, startCliInProcess } from '../helpers/run-cli-in-process.js';
import { pollUntil } from '../helpers/poll-until.js';
import { writePrompts } from '../helpers/write-prompts.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-fleet-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sims: SimServer[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function sim(options: Parameters<typeof startSimServer>[0]): Promise<SimServer> {
  const server = await startSimServer(options);
  sims.push(server);
  return server;
}

function home(name: string): NodeJS.ProcessEnv {
  return { BATCH_HOME: path.join(dir, name) };
}

function promptsFile(name: string, count: number): string {
  const file = path.join(dir, `${name}.jsonl`);
  writePrompts(file, count, name);
  return file;
}

describe('batch run over a fleet of servers', () => {
  it('a malformed servers file, or an unknown flavour in it, is refused with exit 2 naming the place, before anything is sent', async () => {
    const server = await sim({});
    const input = promptsFile('bad', 3);
    const malformed = path.join(dir, 'malformed.json');
    writeFileSync(malformed, '[{"url": "http://127.0.0.1:1" ');
    const first = await runCliInProcess(['run', input, '--server', server.url, '--servers', malformed], { env: home('bad') });
    expect(first.code).toBe(2);
    expect(first.stderr).toContain(`--servers ${malformed}: not valid JSON`);
    const flavour = path.join(dir, 'flavour.json');
    writeFileSync(flavour, JSON.stringify([{ url: server.url }, { url: 'http://127.0.0.1:2', type: 'vllm', slots: 4 }]));
    const second = await runCliInProcess(['run', input, '--servers', flavour], { env: home('bad') });
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`--servers ${flavour}: entry 2 (servers[1]) field "type": expected one of openai, llama-server, ollama (or no "type", to detect it), got "vllm"`);
    expect(server.stats().requests).toBe(0);
    // A refused new job leaves no job database behind.
    const left = existsSync(path.join(dir, 'bad')) ? readdirSync(path.join(dir, 'bad')).filter((f) => f.endsWith('.sqlite')) : [];
    expect(left).toEqual([]);
  });

  it('every server down for 10 s, then back on the same ports: the run pauses, says so once, and finishes with 0 failed', async () => {
    let a = await sim({ slots: 4, serviceMs: 5 });
    let b = await sim({ slots: 4, serviceMs: 5 });
    const fleet = path.join(dir, 'fleet-down.json');
    writeFileSync(fleet, JSON.stringify([{ url: a.url }, { url: b.url, type: 'llama-server' }]));
    const out = path.join(dir, 'down.out.jsonl');
    const run = startCliInProcess(['run', promptsFile('down', 400), '--servers', fleet, '--workers', '8', '--out', out], { env: home('down') });
    await pollUntil(() => a.stats().completed + b.stats().completed >= 60, '60 answers');
    await Promise.all([a.close(), b.close()]);
    await run.waitFor('every server is down since');
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    a = await sim({ slots: 4, serviceMs: 5, port: a.port });
    b = await sim({ slots: 4, serviceMs: 5, port: b.port });
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr.match(/every server is down since \d\d:\d\d:\d\d: paused/g)).toHaveLength(1);
    expect(result.stderr).toMatch(/server http:\/\/127\.0\.0\.1:\d+ answers again after \d+\.\ds with every server down: resuming/);
    // The resume notice names the server that ended the pause; no second line says it again.
    expect(result.stderr).not.toMatch(/answers again after \d+\.\ds: it takes requests\n.*with every server down: resuming/);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(lines).toHaveLength(400);
    expect(new Set(lines.map((l) => l.custom_id)).size).toBe(400);
    expect(lines.every((l) => l.error === null || l.error === undefined)).toBe(true);
    expect(a.stats().completed + b.stats().completed).toBeGreaterThan(0);
  }, 60_000);

  it('--max-down ends a run whose only server stays down with exit 3, resumable; resume reads the remembered servers file', async () => {
    let server = await sim({ slots: 2, serviceMs: 5 });
    const input = promptsFile('gone', 100);
    const out = path.join(dir, 'gone.out.jsonl');
    writeFileSync(path.join(dir, 'gone-fleet.json'), JSON.stringify([{ url: server.url, type: 'llama-server' }]));
    const run = startCliInProcess(['run', input, '--servers', 'gone-fleet.json', '--workers', '2', '--max-down', '0.5', '--job', 'gone', '--out', out], { env: home('gone'), cwd: dir });
    await pollUntil(() => server.stats().completed >= 10, '10 answers');
    const port = server.port;
    await server.close();
    const result = await run.done;
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/ALL_SERVERS_DOWN.*longer than --max-down 0.5 s.*continue with `batch resume gone`/);
    server = await sim({ slots: 2, serviceMs: 5, port });
    const resumed = await runCliInProcess(['resume', 'gone', '--quiet'], { env: home('gone') });
    expect(resumed.code, resumed.stderr).toBe(0);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(lines).toHaveLength(100);
  });

  it('a --server that does not answer at start no longer refuses the run: it starts on the others and brings it in when it appears', async () => {
    const up = await sim({ slots: 2, serviceMs: 20 });
    const missing = await closedPortUrl();
    const out = path.join(dir, 'late.out.jsonl');
    const run = startCliInProcess(['run', promptsFile('late', 200), '--server', up.url, '--server', missing, '--workers', '4', '--out', out], { env: home('late') });
    await run.waitFor(`server ${missing} does not answer`);
    const late = await sim({ slots: 2, serviceMs: 20, port: Number(new URL(missing).port) });
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`server ${missing} answers now: it takes requests`);
    expect(late.stats().completed).toBeGreaterThan(0);
    expect(parseJsonl(readFileSync(out, 'utf8'))).toHaveLength(200);

    // None answers: refused as before, naming the URL.
    const refused = await runCliInProcess(['run', promptsFile('none', 2), '--server', await closedPortUrl()], { env: home('none') });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/SERVER_UNREACHABLE.*cannot reach http:\/\/127\.0\.0\.1:\d+/);
  });

  it('a server answering 503 "Loading model" is waited for, not failed', async () => {
    const loading = await sim({ slots: 2, serviceMs: 1, loadMs: 1500 });
    const out = path.join(dir, 'loading.out.jsonl');
    const result = await runCliInProcess(['run', promptsFile('loading', 20), '--server', loading.url, '--out', out], { env: home('loading') });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`server ${loading.url} is loading its model`);
    expect(parseJsonl(readFileSync(out, 'utf8')).every((l) => l.response.status_code === 200)).toBe(true);
  });
});
