import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Debian's `chromium`, or undefined when it is not installed (`.ci/run` installs it). */
export function findChromium(): string | undefined {
  try {
    const found = execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();
    return found === '' ? undefined : found;
  } catch {
    return undefined;
  }
}

/** What a headless Chromium saw of a page. */
export interface ChromiumVisit {
  /** The DOM after load (`--dump-dom`). */
  readonly dom: string;
  /**
   * Every request the page tried to make to the network (all go through a proxy that records and
   * refuses them), less Chromium's own calls home (`*.google.com` and the like), which any page gets.
   */
  readonly requests: readonly string[];
}

/** Hosts headless Chromium calls by itself (time, accounts, variations), whatever the page. */
const chromiumOwnHosts = /^(CONNECT |GET http:\/\/)([a-z0-9-]+\.)*(google\.com|googleapis\.com|gstatic\.com|gvt1\.com)(:443)?[/?]?/;

/**
 * Opens a local HTML file in headless Chromium, all network traffic sent to a proxy of ours that
 * refuses and records it (loopback too), dumps the DOM, and saves a screenshot when asked.
 */
export async function visitInChromium(chromium: string, file: string, options: { readonly screenshot?: string; readonly windowSize?: string } = {}): Promise<ChromiumVisit> {
  const requests: string[] = [];
  const proxy = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(403).end();
  });
  proxy.on('connect', (req, socket) => {
    requests.push(`CONNECT ${req.url}`);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as AddressInfo).port;
  const profile = mkdtempSync(path.join(os.tmpdir(), 'batch-chromium-'));
  const base = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--no-first-run',
    '--disable-extensions',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-default-apps',
    '--disable-client-side-phishing-detection',
    '--disable-domain-reliability',
    '--no-pings',
    `--user-data-dir=${profile}`,
    `--proxy-server=http://127.0.0.1:${port}`,
    '--proxy-bypass-list=<-loopback>',
    `--window-size=${options.windowSize ?? '1280,2400'}`,
  ];
  const url = pathToFileURL(file).href;
  try {
    const dom = await runChromium(chromium, [...base, '--dump-dom', url]);
    if (options.screenshot !== undefined) await runChromium(chromium, [...base, '--hide-scrollbars', `--screenshot=${options.screenshot}`, url]);
    return { dom, requests: requests.filter((request) => !chromiumOwnHosts.test(request)) };
  } finally {
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Runs Chromium to its end (at most 120 s) and returns its stdout. */
function runChromium(chromium: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(chromium, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`chromium ${args.at(-2) ?? ''} ended with ${signal ?? code}: ${stderr.slice(-2000)}`));
    });
  });
}
