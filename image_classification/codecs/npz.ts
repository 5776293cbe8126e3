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
 * and yauzl (validateEntrySizes) stops a member as soon as inflation produces more than it
 * declared. Inflation runs on zlib's thread pool, so a large member never blocks the event loop.
 */

function invalid(message: string): BadRequestError {
  return new BadRequestError(`invalid NPZ: ${message}`, 'invalid_npz');
}

async function openArchive(body: Buffer): Promise<ZipFile> {
  try {
    return await fromBufferPromise(body, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true });
  } catch (error) {
    throw invalid(`not a readable zip archive (${(error as Error).message})`);
  }
}

/**
 * A member's bytes. Its declared size was checked against the budget; yauzl
 * (validateEntrySizes) errors as soon as inflation produces more than declared.
 */
async function inflate(zip: ZipFile, entry: Entry): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of (await zip.openReadStreamPromise(entry)) as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
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
      if (entry.uncompressedSize > budget)
        throw new BadRequestError(`NPZ unpacks to more than ${MAX_NPZ_UNPACKED_BYTES} bytes`, 'tensor_too_large');
      const bytes = await inflate(zip, entry);
      budget -= bytes.length;
      try {
        arrays.set(entry.fileName.slice(0, -'.npy'.length), decodeNpy(bytes));
      } catch (error) {
        if (error instanceof BadRequestError)
          throw new BadRequestError(`NPZ member '${clip(entry.fileName)}': ${error.message}`, error.code);
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
