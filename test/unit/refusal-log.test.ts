import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rename } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import client from 'prom-client';
import { RefusalLog } from '../../image_classification/metrics/refusal-log';

async function counts(registry: client.Registry): Promise<Record<string, number>> {
  const [metric] = await registry.getMetricsAsJSON();
  return Object.fromEntries(metric!.values.map((v) => [v.labels.reason, v.value]));
}

test("nginx's refusal log: every line counted once, across partial lines and a rotation", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refusals-'));
  const file = path.join(dir, 'refusals.log');
  const registry = new client.Registry();
  let reopened = 0;
  // Rotates past 40 bytes; "reopen" is what nginx does on SIGUSR1: a new file from then on.
  const log = new RefusalLog(file, registry, () => reopened++, 40);
  assert.deepEqual(await counts(registry), { overloaded: 0, per_client: 0, unavailable: 0 }, 'no file yet');

  await appendFile(file, 'overloaded\nper_client\nover');
  assert.deepEqual(await counts(registry), { overloaded: 1, per_client: 1, unavailable: 0 });
  await appendFile(file, 'loaded\nunavailable\nsomething else\n');
  assert.deepEqual(await counts(registry), { overloaded: 2, per_client: 1, unavailable: 1 }, 'a line split across reads counts once');
  assert.equal(reopened, 1, 'past 40 bytes the file was renamed and nginx told to reopen');

  // nginx may still write to the renamed file before it reopens; then it writes to a new one.
  await appendFile(`${file}.old`, 'per_client\n');
  await appendFile(file, 'overloaded\n');
  assert.deepEqual(await counts(registry), { overloaded: 3, per_client: 2, unavailable: 1 });
  assert.deepEqual(await readdir(dir), ['refusals.log'], 'the old file is removed once read');

  await rename(file, path.join(dir, 'gone')); // a missing file is no error
  assert.deepEqual(await counts(registry), { overloaded: 3, per_client: 2, unavailable: 1 });
  log.stop();
});
