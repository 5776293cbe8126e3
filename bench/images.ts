import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { FIXTURE_TREE } from '../harness/env';

/**
 * The bench images: the 12 TrashNet validation photos in test/fixtures (512x384 originals),
 * re-encoded as 640x480 JPEGs (the seed size) and UPSCALED to 1920x1080 (there are no larger
 * originals; upscaling gives real JPEG sizes and decode cost, not more detail). Quality 90.
 * `phone`: the first three upscaled to 4032x3024 (12.2 MP, a phone camera's size) for the
 * per-image cost; an upscaled photo is smoother than a real one, so its file is smaller
 * (~0.5 MB rather than 3–5 MB) and its entropy decoding cheaper. `portrait`: the first of them
 * as a phone stores a portrait shot: the sensor's landscape pixels with EXIF orientation 6
 * ("turn 90° clockwise"), 3024x4032 upright.
 */
export interface BenchImages {
  readonly small: Buffer[];
  readonly large: Buffer[];
  /** small and large interleaved: what the load generator sends in turn. */
  readonly mixed: Buffer[];
  readonly phone: Buffer[];
  readonly portrait: Buffer;
}

export const SIZES = { small: [640, 480], large: [1920, 1080], phone: [4032, 3024], portrait: [3024, 4032] } as const;

export async function benchImages(): Promise<BenchImages> {
  const files: string[] = [];
  for (const label of (await readdir(FIXTURE_TREE)).sort()) {
    for (const name of (await readdir(path.join(FIXTURE_TREE, label))).sort()) files.push(path.join(FIXTURE_TREE, label, name));
  }
  const originals = await Promise.all(files.map((file) => readFile(file)));
  const resized = (sources: Buffer[], [width, height]: readonly [number, number]) =>
    Promise.all(sources.map((image) => sharp(image).rotate().resize(width, height, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer()));
  const [small, large, phone] = await Promise.all([
    resized(originals, SIZES.small),
    resized(originals, SIZES.large),
    resized(originals.slice(0, 3), SIZES.phone),
  ]);
  const portrait = await sharp(phone[0]!).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer();
  return { small, large, mixed: small.flatMap((image, i) => [image, large[i]!]), phone, portrait };
}
