/**
 * Polls a condition that changes without an event to await (another process's progress, a
 * simulator's counters), every 10 ms, at most `tries` times; throws naming `what` past that.
 */
export async function pollUntil(condition: () => boolean, what: string, tries = 3000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}
