/**
 * The ideal to compare `batch` against: a bare keep-alive node:http pool that sends N chat
 * requests with C in flight and discards the answers. No reading, no checkpoints, no output.
 * Usage: node .build/bench/bare-pool-main.js URL COUNT CONCURRENCY
 */
import http from 'node:http';

const [url, countArg, concurrencyArg] = process.argv.slice(2);
const count = Number(countArg);
const concurrency = Number(concurrencyArg);
const target = new URL('/v1/chat/completions', url);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function send(i: number): Promise<void> {
  const body = JSON.stringify({ messages: [{ role: 'user', content: `prompt ${i}` }], max_tokens: 16 });
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
