/**
 * Input tensors that go back and forth between a worker and its inference thread. A fresh
 * multi-megabyte Float32Array per image costs more than the ONNX Runtime hop itself: the
 * allocator maps zeroed pages, every page faults on first write, the other thread frees it,
 * and V8 counts it as external memory that forces major GCs. The thread hands each buffer
 * back with its reply, and the next image is written into it.
 */
export class TensorPool {
  private readonly free = new Map<number, Float32Array[]>();

  /** `keepPerSize`: buffers kept idle per length; the peak of in-flight parts needs no more. */
  constructor(private readonly keepPerSize: number) {}

  /** A buffer of exactly `length` floats, with whatever an earlier image left in it. */
  take(length: number): Float32Array {
    return this.free.get(length)?.pop() ?? new Float32Array(length);
  }

  /** Back for reuse; the caller no longer touches it. Detached buffers (sent away) are ignored. */
  give(buffer: Float32Array): void {
    if (buffer.buffer.byteLength === 0 || buffer.byteOffset !== 0 || buffer.byteLength !== buffer.buffer.byteLength) return;
    const list = this.free.get(buffer.length) ?? [];
    if (list.length >= this.keepPerSize) return;
    list.push(buffer);
    this.free.set(buffer.length, list);
  }
}
