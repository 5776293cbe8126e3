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

/** A model needs few levels; each one is a directory to create, walk and remove. */
const MAX_DEPTH = 32;

/** The entry's path relative to `dir`, normalised; a refusal for one that leaves it or is too deep. */
function relativeTarget(entryPath: string): string {
  const normal = path.posix.normalize(entryPath.replace(/\\/g, '/')).replace(/\/$/, '');
  if (path.posix.isAbsolute(normal) || normal === '..' || normal.startsWith('../')) {
    throw new Refused(`an entry's path leaves the archive (${JSON.stringify(entryPath.slice(0, 80))})`);
  }
  if (normal.split('/').length > MAX_DEPTH) throw new Refused(`an entry's path is more than ${MAX_DEPTH} levels deep`);
  return normal;
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
    // Every entry counts against maxEntries, and so does every directory an entry's path
    // implies: one entry a/b/c/… would otherwise create any number of them.
    const count = () => {
      if (++entries > maxEntries) throw new Refused(`it holds more than ${maxEntries} entries (the directories their paths imply included)`);
    };
    const created = new Set<string>(['.']);
    /** Creates `relative` and its missing parents; `entry`: the path of the entry itself (already counted). */
    const makeDirectory = (relative: string, entry?: string) => {
      const missing: string[] = [];
      for (let at = relative; !created.has(at); at = path.posix.dirname(at)) missing.push(at);
      for (const directory of missing) {
        if (directory !== entry) count();
        created.add(directory);
      }
      if (missing.length) mkdirSync(path.join(dir, relative), { recursive: true, mode: 0o755 });
    };
    const parser = new Parser({ strict: true });
    parser.on('entry', (entry: ReadEntry) => {
      try {
        count();
        if (entry.type === 'Directory') {
          const relative = relativeTarget(entry.path);
          makeDirectory(relative, relative);
          return entry.resume();
        }
        if (!FILE_TYPES.has(entry.type)) {
          if (!SKIPPED_TYPES.has(entry.type)) throw new Refused(`an entry is of type ${entry.type}`);
          return entry.resume();
        }
        const relative = relativeTarget(entry.path);
        makeDirectory(path.posix.dirname(relative));
        const fd = openSync(path.join(dir, relative), 'w', 0o644);
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

/** Why, in words that name no path: a filesystem error's message holds the temp dir's. */
function refusal(error: Error): string {
  if (error instanceof Refused) return error.message;
  const { code } = error as NodeJS.ErrnoException;
  if (code) return `an entry cannot be written there (${code}: a file and a directory of one name, or a path too long)`;
  return `it is not a valid tar archive (${error.message})`;
}

if (parentPort) {
  const port = parentPort;
  unpack(workerData as UnpackJob).then(
    () => port.postMessage({ ok: true } satisfies UnpackOutcome),
    (error: Error) => port.postMessage({ ok: false, message: refusal(error) } satisfies UnpackOutcome),
  );
}
