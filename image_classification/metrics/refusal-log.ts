import { open, rename, rm } from 'node:fs/promises';
import client from 'prom-client';
import { PREFIX } from './worker-metrics';

/**
 * The requests nginx refuses itself, which no worker sees: over the invocation limit (503
 * `overloaded`), over one client's connection limit (429 `per_client`), no worker ready (503
 * `unavailable`, nginx's backup). nginx appends one word per refusal to a log file in the run
 * dir (see nginx-config.ts); this counts the lines. nginx never blocks on a regular file, and
 * the file is rotated (renamed, nginx told to reopen with SIGUSR1) past `rotateBytes`.
 */
export const REFUSAL_REASONS = ['overloaded', 'per_client', 'unavailable'] as const;

/** Past this, a line is not one of nginx's words: a corrupt tail is skipped, not buffered. */
const MAX_LINE = 64;

export class RefusalLog {
  private offset = 0;
  private partial = '';
  /** The file before the last rotation: read once more (nginx may still have written to it), then removed. */
  private rotated: { offset: number; partial: string } | undefined;
  private reading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly refusals: client.Counter<'reason'>;

  constructor(
    private readonly file: string,
    registry: client.Registry,
    private readonly reopen: () => void,
    private readonly rotateBytes = 1024 * 1024,
  ) {
    const poll = () => this.poll();
    this.refusals = new client.Counter({
      name: `${PREFIX}nginx_refusals_total`,
      help: 'Requests nginx refused itself: overloaded (503), per_client (429), unavailable (503, no worker ready)',
      labelNames: ['reason'],
      registers: [registry],
      async collect() {
        await poll();
      },
    });
    for (const reason of REFUSAL_REASONS) this.refusals.inc({ reason }, 0);
  }

  /** Read (and rotate) every `intervalMs` too, so the file stays small between scrapes. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.poll(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  poll(): Promise<void> {
    this.reading ??= this.readNew().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async readNew(): Promise<void> {
    const old = `${this.file}.old`;
    if (this.rotated) {
      await this.readFrom(old, this.rotated);
      await rm(old, { force: true });
      this.rotated = undefined;
    }
    const current = { offset: this.offset, partial: this.partial };
    await this.readFrom(this.file, current);
    ({ offset: this.offset, partial: this.partial } = current);
    if (this.offset >= this.rotateBytes) {
      await rename(this.file, old);
      this.reopen();
      this.rotated = current;
      this.offset = 0;
      this.partial = '';
    }
  }

  private async readFrom(file: string, position: { offset: number; partial: string }): Promise<void> {
    let handle;
    try {
      handle = await open(file, 'r');
    } catch {
      return; // Not written yet: nginx creates it at start.
    }
    try {
      const buffer = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position.offset);
        if (bytesRead === 0) break;
        position.offset += bytesRead;
        const lines = (position.partial + buffer.toString('latin1', 0, bytesRead)).split('\n');
        const tail = lines.pop()!;
        position.partial = tail.length > MAX_LINE ? '' : tail;
        for (const line of lines) this.count(line);
      }
    } finally {
      await handle.close();
    }
  }

  private count(reason: string): void {
    if ((REFUSAL_REASONS as readonly string[]).includes(reason)) this.refusals.inc({ reason });
  }
}
