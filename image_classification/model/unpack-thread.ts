import { closeSync, createReadStream, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';

/**
 * Unpacks one model archive, on a thread of its own (model/archive.ts starts it and stops it
 * at its time limit), so a hostile archive costs serve's event loop nothing. It writes only
 * plain files (mode 0644) and directories (0755) at relative paths inside `dir`, counts every
 * byte gunzip inflates (padding and trailing data included) against the limit, and stops
 * reading at the archive's end marker: what follows it is never inflated or parsed.
 */

export interface UnpackJob {
  readonly archive: string;
  readonly dir: string;
  readonly maxBytes: number;
  readonly maxEntries: number;
}

/** What the thread posts once: done, or why the archive is refused (a message naming no path). */
export type UnpackOutcome = { readonly ok: true } | { readonly ok: false; readonly message: string };

class Refused extends Error {}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
/** Entries that carry nothing a model needs and are skipped: a link could point anywhere. */
const SKIPPED_TYPES = new Set(['SymbolicLink', 'Link', 'CharacterDevice', 'BlockDevice', 'FIFO']);

/** The entry's path inside `dir`, or a refusal for an absolute path or one that climbs out. */
function target(dir: string, entryPath: string): string {
  const normal = path.posix.normalize(entryPath.replace(/\\/g, '/'));
  if (path.posix.isAbsolute(normal) || normal === '..' || normal.startsWith('../')) {
    throw new Refused(`an entry's path leaves the archive (${JSON.stringify(entryPath.slice(0, 80))})`);
  }
  return path.join(dir, normal);
}

function unpack({ archive, dir, maxBytes, maxEntries }: UnpackJob): Promise<void> {
  return new Promise((resolve, reject) => {
    const input = createReadStream(archive);
    const gunzip = createGunzip();
    let inflated = 0;
    let entries = 0;
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      input.destroy();
      gunzip.destroy();
      if (error) reject(error);
      else resolve();
    };
    const parser = new Parser({ strict: true });
    parser.on('entry', (entry: ReadEntry) => {
      try {
        if (++entries > maxEntries) throw new Refused(`it holds more than ${maxEntries} entries`);
        if (entry.type === 'Directory') {
          mkdirSync(target(dir, entry.path), { recursive: true, mode: 0o755 });
          return entry.resume();
        }
        if (!FILE_TYPES.has(entry.type)) {
          if (!SKIPPED_TYPES.has(entry.type)) throw new Refused(`an entry is of type ${entry.type}`);
          return entry.resume();
        }
        const file = target(dir, entry.path);
        mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
        const fd = openSync(file, 'w', 0o644);
        entry.on('data', (chunk: Buffer) => writeSync(fd, chunk));
        entry.on('end', () => closeSync(fd));
      } catch (error) {
        finish(error as Error);
      }
    });
    parser.on('error', (error: Error) => finish(error));
    // The end marker: nothing after it is inflated or parsed (node-tar would buffer it all).
    let sawEnd = false;
    parser.on('eof', () => {
      sawEnd = true;
      input.destroy();
    });
    parser.on('end', () => finish());
    gunzip.on('data', (chunk: Buffer) => {
      if (settled || sawEnd) return;
      inflated += chunk.length;
      if (inflated > maxBytes) return finish(new Refused(`it inflates to more than ${maxBytes} bytes (MODEL_SERVER_MAX_MODEL_MB)`));
      try {
        parser.write(chunk);
        if (sawEnd) parser.end();
      } catch (error) {
        finish(error as Error);
      }
    });
    gunzip.on('end', () => sawEnd || parser.end());
    gunzip.on('error', (error) => finish(new Refused(`it is not a gzip stream (${error.message})`)));
    input.on('error', (error) => finish(new Refused(`it cannot be read (${(error as NodeJS.ErrnoException).code})`)));
    input.pipe(gunzip);
  });
}

if (parentPort) {
  const port = parentPort;
  unpack(workerData as UnpackJob).then(
    () => port.postMessage({ ok: true } satisfies UnpackOutcome),
    (error: Error) =>
      port.postMessage({ ok: false, message: error instanceof Refused ? error.message : `it is not a valid tar archive (${error.message})` }),
  );
}
