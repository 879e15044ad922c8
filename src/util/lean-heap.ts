import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * The young generation (both semi-spaces) at which it stops growing, in bytes. Smaller costs the
 * main thread more scavenges (measured at 20,000 prompts, 0 ms: 1 MB semi-spaces spent ~0.7 s
 * more in GC than V8's default 16 MB, 4 MB ones ~0.3 s more); larger costs peak RSS.
 */
const youngGenerationCapBytes = 8 * 1024 * 1024;
/** How often the size is looked at until it reaches the cap (it doubles after several scavenges). */
const pollMs = 10;

let applied = false;
let capped = false;
let poll: NodeJS.Timeout | undefined;

function newSpaceBytes(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
}

function stopGrowing(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

/**
 * Keeps the process's V8 heaps small while a run streams prompts through it (issue 11: peak RSS
 * under 128 MB at 100,000 prompts). What a run keeps alive is small (~11 MB on the main thread,
 * ~5 MB on the result-writer thread); without this, V8 lets garbage pile up to several times
 * that before collecting it: the young generation doubles up to 32 MB, and the old generation
 * reaches ~4x what survived the last full collection. BENCHMARKS.md has the figures.
 *
 * Both flags are read by V8 each time it resizes a heap, so setting them in a running process
 * takes effect (limits such as --max-semi-space-size are read only when a heap is created, and
 * shebang flags or NODE_OPTIONS would bind every user's process):
 * - `--heap-growing-percent=50`: a full collection starts when the old generation reaches 1.5x
 *   what survived the last one (live data is small, so each is short).
 * - `--semi-space-growth-factor=1`, once the young generation has grown to 8 MB: it keeps that
 *   size instead of doubling on to 32 MB while a run allocates answers at full speed.
 *
 * The flags are process-wide, and starting a worker thread sets them back to the command line's:
 * the bin calls this before any command runs, and `ThreadedResultWriter` calls it again once its
 * thread is online, when the bin did (`leanHeapApplied`). In-process tests never call it.
 */
export function leanHeap(): void {
  applied = true;
  setFlagsFromString('--heap-growing-percent=50');
  if (capped) {
    stopGrowing();
    return;
  }
  if (poll !== undefined) return;
  poll = setInterval(() => {
    if (newSpaceBytes() < youngGenerationCapBytes) return;
    capped = true;
    clearInterval(poll);
    stopGrowing();
  }, pollMs);
  // Looking never keeps the process alive.
  poll.unref();
}

/** Whether `leanHeap` was called (after starting a worker thread, call it again). */
export function leanHeapApplied(): boolean {
  return applied;
}
