import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { closedPortUrl } from '../helpers/closed-port-url.js';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { writeSimLlamaServer } from '../servers/server-fixtures.js';
import { startSimServer } from '../sim/sim-server.js';

let dir: string;
let good: string;
let corrupt: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-fallback-'));
  good = path.join(dir, 'good.gguf');
  corrupt = path.join(dir, 'corrupt.gguf');
  await writeTinyLlamaGguf(good);
  // A download cut short and overwritten: no GGUF header at all.
  writeFileSync(corrupt, Buffer.from('this is no GGUF file, just garbage bytes '.repeat(50)));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface ItemRow {
  custom_id: string;
  status: string;
  served_model: string | null;
  fallback_from: string | null;
  fallback_reason: string | null;
}

function itemsOf(db: string): ItemRow[] {
  const conn = new Database(db, { readonly: true });
  try {
    return conn.prepare('SELECT custom_id, status, served_model, fallback_from, fallback_reason FROM items ORDER BY idx').all() as ItemRow[];
  } finally {
    conn.close();
  }
}

describe('--fallback with managed servers', () => {
  it('sends the prompts of a model whose GGUF is corrupt to its fallback: every prompt answered, the output and the database name who answered', async () => {
    const file = path.join(dir, 'managed.jsonl');
    writePrompts(file, 12, 'p', (i) => ({ max_tokens: 4, model: i % 2 === 0 ? 'corrupt' : 'good' }));
    const out = path.join(dir, 'managed.out.jsonl');
    const db = path.join(dir, 'managed.sqlite');
    const startLog = path.join(dir, 'managed-starts.jsonl');
    const metrics = path.join(dir, 'managed-metrics.jsonl');
    const llamaServer = writeSimLlamaServer(dir, { SIM_START_LOG: startLog }, 'llama-server-fallback');
    const args = ['run', file, '--model', good, '--model', corrupt, '--fallback', 'corrupt=good', '--slots', '2', '--llama-server', llamaServer, '--out', out, '--db', db, '--job', 'managed-fb', '--metrics', metrics];
    const result = await runCliInProcess(args, { env: { BATCH_HOME: path.join(dir, 'home-managed') } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/model corrupt's server could not start \(MODEL_INVALID\b.*its prompts go to model good \(--fallback corrupt=good\)/);
    // Only the good model's server ever started.
    expect(readFileSync(startLog, 'utf8').trim().split('\n').map((line) => path.basename(JSON.parse(line).model))).toEqual(['good.gguf']);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(lines).toHaveLength(12);
    expect(lines.every((l) => l.error === null && typeof l.response.body.choices[0].message.content === 'string')).toBe(true);
    const rows = itemsOf(db);
    const answeringModel = rows.find((r) => r.custom_id === 'p1')!.served_model;
    expect(answeringModel).not.toBeNull();
    for (const [i, line] of lines.entries()) {
      const row = rows.find((r) => r.custom_id === line.custom_id)!;
      expect(row.status).toBe('done');
      expect(row.served_model).toBe(answeringModel);
      if (i % 2 === 0) {
        expect(line.fallback).toEqual({ from: 'corrupt', model: answeringModel });
        expect(row.fallback_from).toBe('corrupt');
        expect(row.fallback_reason).toBe('server could not start (MODEL_INVALID)');
      } else {
        expect(line.fallback).toBeUndefined();
        expect(row.fallback_from).toBeNull();
      }
    }
    expect(result.stdout).toContain(`fallback    6 prompt(s) of corrupt answered by ${answeringModel} (fallback: corrupt's server could not start (MODEL_INVALID))`);
    const promptMetrics = parseJsonl(readFileSync(metrics, 'utf8')).filter((l) => l.kind === 'prompt');
    expect(promptMetrics.filter((l) => l.fallback_from === 'corrupt').map((l) => l.custom_id).sort()).toEqual(['p0', 'p10', 'p2', 'p4', 'p6', 'p8']);
    expect(promptMetrics.every((l) => l.model === answeringModel)).toBe(true);
    // Remembered with the job, as --model is: `batch resume` sends the same way.
    const conn = new Database(db, { readonly: true });
    const config = JSON.parse(conn.prepare('SELECT config FROM jobs').pluck().get() as string);
    conn.close();
    expect(config.settings.fallbacks).toEqual(['corrupt=good']);
    const report = await runCliInProcess(['report', 'managed-fb', '--db', db], { env: { BATCH_HOME: path.join(dir, 'home-managed') } });
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain(`6 prompt(s) of corrupt answered by ${answeringModel}`);
    const html = path.join(dir, 'managed-report.html');
    const htmlReport = await runCliInProcess(['report', 'managed-fb', '--db', db, '--html', html], { env: { BATCH_HOME: path.join(dir, 'home-managed') } });
    expect(htmlReport.code, htmlReport.stderr).toBe(0);
    expect(readFileSync(html, 'utf8')).toContain(`<td>corrupt</td><td>${answeringModel}</td><td class="n">6</td><td class="msg">corrupt&#39;s server could not start (MODEL_INVALID)</td>`);
  }, 120_000);

  it('without --fallback, the corrupt model fails its own prompts as before and nothing says fallback', async () => {
    const file = path.join(dir, 'plain.jsonl');
    writePrompts(file, 4, 'q', (i) => ({ max_tokens: 4, model: i % 2 === 0 ? 'corrupt' : 'good' }));
    const out = path.join(dir, 'plain.out.jsonl');
    const llamaServer = writeSimLlamaServer(dir, {}, 'llama-server-plain');
    const result = await runCliInProcess(['run', file, '--model', good, '--model', corrupt, '--llama-server', llamaServer, '--out', out], { env: { BATCH_HOME: path.join(dir, 'home-plain') } });
    expect(result.code).toBe(4);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(lines.filter((l) => l.error !== null).map((l) => l.error.code)).toEqual(['MODEL_INVALID', 'MODEL_INVALID']);
    expect(lines.every((l) => !('fallback' in l))).toBe(true);
    expect(result.stdout).not.toMatch(/^\s*fallback /m);
  }, 120_000);

  const refusals: ReadonlyArray<[string, string[], RegExp]> = [
    ['an unknown model', ['--fallback', 'corrupt=nope'], /--fallback corrupt=nope: no model "nope" among --model .*good\.gguf/],
    ['itself', ['--fallback', 'good=good'], /--fallback good=good: model "good" falls back to itself/],
    ['a cycle', ['--fallback', 'good=corrupt', '--fallback', 'corrupt=good'], /"good" and "corrupt" fall back to each other \(a cycle\)/],
    ['a chain', ['--fallback', 'corrupt=good', '--fallback', 'good=other'], /no model "other"|chains are not followed/],
    ['no =', ['--fallback', 'corrupt'], /--fallback "corrupt": expected MODEL=OTHER/],
    ['two fallbacks for one model', ['--fallback', 'corrupt=good', '--fallback', 'corrupt=other'], /no model "other"|already falls back/],
  ];
  for (const [what, flags, message] of refusals) {
    it(`refuses a fallback naming ${what} before any server starts (exit 2)`, async () => {
      const file = path.join(dir, 'refused.jsonl');
      writePrompts(file, 2, 'r', () => ({ max_tokens: 4, model: 'good' }));
      const startLog = path.join(dir, `refused-${what.replace(/\W+/g, '-')}.jsonl`);
      const llamaServer = writeSimLlamaServer(dir, { SIM_START_LOG: startLog }, 'llama-server-refused');
      const result = await runCliInProcess(['run', file, '--model', good, '--model', corrupt, ...flags, '--llama-server', llamaServer], { env: { BATCH_HOME: path.join(dir, 'home-refused') } });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(existsSync(startLog)).toBe(false);
    });
  }

  it('refuses a chain between models the run serves', async () => {
    const third = path.join(dir, 'third.gguf');
    await writeTinyLlamaGguf(third);
    const file = path.join(dir, 'chain.jsonl');
    writePrompts(file, 2, 'c', () => ({ max_tokens: 4, model: 'good' }));
    const result = await runCliInProcess(['run', file, '--model', good, '--model', corrupt, '--model', third, '--fallback', 'corrupt=good', '--fallback', 'good=third'], { env: { BATCH_HOME: path.join(dir, 'home-chain') } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--fallback corrupt=good: "good" falls back to "third" itself \(--fallback good=third\); chains are not followed/);
  });
});

describe('--fallback with a fleet', () => {
  it('sends the prompts of a model whose server stays down past --fallback-after to the fallback named in the servers file', async () => {
    const server = await startSimServer({ models: ['b'] });
    try {
      const down = await closedPortUrl();
      const servers = path.join(dir, 'servers.json');
      writeFileSync(servers, JSON.stringify([{ url: down, type: 'openai', models: ['a'], fallback: 'b' }, { url: server.url, type: 'openai', models: ['b'] }]));
      const file = path.join(dir, 'fleet.jsonl');
      writePrompts(file, 10, 'f', (i) => ({ max_tokens: 4, model: i < 5 ? 'a' : 'b' }));
      const out = path.join(dir, 'fleet.out.jsonl');
      const db = path.join(dir, 'fleet.sqlite');
      const result = await runCliInProcess(['run', file, '--servers', servers, '--fallback-after', '1', '--out', out, '--db', db], { env: { BATCH_HOME: path.join(dir, 'home-fleet') } });
      expect(result.code, result.stderr).toBe(0);
      const lines = parseJsonl(readFileSync(out, 'utf8'));
      expect(lines.every((l) => l.error === null)).toBe(true);
      expect(lines.slice(0, 5).map((l) => l.fallback)).toEqual(Array(5).fill({ from: 'a', model: 'b' }));
      expect(lines.slice(5).every((l) => l.fallback === undefined)).toBe(true);
      // Every prompt reached b's server, as model b.
      expect(server.stats().requests).toBe(10);
      const rows = itemsOf(db);
      expect(rows.filter((r) => r.fallback_from === 'a').map((r) => r.fallback_reason)).toEqual(Array(5).fill('servers were down longer than --fallback-after 1 s'));
      expect(result.stdout).toContain("fallback    5 prompt(s) of a answered by b (fallback: a's servers were down longer than --fallback-after 1 s)");
    } finally {
      await server.close();
    }
  }, 60_000);

  it('refuses --fallback naming a model none of the --server URLs lists, before any prompt is sent', async () => {
    const server = await startSimServer({ models: ['a', 'b'] });
    try {
      const file = path.join(dir, 'fleet-flag.jsonl');
      writePrompts(file, 2, 'y', () => ({ max_tokens: 4, model: 'a' }));
      const result = await runCliInProcess(['run', file, '--server', server.url, '--fallback', 'a=zz'], { env: { BATCH_HOME: path.join(dir, 'home-fleet-flag') } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--fallback a=zz: no model "zz" is served by any server (they serve a, b); name a model the run serves');
      expect(server.stats().requests).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('refuses a servers file whose fallback names a model no server serves, or has no models', async () => {
    const file = path.join(dir, 'fleet-refused.jsonl');
    writePrompts(file, 2, 'x', () => ({ max_tokens: 4, model: 'a' }));
    const url = await closedPortUrl();
    const unknown = path.join(dir, 'servers-unknown.json');
    writeFileSync(unknown, JSON.stringify([{ url, type: 'openai', models: ['a'], fallback: 'zz' }]));
    let result = await runCliInProcess(['run', file, '--servers', unknown], { env: { BATCH_HOME: path.join(dir, 'home-fleet-refused') } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--servers ${unknown}: entry 1 (servers[0]) field "fallback": no model "zz" is served by any server of --servers ${unknown}`);
    const noModels = path.join(dir, 'servers-no-models.json');
    writeFileSync(noModels, JSON.stringify([{ url, type: 'openai', fallback: 'b' }]));
    result = await runCliInProcess(['run', file, '--servers', noModels], { env: { BATCH_HOME: path.join(dir, 'home-fleet-refused') } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--servers ${noModels}: entry 1 (servers[0]) field "fallback": says whose prompts go to "b" only with "models"`);
  });
});
