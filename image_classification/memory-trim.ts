import { setTimeout as delay } from 'node:timers/promises';
import { loadMemoryRelease, type MemoryRelease } from './allocator';
import type { Logger } from './logger';

/**
 * Hands a worker's freed C heap back to the kernel once it goes idle.
 *
 * Each image passes through buffers outside V8's heap (the request body, sharp's pixels),
 * freed only when the garbage collector runs. The allocator keeps what is freed for reuse
 * (glibc inside its heaps, jemalloc until its decay timers run), so after a burst of traffic a
 * worker stays tens of MB above what it holds (docs/cpu-cost.md). The release
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
 * V8 frees the collected buffers' memory on a background thread after the collection returns
 * (20–30 ms for 200 MB on an idle core; longer on a busy one). The release waits until the
 * buffers' count has stopped falling for two polls, or for SWEEP_WAIT_MAX_MS at most.
 */
const SWEEP_POLL_MS = 20;
const SWEEP_WAIT_MAX_MS = 1000;

async function buffersSwept(): Promise<void> {
  let last = process.memoryUsage().arrayBuffers;
  let steady = 0;
  for (let waited = 0; waited < SWEEP_WAIT_MAX_MS && steady < 2; waited += SWEEP_POLL_MS) {
    // Unref'd: a worker that is shutting down does not wait for it.
    await delay(SWEEP_POLL_MS, undefined, { ref: false });
    const now = process.memoryUsage().arrayBuffers;
    steady = now < last ? 0 : steady + 1;
    last = now;
  }
}

async function loadRelease(logger: Logger, load: () => Promise<MemoryRelease>): Promise<MemoryRelease | undefined> {
  try {
    return await load();
  } catch (error) {
    logger.info(
      { reason: (error as Error).message },
      'no allocator release call here (not glibc or jemalloc); freed memory stays with the allocator',
    );
    return undefined;
  }
}

/** `load`: how the allocator's release is found (allocator.ts; tests give one that refuses). */
export function idleMemoryTrim(idleMs: number, logger: Logger, load: () => Promise<MemoryRelease> = loadMemoryRelease): IdleMemoryTrim {
  // With --expose-gc (serve starts its workers so), the burst's garbage buffers are freed before
  // the trim rather than at some later collection.
  const gc = (globalThis as { gc?: () => void }).gc;
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  // Loaded on the first idle spell; `unavailable` once it turned out this C library has none.
  let loading: Promise<MemoryRelease | undefined> | undefined;
  let unavailable = false;
  let closed = false;
  // One trim at a time: an idle spell that ends while one runs is trimmed after it (`again`).
  let running = false;
  let again = false;
  let rssAfterLastTrim = 0;
  // After each await: a request that arrived meanwhile (the worker is no longer idle; it reuses
  // the freed pages, and the next idle spell releases them), or the worker is stopping.
  const interrupted = () => inFlight > 0 || closed;
  const trim = async () => {
    loading ??= loadRelease(logger, load);
    const memory = await loading;
    if (!memory) {
      unavailable = true;
      return;
    }
    if (interrupted()) return;
    const before = process.memoryUsage.rss();
    if (before < rssAfterLastTrim + WORTH_TRIMMING_BYTES) return;
    if (gc) {
      gc();
      await buffersSwept();
      if (interrupted()) return;
    }
    if (!memory.release()) {
      unavailable = true;
      logger.info({ allocator: memory.allocator }, 'the allocator refused to release its free pages; idle trims stop');
      return;
    }
    rssAfterLastTrim = process.memoryUsage.rss();
    const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
    logger.debug(
      { rssMb: { before: mb(before), after: mb(rssAfterLastTrim) }, collected: gc !== undefined, allocator: memory.allocator },
      'idle: freed memory returned to the system',
    );
  };
  const run = async () => {
    timer = undefined;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await trim();
    } finally {
      running = false;
      if (again) {
        again = false;
        settled();
      }
    }
  };
  const cancel = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  const settled = () => {
    if (inFlight > 0 || unavailable || closed) return;
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
    close() {
      closed = true;
      cancel();
    },
  };
}
