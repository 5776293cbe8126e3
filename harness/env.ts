import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { packageRoot } from '../image_classification/paths';

/**
 * What the tests and the benchmarks share: where the repository's data lies, free ports and
 * polling. The harness imports the product only; neither test/ nor bench/ is imported here.
 */

export const ROOT = packageRoot();
export const DATA_DIR = path.join(ROOT, 'data');
export const SHIPPED_ARCHIVE = path.join(ROOT, 'model', 'model.tar.gz');
export const FIXTURE_TREE = path.join(ROOT, 'test', 'fixtures', 'trashnet-mini');

export const sample = (name: string) => readFile(path.join(DATA_DIR, name));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
