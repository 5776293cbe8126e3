import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { packDirectory } from '../model/pack';
import { CUDA_MODEL_FILE, LABELS_FILE, MODEL_FILE, SPEC_FILE } from '../model/model-dir';
import type { ModelSpec } from '../model/spec';

export interface ModelGraphs {
  /** model.onnx: what the CPU runs (int8 QDQ, or float32 with --precision float32). */
  readonly model: Uint8Array;
  /** model.cuda.onnx: the float32 graph for the CUDA provider, beside an int8 model.onnx. */
  readonly cuda?: Uint8Array;
}

/** Write the model directory (model.onnx [+ model.cuda.onnx], labels.json, preprocessing.json) as model.tar.gz. */
export async function packModel(out: string, graphs: ModelGraphs, labels: readonly string[], spec: Partial<ModelSpec>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pack-'));
  try {
    await writeFile(path.join(dir, MODEL_FILE), graphs.model);
    if (graphs.cuda) await writeFile(path.join(dir, CUDA_MODEL_FILE), graphs.cuda);
    await writeFile(path.join(dir, LABELS_FILE), `${JSON.stringify(labels, null, 2)}\n`);
    await writeFile(path.join(dir, SPEC_FILE), `${JSON.stringify(spec, null, 2)}\n`);
    await packDirectory(dir, out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
