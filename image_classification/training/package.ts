import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { packDirectory } from '../model/archive';
import { LABELS_FILE, MODEL_FILE, SPEC_FILE } from '../model/model-dir';
import type { ModelSpec } from '../model/spec';

/** Write the model directory (model.onnx, labels.json, preprocessing.json) as model.tar.gz. */
export async function packModel(out: string, onnxBytes: Uint8Array, labels: readonly string[], spec: Partial<ModelSpec>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pack-'));
  try {
    await writeFile(path.join(dir, MODEL_FILE), onnxBytes);
    await writeFile(path.join(dir, LABELS_FILE), `${JSON.stringify(labels, null, 2)}\n`);
    await writeFile(path.join(dir, SPEC_FILE), `${JSON.stringify(spec, null, 2)}\n`);
    await packDirectory(dir, out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
