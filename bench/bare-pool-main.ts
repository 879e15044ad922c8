/**
 * The ideal to compare `batch` against: a bare keep-alive node:http pool that sends N chat
 * requests with C in flight and discards the answers. No checkpoints, no output. Given a JSONL
 * prompt file (`{prompt, max_tokens}` lines), it reads and sends that file, as `batch` does.
 * Usage: node .build/bench/bare-pool-main.js URL COUNT CONCURRENCY [FILE]
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';

const [url, countArg, concurrencyArg, file] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const target = new URL('/v1/chat/completions', url);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const lines = file === undefined ? undefined : readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');
const count = lines?.length ?? Number(countArg);

function bodyOf(i: number): string {
  if (lines === undefined) return JSON.stringify({ messages: [{ role: 'user', content: `prompt ${i}` }], max_tokens: 16 });
  const { prompt, max_tokens } = JSON.parse(lines[i]!) as { prompt: string; max_tokens?: number };
  return JSON.stringify({ messages: [{ role: 'user', content: prompt }], max_tokens });
}

function send(i: number): Promise<void> {
  const body = bodyOf(i);
  return new Promise((resolve, reject) => {
    const req = http.request(target, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
        else {
          JSON.parse(Buffer.concat(chunks).toString('utf8'));
          resolve();
        }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

let next = 0;
async function worker(): Promise<void> {
  while (next < count) await send(next++);
}
await Promise.all(Array.from({ length: concurrency }, worker));
agent.destroy();
