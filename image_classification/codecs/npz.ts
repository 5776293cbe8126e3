import { unzipSync, type UnzipFileInfo } from 'fflate';
import { BadRequestError } from '../errors';
import type { NdArray } from './ndarray';
import { decodeNpy } from './npy';

/** Unpacked size a client may make the server allocate for one NPZ body. */
const MAX_UNPACKED_BYTES = 512 * 1024 * 1024;

/**
 * NumPy's .npz: a zip (stored or deflated) of `<name>.npy` members, as `np.savez` and
 * `np.savez_compressed` write it. Returns the arrays by name, in archive order.
 */
export function decodeNpz(body: Buffer): Map<string, NdArray> {
  let unpacked = 0;
  const keep = (file: UnzipFileInfo): boolean => {
    unpacked += file.originalSize;
    if (unpacked > MAX_UNPACKED_BYTES) throw new BadRequestError(`NPZ unpacks to more than ${MAX_UNPACKED_BYTES} bytes`, 'tensor_too_large');
    return file.name.endsWith('.npy');
  };
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(body, { filter: keep });
  } catch (error) {
    if (error instanceof BadRequestError) throw error;
    throw new BadRequestError(`invalid NPZ: not a readable zip archive (${(error as Error).message})`, 'invalid_npz');
  }
  const arrays = new Map<string, NdArray>();
  for (const [name, bytes] of Object.entries(files)) {
    const key = name.slice(0, -'.npy'.length);
    try {
      arrays.set(key, decodeNpy(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
    } catch (error) {
      if (error instanceof BadRequestError) throw new BadRequestError(`NPZ member '${name}': ${error.message}`, error.code);
      throw error;
    }
  }
  if (arrays.size === 0) throw new BadRequestError('invalid NPZ: the archive holds no .npy member', 'invalid_npz');
  return arrays;
}
