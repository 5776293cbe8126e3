import { readdir } from 'node:fs/promises';
import * as tar from 'tar';

/**
 * The writing side of model archives (training, quantizing, packaging scripts). Kept apart from
 * archive.ts so that serve and the workers, which only read archives (on the unpack thread),
 * never load tar.
 */

/** A fixed mtime and no owner fields, so the same files always pack to the same bytes. */
const EPOCH = new Date('2020-01-01T00:00:00Z');

/** Pack a model directory's contents (not the directory itself) as model.tar.gz, as SageMaker expects. */
export async function packDirectory(dir: string, out: string): Promise<void> {
  const entries = (await readdir(dir)).sort();
  await tar.c({ gzip: true, file: out, cwd: dir, portable: true, mtime: EPOCH }, entries);
}
