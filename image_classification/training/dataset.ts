import { readdir } from 'node:fs/promises';
import path from 'node:path';

export interface LabelledImage {
  readonly file: string;
  readonly label: number;
}

export interface Dataset {
  readonly classes: readonly string[];
  readonly items: readonly LabelledImage[];
}

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic']);

const isImage = (file: string) => IMAGE_EXTENSIONS.has(path.extname(file).toLowerCase());

/** Every image under `root`, in any folder layout, sorted (for calibration: no labels needed). */
export async function listImages(root: string): Promise<string[]> {
  const files = (await readdir(root, { recursive: true })).filter(isImage).sort();
  if (files.length === 0) throw new Error(`${root} holds no images`);
  return files.map((f) => path.join(root, f));
}

/**
 * A folder-per-class tree: DIR/<class>/<image>. Classes and files are sorted so the order
 * (and therefore training) is the same on every machine. `classes` pins the class order to
 * an existing model's labels when evaluating it.
 */
export async function readDataset(root: string, classes?: readonly string[]): Promise<Dataset> {
  const entries = await readdir(root, { withFileTypes: true });
  const found = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (found.length === 0) throw new Error(`${root} has no class folders`);
  const order = classes ?? found;
  const unknown = found.filter((name) => !order.includes(name));
  if (unknown.length > 0) throw new Error(`${root} has folders for classes the model does not know: ${unknown.join(', ')}`);
  const items: LabelledImage[] = [];
  for (const name of found) {
    const files = (await readdir(path.join(root, name))).filter(isImage).sort();
    for (const file of files) items.push({ file: path.join(root, name, file), label: order.indexOf(name) });
  }
  if (items.length === 0) throw new Error(`${root} holds no images`);
  return { classes: order, items };
}

export function mergeDatasets(a: Dataset, b: Dataset): Dataset {
  if (a.classes.join('\n') !== b.classes.join('\n')) throw new Error('the two data sets have different classes');
  return { classes: a.classes, items: [...a.items, ...b.items] };
}
