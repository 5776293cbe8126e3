import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { FIXTURE_TREE } from '../harness/env';

/**
 * The bench images: the 12 TrashNet validation photos in test/fixtures (512x384 originals),
 * re-encoded as 640x480 JPEGs (the seed size) and UPSCALED to 1920x1080 (there are no larger
 * originals; upscaling gives real JPEG sizes and decode cost, not more detail). Quality 90.
 */
export interface BenchImages {
  readonly small: Buffer[];
  readonly large: Buffer[];
  /** small and large interleaved: what the load generator sends in turn. */
  readonly mixed: Buffer[];
}

export async function benchImages(): Promise<BenchImages> {
  const files: string[] = [];
  for (const label of (await readdir(FIXTURE_TREE)).sort()) {
    for (const name of (await readdir(path.join(FIXTURE_TREE, label))).sort()) files.push(path.join(FIXTURE_TREE, label, name));
  }
  const originals = await Promise.all(files.map((file) => readFile(file)));
  const resized = (width: number, height: number) =>
    Promise.all(originals.map((image) => sharp(image).rotate().resize(width, height, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer()));
  const [small, large] = await Promise.all([resized(640, 480), resized(1920, 1080)]);
  return { small, large, mixed: small.flatMap((image, i) => [image, large[i]!]) };
}
