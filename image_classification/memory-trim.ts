import type { Logger } from './logger';

/**
 * Hands a worker's freed C heap back to the kernel once it goes idle.
 *
 * Each image passes through buffers outside V8's heap (the request body, sharp's pixels),
 * freed only when the garbage collector runs. glibc's malloc keeps what is freed inside its
 * heaps for reuse and can give back only the free space at a heap's top, so after a burst of
 * traffic a worker stays tens of MB above what it holds (docs/performance.md). `malloc_trim`
 * returns every free page of every arena. It runs when no request has been in flight for
 * `idleMs`, and only when the worker has grown since its last trim: a worker under steady load
 * reuses those pages at once, and trimming there would only fault them back in.
 *
 * glibc only: elsewhere (musl, macOS) `malloc_trim` does not exist and the trimmer does nothing.
 */
export interface IdleMemoryTrim {
  requestStarted(): void;
  requestEnded(): void;
  /** Trim after `idleMs` unless a request comes first (after the model's load and warm-up). */
  settled(): void;
  close(): void;
}

type Trim = () => void;

/**
 * Growth since the last trim below which an idle spell is left alone: health checks (/ping
 * every few seconds) allocate next to nothing, and a full collection for each would be waste.
 */
const WORTH_TRIMMING_BYTES = 4 * 2 ** 20;

/** `malloc_trim(0)` through koffi, loaded on first use so that start-up does not pay for it. */
async function loadMallocTrim(logger: Logger): Promise<Trim | undefined> {
  try {
    const koffi = await import('koffi');
    const mallocTrim = koffi.load('libc.so.6').func('int malloc_trim(size_t pad)');
    return () => void mallocTrim(0);
  } catch (error) {
    logger.info({ reason: (error as Error).message }, 'malloc_trim is not available (not glibc); freed memory stays with the allocator');
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
  let trim: Promise<Trim | undefined> | undefined;
  let unavailable = false;
  let rssAfterLastTrim = 0;
  const run = async () => {
    timer = undefined;
    trim ??= loadMallocTrim(logger);
    const trimNow = await trim;
    if (!trimNow) {
      unavailable = true;
      return;
    }
    // A request that arrived while koffi loaded: the worker is no longer idle.
    if (inFlight > 0) return;
    const before = process.memoryUsage.rss();
    if (before < rssAfterLastTrim + WORTH_TRIMMING_BYTES) return;
    gc?.();
    trimNow();
    rssAfterLastTrim = process.memoryUsage.rss();
    const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
    logger.debug(
      { rssMb: { before: mb(before), after: mb(rssAfterLastTrim) }, collected: gc !== undefined },
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
