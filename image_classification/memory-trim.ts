import { setTimeout as delay } from 'node:timers/promises';
import { loadMemoryRelease, type MemoryRelease } from './allocator';
import type { Logger } from './logger';

/**
 * Hands a worker's freed C heap back to the kernel once it goes idle.
 *
 * Each image passes through buffers outside V8's heap (the request body, sharp's pixels),
 * freed only when the garbage collector runs. The allocator keeps what is freed for reuse
 * (glibc inside its heaps, jemalloc until its decay timers run), so after a burst of traffic a
 * worker stays tens of MB above what it holds (docs/performance.md). The release
 * (allocator.ts) returns every free page of every arena. It runs when no request has been in
 * flight for `idleMs`, and only when the worker has grown since its last trim: a worker under
 * steady load reuses those pages at once, and releasing them there would only fault them back in.
 *
 * Where the C library has no such call (musl, macOS) the trimmer does nothing.
 */
export interface IdleMemoryTrim {
  requestStarted(): void;
  requestEnded(): void;
  /** Trim after `idleMs` unless a request comes first (after the model's load and warm-up). */
  settled(): void;
  close(): void;
}

/**
 * Growth since the last trim below which an idle spell is left alone: health checks (/ping
 * every few seconds) allocate next to nothing, and a full collection for each would be waste.
 */
const WORTH_TRIMMING_BYTES = 4 * 2 ** 20;

/**
 * V8 frees the collected buffers' memory on a background thread after the collection
 * returns; the release waits this long so that those pages are free when it runs.
 */
const SWEEP_WAIT_MS = 100;

async function loadRelease(logger: Logger): Promise<MemoryRelease | undefined> {
  try {
    return await loadMemoryRelease();
  } catch (error) {
    logger.info(
      { reason: (error as Error).message },
      'no allocator release call here (not glibc or jemalloc); freed memory stays with the allocator',
    );
    return undefined;
  }
}

export function idleMemoryTrim(idleMs: number, logger: Logger): IdleMemoryTrim {
  // With --expose-gc (serve starts its workers so), the burst's garbage buffers are freed before
  // the trim rather than at some later collection.
  const gc = (globalThis as { gc?: () => void }).gc;
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  // Loaded on the first idle spell; `unavailable` once it turned out this C library has none.
  let loading: Promise<MemoryRelease | undefined> | undefined;
  let unavailable = false;
  let rssAfterLastTrim = 0;
  const run = async () => {
    timer = undefined;
    loading ??= loadRelease(logger);
    const memory = await loading;
    if (!memory) {
      unavailable = true;
      return;
    }
    // A request that arrived while koffi loaded: the worker is no longer idle.
    if (inFlight > 0) return;
    const before = process.memoryUsage.rss();
    if (before < rssAfterLastTrim + WORTH_TRIMMING_BYTES) return;
    if (gc) {
      gc();
      await delay(SWEEP_WAIT_MS);
      // A request that arrived meanwhile reuses the freed pages; the next idle spell releases.
      if (inFlight > 0) return;
    }
    memory.release();
    rssAfterLastTrim = process.memoryUsage.rss();
    const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
    logger.debug(
      { rssMb: { before: mb(before), after: mb(rssAfterLastTrim) }, collected: gc !== undefined, allocator: memory.allocator },
      'idle: freed memory returned to the system',
    );
  };
  const cancel = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  const settled = () => {
    if (inFlight > 0 || unavailable) return;
    cancel();
    timer = setTimeout(() => void run(), idleMs).unref();
  };
  return {
    requestStarted() {
      inFlight++;
      cancel();
    },
    requestEnded() {
      inFlight = Math.max(0, inFlight - 1);
      settled();
    },
    settled,
    close: cancel,
  };
}
