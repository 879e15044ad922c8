/** What the registry needs from a live server. */
export interface RegisteredServer {
  /** SIGTERM, grace, SIGKILL; resolves when exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the server's process group, synchronously. */
  killSync(): void;
}

const live = new Set<RegisteredServer>();
const hooked = new WeakSet<object>();

/** Records a server that has been spawned and not yet exited. */
export function registerServer(server: RegisteredServer): void {
  live.add(server);
}

/** Forgets a server that has exited. */
export function unregisterServer(server: RegisteredServer): void {
  live.delete(server);
}

/** How many managed servers are alive in this process. */
export function countLiveServers(): number {
  return live.size;
}

/** Stops every live server (SIGTERM, then SIGKILL after `graceMs`) and resolves when all exited. */
export async function stopAllServers(graceMs?: number): Promise<void> {
  await Promise.allSettled([...live].map((server) => server.stop(graceMs)));
}

/**
 * SIGKILLs every live server's process group, synchronously: for process 'exit' handlers, where
 * nothing asynchronous runs any more. The reapers then exit by themselves.
 */
export function stopAllServersSync(): void {
  for (const server of live) server.killSync();
  live.clear();
}

/**
 * Kills live servers when `proc` exits, however it exits (process.exit, the end of the event
 * loop, an uncaught exception). Signals are main's to handle: without a handler, a signal ends
 * the process without 'exit', and the reapers then stop the servers when their pipes close.
 * Calling it again on the same process does nothing.
 */
export function installServerCleanup(proc: NodeJS.Process): void {
  if (hooked.has(proc)) return;
  hooked.add(proc);
  proc.on('exit', stopAllServersSync);
}
