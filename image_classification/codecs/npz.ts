import type { Readable } from 'node:stream';
import { fromBufferPromise, type Entry, type ZipFile } from 'yauzl';
import { BadRequestError, clip } from '../errors';
import { MAX_NPZ_MEMBERS, MAX_NPZ_UNPACKED_BYTES } from './limits';
import type { NdArray } from './ndarray';
import { decodeNpy } from './npy';

/**
 * NumPy's .npz: a zip (stored or deflated) of `<name>.npy` members, as `np.savez` and
 * `np.savez_compressed` write it. Returns the arrays by name, in archive order.
 *
 * A zip's sizes and counts are claims: the member count is checked against the directory
 * before any member is read, a member's declared size against what is left of the budget,
 * and the bytes inflation actually produces are counted as they arrive (yauzl's
 * validateEntrySizes also stops a member that inflates past its declared size). Inflation
 * runs on zlib's thread pool, so a large member never blocks the event loop.
 */

function invalid(message: string): BadRequestError {
  return new BadRequestError(`invalid NPZ: ${message}`, 'invalid_npz');
}

function tooLarge(): BadRequestError {
  return new BadRequestError(`NPZ unpacks to more than ${MAX_NPZ_UNPACKED_BYTES} bytes`, 'tensor_too_large');
}

async function openArchive(body: Buffer): Promise<ZipFile> {
  try {
    return await fromBufferPromise(body, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true });
  } catch (error) {
    throw invalid(`not a readable zip archive (${(error as Error).message})`);
  }
}

/** A member's bytes, refused as soon as they pass `budget`. */
async function inflate(zip: ZipFile, entry: Entry, budget: number): Promise<Buffer> {
  const stream: Readable = await zip.openReadStreamPromise(entry);
  const chunks: Buffer[] = [];
  let produced = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    produced += chunk.length;
    if (produced > budget) {
      stream.destroy();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, produced);
}

export async function decodeNpz(body: Buffer): Promise<Map<string, NdArray>> {
  const zip = await openArchive(body);
  if (zip.entryCount > MAX_NPZ_MEMBERS) {
    throw new BadRequestError(`NPZ archive lists ${zip.entryCount} members; at most ${MAX_NPZ_MEMBERS} are accepted`, 'invalid_npz');
  }
  const arrays = new Map<string, NdArray>();
  let budget = MAX_NPZ_UNPACKED_BYTES;
  try {
    for await (const entry of zip.eachEntry()) {
      if (!entry.fileName.endsWith('.npy')) continue;
      if (entry.uncompressedSize > budget) throw tooLarge();
      const bytes = await inflate(zip, entry, budget);
      budget -= bytes.length;
      try {
        arrays.set(entry.fileName.slice(0, -'.npy'.length), decodeNpy(bytes));
      } catch (error) {
        if (error instanceof BadRequestError) throw new BadRequestError(`NPZ member '${clip(entry.fileName)}': ${error.message}`, error.code);
        throw error;
      }
    }
  } catch (error) {
    if (error instanceof BadRequestError) throw error;
    throw invalid(`the archive could not be read (${(error as Error).message})`);
  } finally {
    zip.close();
  }
  if (arrays.size === 0) throw invalid('the archive holds no .npy member');
  return arrays;
}
