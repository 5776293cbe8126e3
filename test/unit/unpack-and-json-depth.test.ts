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
import { deepPaths, gzippedTar, tarEntry } from '../../harness/hostile/hostile-models';

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
    // The directories an entry's path implies count as entries: 400 files 31 levels down make
    // 12,400 directories; and no path may be more than 32 levels deep.
    const deepDirs = path.join(work, 'deep-dirs.tar.gz');
    await writeFile(deepDirs, gzippedTar(deepPaths(400, 31)));
    await assert.rejects(unpackArchive(deepDirs, { maxBytes: 2 ** 32, parentDir }), /more than 10000 entries \(the directories/);
    const tooDeep = path.join(work, 'too-deep.tar.gz');
    await writeFile(tooDeep, gzippedTar(deepPaths(1, 32)));
    await assert.rejects(unpackArchive(tooDeep, { maxBytes: 2 ** 32, parentDir }), /more than 32 levels deep/);
    // Within both: 300 files 31 levels down, and files beside and inside explicit directories.
    const fits = path.join(work, 'fits.tar.gz');
    await writeFile(fits, gzippedTar([...deepPaths(300, 31), tarEntry('d0/x/g', Buffer.from('g'))]));
    const unpacked = await unpackArchive(fits, { maxBytes: 2 ** 32, parentDir });
    assert.equal(await readFile(path.join(unpacked, 'd0/x/g'), 'utf8'), 'g');
    assert.equal((await readdir(path.join(unpacked, 'd299', ...Array<string>(30).fill('x')))).join(), 'f');
    await rm(unpacked, { recursive: true, force: true });

    // A file over a directory, a directory over a file, a file named '.': refused, naming no path.
    for (const [name, entries] of Object.entries({ over: ['a/b', 'a'], under: ['a', 'a/b'], dot: ['.'] })) {
      const archive = path.join(work, `${name}.tar.gz`);
      await writeFile(archive, gzippedTar(entries.map((entry) => tarEntry(entry))));
      await assert.rejects(unpackArchive(archive, { maxBytes: 2 ** 32, parentDir }), (error: Error) => {
        assert.match(error.message, /cannot be written there \((EISDIR|EEXIST|ENOTDIR)/);
        assert.doesNotMatch(error.message, /\//);
        return true;
      });
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
