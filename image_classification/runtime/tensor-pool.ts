/**
 * Input tensors that go back and forth between a worker and its inference thread.
 *
 * Reuse: a fresh multi-megabyte Float32Array per image costs more than the ONNX Runtime hop
 * itself (the allocator maps zeroed pages, every page faults on first write, the other thread
 * frees it, and V8 counts it as external memory that forces major GCs). The thread hands each
 * buffer back with its reply, and the next image is written into it.
 *
 * A bound: at most `slots` buffers are out at once (decoding into, queued, running). A request
 * waits for a slot before it decodes, so however many requests a worker holds, only a few
 * images are decoded ahead of the model: memory stays flat as concurrency rises, and the
 * waiting requests hold only their bodies.
 */
export class TensorPool {
  private readonly free = new Map<number, Float32Array[]>();
  private out = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly slots: number) {}

  get inUse(): number {
    return this.out;
  }

  /** Whether take() would wait for a slot. */
  get full(): boolean {
    return this.out >= this.slots;
  }

  /**
   * A buffer of exactly `length` floats, with whatever an earlier image left in it, once a
   * slot is free. Rejects with the signal's reason if it aborts first.
   */
  async take(length: number, signal?: AbortSignal): Promise<Float32Array> {
    signal?.throwIfAborted();
    // A freed slot passes straight to the first waiter, so `out` never exceeds `slots`.
    if (this.out < this.slots) this.out++;
    else await this.slot(signal);
    return this.free.get(length)?.pop() ?? new Float32Array(length);
  }

  /**
   * A buffer back: from the inference thread after a run, or unsent (its images failed to
   * decode, or its job left the queue). A buffer sent to the thread is detached here and
   * ignored: the thread's reply gives it back.
   */
  give(buffer: Float32Array): void {
    if (buffer.buffer.byteLength === 0) return;
    if (buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength) {
      const list = this.free.get(buffer.length) ?? [];
      if (list.length < this.slots) list.push(buffer);
      this.free.set(buffer.length, list);
    }
    const next = this.waiters.shift();
    if (next) next();
    else this.out = Math.max(0, this.out - 1);
  }

  private slot(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const ready = () => {
        signal?.removeEventListener('abort', abort);
        resolve();
      };
      const abort = () => {
        const index = this.waiters.indexOf(ready);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', abort, { once: true });
      this.waiters.push(ready);
    });
  }
}
