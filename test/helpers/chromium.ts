import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
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
  /** The DOM after load. */
  readonly dom: string;
  /**
   * Every request the page itself made (its document excluded), as `METHOD url`, from the browser's
   * own record of the page (DevTools' Network domain). The browser's background calls (component
   * updates, time, accounts) are not the page's and are not listed, whichever host they go to.
   */
  readonly requests: readonly string[];
}

/** Flags that keep the browser from calling home on its own; what it still tries goes to the refusing proxy. */
const quietFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-extensions',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-client-side-phishing-detection',
  '--disable-domain-reliability',
  '--disable-field-trial-config',
  '--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater',
  '--metrics-recording-only',
  '--password-store=basic',
  '--no-pings',
];

/**
 * Opens a local HTML file in headless Chromium, driven over its DevTools pipe, with all network
 * traffic sent to a proxy of ours that refuses it (loopback too): returns the DOM after load and the
 * requests the page made, and saves a screenshot when asked.
 */
export async function visitInChromium(chromium: string, file: string, options: { readonly screenshot?: string; readonly windowSize?: string } = {}): Promise<ChromiumVisit> {
  const proxy = createServer((_req, res) => res.writeHead(403).end());
  proxy.on('connect', (_req, socket) => {
    // The browser may reset a refused tunnel as it closes: nothing to report.
    socket.on('error', () => undefined);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  proxy.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as AddressInfo).port;
  const profile = mkdtempSync(path.join(os.tmpdir(), 'batch-chromium-'));
  const [width, height] = (options.windowSize ?? '1280,2400').split(',').map(Number) as [number, number];
  const args = [...quietFlags, `--user-data-dir=${profile}`, `--proxy-server=http://127.0.0.1:${port}`, '--proxy-bypass-list=<-loopback>', `--window-size=${width},${height}`, '--remote-debugging-pipe', 'about:blank'];
  const child = spawn(chromium, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  const devtools = new DevToolsPipe(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  try {
    const url = pathToFileURL(file).href;
    const { targetId } = (await devtools.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await devtools.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    const requests: string[] = [];
    devtools.on('Network.requestWillBeSent', sessionId, (params) => {
      const request = (params as { request: { method: string; url: string } }).request;
      if (request.url !== url) requests.push(`${request.method} ${request.url}`);
    });
    await devtools.send('Network.enable', {}, sessionId);
    await devtools.send('Page.enable', {}, sessionId);
    await devtools.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false }, sessionId);
    const loaded = devtools.next('Page.loadEventFired', sessionId);
    await devtools.send('Page.navigate', { url }, sessionId);
    await loaded;
    const evaluated = (await devtools.send('Runtime.evaluate', { expression: 'document.documentElement.outerHTML', returnByValue: true }, sessionId)) as { result: { value: string } };
    if (options.screenshot !== undefined) {
      const shot = (await devtools.send('Page.captureScreenshot', { format: 'png' }, sessionId)) as { data: string };
      writeFileSync(options.screenshot, Buffer.from(shot.data, 'base64'));
    }
    await devtools.send('Browser.close').catch(() => undefined);
    return { dom: evaluated.result.value, requests };
  } catch (error) {
    throw new Error(`chromium could not visit ${file}: ${(error as Error).message}; its stderr: ${devtools.stderr.slice(-2000)}`);
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) {
      // Browser.close lets Chromium end its helpers and flush its profile; killed only if it hangs.
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(kill);
    }
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    // A helper process may still write into the profile for a moment after the browser exits.
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}

type Params = Readonly<Record<string, unknown>>;

/** Chromium's DevTools protocol over `--remote-debugging-pipe`: JSON messages ended by NUL, commands on fd 3, replies and events on fd 4. */
class DevToolsPipe {
  stderr = '';
  private nextId = 1;
  private buffered = '';
  private readonly pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  private readonly listeners: Array<{ method: string; sessionId: string | undefined; handle: (params: Params) => void }> = [];
  private readonly eventWaiters = new Set<(error: Error) => void>();
  private readonly input: Writable;
  private closed: Error | undefined;

  constructor(child: ChildProcess) {
    this.input = child.stdio[3] as Writable;
    const output = child.stdio[4] as Readable;
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    output.on('data', (chunk: Buffer) => this.receive(chunk.toString()));
    this.input.on('error', () => undefined);
    child.on('exit', (code, signal) => this.fail(new Error(`chromium exited (${signal ?? code})`)));
  }

  send(method: string, params: Params = {}, sessionId?: string): Promise<unknown> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    this.input.write(`${JSON.stringify({ id, method, params, ...(sessionId === undefined ? {} : { sessionId }) })}\0`);
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  on(method: string, sessionId: string | undefined, handle: (params: Params) => void): void {
    this.listeners.push({ method, sessionId, handle });
  }

  /** The next event `method` of the session; rejected if the browser exits first. */
  next(method: string, sessionId: string): Promise<Params> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(this.closed);
      this.eventWaiters.add(reject);
      this.listeners.push({ method, sessionId, handle: (params: Params) => (this.eventWaiters.delete(reject), resolve(params)) });
    });
  }

  private receive(text: string): void {
    this.buffered += text;
    let end: number;
    while ((end = this.buffered.indexOf('\0')) >= 0) {
      const message = JSON.parse(this.buffered.slice(0, end)) as { id?: number; result?: unknown; error?: { message: string }; method?: string; params?: Params; sessionId?: string };
      this.buffered = this.buffered.slice(end + 1);
      if (message.id !== undefined) {
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error) waiter?.reject(new Error(message.error.message));
        else waiter?.resolve(message.result);
      } else if (message.method !== undefined) {
        for (const listener of this.listeners) {
          if (listener.method === message.method && listener.sessionId === message.sessionId) listener.handle(message.params ?? {});
        }
      }
    }
  }

  private fail(error: Error): void {
    this.closed = error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    for (const reject of this.eventWaiters) reject(error);
    this.pending.clear();
    this.eventWaiters.clear();
  }
}
