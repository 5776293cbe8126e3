import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { ModelDirError } from '../errors';

/**
 * Reading a model directory's small files as what they claim to be: a path that names a FIFO,
 * a device or a directory is refused before anything blocks or reads, and a JSON file is read
 * up to its cap, never further, whatever it is linked to.
 */

/** labels.json and preprocessing.json: 21k ImageNet class names fit in well under this. */
export const MAX_MODEL_JSON_BYTES = 4 * 1024 * 1024;

export type FileKind = 'file' | 'directory' | 'other' | 'missing';

/** What `file` is, links followed. */
export async function fileKind(file: string): Promise<FileKind> {
  const info = await stat(file).catch(() => undefined);
  if (!info) return 'missing';
  return info.isFile() ? 'file' : info.isDirectory() ? 'directory' : 'other';
}

/**
 * A JSON file's parsed value, read as a regular file of at most MAX_MODEL_JSON_BYTES.
 * Opened without blocking (a FIFO would wait for a writer forever) and checked on the open
 * descriptor, so what is read is what was checked.
 */
export async function readJsonFile(file: string): Promise<unknown> {
  const name = path.basename(file);
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch((error: NodeJS.ErrnoException) => {
    throw new ModelDirError(error.code === 'ENOENT' ? `${name} is missing` : `${name} cannot be read (${error.code ?? 'error'})`);
  });
  let text: string;
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new ModelDirError(`${name} is not a regular file`);
    if (info.size > MAX_MODEL_JSON_BYTES) throw new ModelDirError(`${name} is over ${MAX_MODEL_JSON_BYTES} bytes`);
    const buffer = Buffer.alloc(info.size);
    const { bytesRead } = await handle.read(buffer, 0, info.size, 0);
    text = buffer.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
  try {
    return JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the file.
    throw new ModelDirError(`${name} is not valid JSON`);
  }
}
