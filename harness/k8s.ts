import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './env';

/** deploy/k8s's manifests, each with the file it came from. */

export const K8S = path.join(ROOT, 'deploy', 'k8s');

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: unknown;
};

export async function manifests(): Promise<{ file: string; manifest: Manifest }[]> {
  const files = (await readdir(K8S, { recursive: true })).filter((file) => file.endsWith('.yaml')).sort();
  const found = [];
  for (const file of files) {
    for (const document of parseAllDocuments(await readFile(path.join(K8S, file), 'utf8'))) {
      assert.deepEqual(document.errors, [], file);
      found.push({ file, manifest: document.toJS() as Manifest });
    }
  }
  return found;
}
