import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { checkJsonDepth } from '../../image_classification/codecs/json-depth';
import { MAX_JSON_DEPTH } from '../../image_classification/codecs/limits';
import { unpackArchive } from '../../image_classification/model/model-dir';
import { SHIPPED_ARCHIVE } from '../../harness/env';

const code = (expected: string) => (error: unknown) => (error as { code?: string }).code === expected;

test('JSON depth: refused past MAX_JSON_DEPTH before parsing; brackets inside strings do not count', () => {
  const nested = (depth: number) => Buffer.from(`${'['.repeat(depth)}1${']'.repeat(depth)}`);
  checkJsonDepth(nested(MAX_JSON_DEPTH));
  assert.throws(() => checkJsonDepth(nested(MAX_JSON_DEPTH + 1)), code('invalid_json'));
  checkJsonDepth(Buffer.from(JSON.stringify({ image: '['.repeat(10_000), quoted: '\\"[[[[' })));
  const started = performance.now();
  assert.throws(() => checkJsonDepth(nested(3_000_000)), code('invalid_json'));
  assert.ok(performance.now() - started < 1000, 'a 6 MB bracket body is refused in well under a second');
});

test('archives: trailing data is never inflated, limits refuse and leave nothing behind', async () => {
  const work = await mkdtemp(path.join(os.tmpdir(), 'unpack-test-'));
  const parentDir = await mkdtemp(path.join(os.tmpdir(), 'unpack-into-'));
  try {
    const raw = gunzipSync(await readFile(SHIPPED_ARCHIVE));
    const trailing = path.join(work, 'trailing.tar.gz');
    await writeFile(trailing, gzipSync(Buffer.concat([raw, Buffer.alloc(64 * 1024 * 1024)])));
    const started = performance.now();
    // The limit is below the trailing zeros: they are not counted, since unpacking stops at the end marker.
    const dir = await unpackArchive(trailing, { maxBytes: 32 * 1024 * 1024, parentDir });
    assert.ok(performance.now() - started < 10_000);
    const reference = await unpackArchive(SHIPPED_ARCHIVE);
    for (const file of await readdir(reference)) {
      assert.deepEqual(await readFile(path.join(dir, file)), await readFile(path.join(reference, file)), file);
    }
    await rm(reference, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });

    const refusals: [string, number, number][] = [
      [SHIPPED_ARCHIVE, 1024 * 1024, 60_000], // inflates past the limit
      [SHIPPED_ARCHIVE, 4096 * 1024 * 1024, 1], // past its time limit
    ];
    for (const [archive, maxBytes, timeoutMs] of refusals) {
      await assert.rejects(unpackArchive(archive, { maxBytes, timeoutMs, parentDir }), code('model_archive_invalid'));
    }
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(
      unpackArchive(SHIPPED_ARCHIVE, { maxBytes: 2 ** 32, signal: aborted.signal, parentDir }),
      code('model_archive_invalid'),
    );
    assert.deepEqual(await readdir(parentDir), [], 'no unpacked copy is left');
  } finally {
    await rm(work, { recursive: true, force: true });
    await rm(parentDir, { recursive: true, force: true });
  }
});
