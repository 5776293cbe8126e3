import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ModelSpec } from '../image_classification/model/spec';
import { preprocessBatch } from '../image_classification/preprocess/batch';
import { DEFAULT_MAX_IMAGE_PIXELS } from '../image_classification/preprocess/limits';
import { tensorLayout } from '../image_classification/preprocess/tensor';

/**
 * What one image costs before the model, against libjpeg-turbo's own floor: `tjbench`
 * (Debian's libjpeg-turbo-progs) decoding the same file to full-size RGB, one thread.
 * Ours is decode + EXIF/colour checks + resize + crop + the float tensor, one image at a time.
 */

const run = promisify(execFile);

export interface ImageCost {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly bytes: number;
  /** decode + preprocess, one image at a time (median ms, wall clock and CPU of this process). */
  readonly preprocessMs: number;
  readonly preprocessCpuMs: number;
  /** tjbench's decode of the same file (ms per frame), undefined without tjbench. */
  readonly tjbenchMs: number | undefined;
}

async function tjbenchMs(image: Buffer): Promise<number | undefined> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tjbench-'));
  try {
    const file = path.join(dir, 'image.jpg');
    await writeFile(file, image);
    const { stdout } = await run('tjbench', [file, '-benchtime', '3', '-warmup', '1'], { cwd: dir });
    const fps = Number(/Decompress\s+-->\s+Frame rate:\s+([\d.]+)/.exec(stdout)?.[1]);
    return fps > 0 ? 1000 / fps : undefined;
  } catch {
    return undefined;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function preprocessCost(image: Buffer, spec: ModelSpec, seconds: number): Promise<{ wall: number; cpu: number }> {
  const layout = tensorLayout(spec);
  const options = { maxPixels: DEFAULT_MAX_IMAGE_PIXELS };
  const into = new Float32Array(3 * spec.crop_size * spec.crop_size);
  for (let i = 0; i < 3; i++) await preprocessBatch([image], spec, layout, options, into);
  const walls: number[] = [];
  const cpuStart = process.cpuUsage();
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline || walls.length < 5) {
    const start = performance.now();
    await preprocessBatch([image], spec, layout, options, into);
    walls.push(performance.now() - start);
  }
  const cpu = process.cpuUsage(cpuStart);
  return { wall: median(walls), cpu: (cpu.user + cpu.system) / 1000 / walls.length };
}

export async function measureImageCosts(
  images: readonly { name: string; width: number; height: number; data: Buffer }[],
  spec: ModelSpec,
  seconds: number,
): Promise<ImageCost[]> {
  const costs: ImageCost[] = [];
  for (const image of images) {
    const ours = await preprocessCost(image.data, spec, seconds);
    costs.push({
      name: image.name,
      width: image.width,
      height: image.height,
      bytes: image.data.length,
      preprocessMs: ours.wall,
      preprocessCpuMs: ours.cpu,
      tjbenchMs: await tjbenchMs(image.data),
    });
  }
  return costs;
}
