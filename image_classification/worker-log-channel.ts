import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, statSync, writeSync } from 'node:fs';
import net from 'node:net';
import type { Readable } from 'node:stream';
import path from 'node:path';

/**
 * A worker's JSON log lines reach serve through a FIFO of its own in the run dir, not through
 * pm2: pm2-runtime reads each line from the worker's stdout, passes it over its bus and writes
 * it again, about 0.45 ms of CPU per line, which at LOG_LEVEL=info is every request
 * (docs/performance.md). What else a worker writes to stdout or stderr (a handler's
 * console.log, a native library) still goes through pm2.
 */

export function workerLogFifoPath(runDir: string, instance: string | undefined): string {
  return path.join(runDir, `worker-${Number(instance ?? 0)}.log`);
}

/**
 * serve's end: one FIFO per worker, opened for reading and writing so that it never reads an
 * end of file while a worker restarts, non-blocking, as a stream. Undefined where mkfifo is
 * missing: the workers then log to stdout, through pm2.
 */
export function openWorkerLogFifos(runDir: string, workers: number): Readable[] | undefined {
  const fifos = Array.from({ length: workers }, (_, i) => workerLogFifoPath(runDir, String(i)));
  try {
    execFileSync('mkfifo', ['-m', '600', ...fifos], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return fifos.map(
    (fifo) => new net.Socket({ fd: openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK), readable: true, writable: false }),
  );
}

/** What a worker's logger writes to: pino calls `write` with one whole line at a time. */
export interface LineDestination {
  write(line: string): void;
}

/** How long a worker waits between tries while its FIFO is full (serve behind on stdout). */
const FULL_FIFO_WAIT_MS = 1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `bytes` to a non-blocking FIFO, waiting while it is full; throws when serve is gone (EPIPE). */
function writeAll(fd: number, bytes: Buffer): void {
  for (let written = 0; written < bytes.length;) {
    try {
      written += writeSync(fd, bytes, written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(sleeper, 0, 0, FULL_FIFO_WAIT_MS);
    }
  }
}

/**
 * A worker's end: its FIFO when serve made one and still reads it, else stdout. The FIFO is
 * opened without blocking: a worker that pm2 starts as serve dies finds no reader and logs to
 * stdout, instead of waiting in open() for ever with nobody left to stop it. Writes are
 * synchronous, as to a pipe on stdout, so the last lines before an exit are not lost, and a
 * full FIFO (serve behind) holds the worker as a full pipe would. Should the FIFO fail later
 * (serve gone), the worker goes on logging to stdout.
 */
export function workerLogDestination(runDir: string | undefined, instance: string | undefined): LineDestination | undefined {
  if (!runDir) return undefined;
  const fifo = workerLogFifoPath(runDir, instance);
  let fd: number | undefined;
  try {
    if (!statSync(fifo).isFIFO()) return undefined;
    // ENXIO when no process has it open for reading.
    fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  return {
    write(line: string) {
      if (fd !== undefined) {
        try {
          writeAll(fd, Buffer.from(line));
          return;
        } catch {
          const failed = fd;
          fd = undefined;
          try {
            closeSync(failed);
          } catch {
            // already unusable
          }
        }
      }
      process.stdout.write(line);
    },
  };
}
