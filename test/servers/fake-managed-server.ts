import type { ManagedServerOptions, ManagedServerState } from '../../src/servers/managed-server.js';
import type { CreateManagedServer, ManagedServerLike } from '../../src/servers/model-pool-options.js';

/**
 * A ModelPool server that runs nothing: the test decides when its start ends (`ready()`,
 * `fail()`) and when it crashes (`crash()`).
 */
export class FakeManagedServer implements ManagedServerLike {
  state: ManagedServerState = 'new';
  url: string | undefined;
  loadMs: number | undefined;
  readonly logPath: string;
  readonly apiKey: string;
  /** Calls of `stop()` that found the server running or starting. */
  stops = 0;
  readonly #started: Promise<void>;
  #resolve!: () => void;
  #reject!: (error: Error) => void;

  constructor(
    readonly options: ManagedServerOptions,
    readonly serial: number,
  ) {
    this.logPath = `/logs/${modelName(options.modelPath)}-${serial}.log`;
    this.apiKey = `key-${serial}`;
    this.#started = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  get model(): string {
    return modelName(this.options.modelPath);
  }

  start(): Promise<void> {
    this.state = 'starting';
    return this.#started;
  }

  /** Ends the start: ready on `http://fake/<model>-<serial>` after `loadMs`. */
  ready(loadMs = 10): void {
    this.state = 'ready';
    this.url = `http://fake/${this.model}-${this.serial}`;
    this.loadMs = loadMs;
    this.#resolve();
  }

  fail(error: Error): void {
    this.state = 'exited';
    this.#reject(error);
  }

  /** The process died by itself after it was ready. */
  crash(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.state = 'exited';
    this.options.onExit?.({ code: null, signal, expected: false, logPath: this.logPath });
  }

  stop(): Promise<void> {
    if (this.state !== 'exited' && this.state !== 'new') this.stops += 1;
    // As ManagedServer: a stop while starting ends the start with an error.
    if (this.state === 'starting') this.#reject(new Error('stopped while starting'));
    this.state = 'exited';
    return Promise.resolve();
  }
}

/** A `createServer` option that records every server it makes; `autoReady` starts them at once. */
export class FakeServerFactory {
  readonly servers: FakeManagedServer[] = [];
  readonly #waiting: Array<(server: FakeManagedServer) => void> = [];

  constructor(readonly autoReady: boolean) {}

  readonly create: CreateManagedServer = (options) => {
    const server = new FakeManagedServer(options, this.servers.length + 1);
    this.servers.push(server);
    if (this.autoReady) queueMicrotask(() => server.ready());
    this.#waiting.shift()?.(server);
    return server;
  };

  /** Models of the servers made so far, in order. */
  models(): string[] {
    return this.servers.map((server) => server.model);
  }

  /** The next server made from now on. */
  next(): Promise<FakeManagedServer> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}

function modelName(path: string): string {
  return path.replace(/^.*[\\/]/, '').replace(/\.gguf$/, '');
}
