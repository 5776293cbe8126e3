import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { processIdentity } from '../../image_classification/proc-stat';
import { makeRunDir, removeStaleRunDirs } from '../../image_classification/run-dir';

test("a serve's run dir is removed by the next start only once the process that made it is gone", async () => {
  const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'run-dirs-'));
  try {
    const live = makeRunDir(tmpDir);
    assert.equal(readFileSync(path.join(live, 'serve.owner'), 'utf8'), processIdentity(process.pid));
    const ownedBy = (name: string, owner: string | undefined) => {
      const dir = path.join(tmpDir, name);
      mkdirSync(dir);
      if (owner !== undefined) writeFileSync(path.join(dir, 'serve.owner'), owner);
      return dir;
    };
    // A process that has exited, and this process's pid with another start time (a reused pid).
    const exited = spawnSync(process.execPath, ['-e', '']).pid!;
    const [, ownStart] = processIdentity(process.pid)!.split(' ');
    const gone = ownedBy('serve-gone', `${exited} 1`);
    const reused = ownedBy('serve-reused', `${process.pid} ${Number(ownStart) + 1}`);
    const beingMade = ownedBy('serve-new', undefined);
    const other = ownedBy('other-dir', `${exited} 1`);
    symlinkSync(gone, path.join(tmpDir, 'serve-link'));
    writeFileSync(path.join(tmpDir, 'serve-file'), '');

    assert.deepEqual(removeStaleRunDirs(tmpDir).sort(), ['serve-gone', 'serve-reused']);
    assert.ok(!existsSync(gone) && !existsSync(reused));
    for (const kept of [live, beingMade, other, path.join(tmpDir, 'serve-file')]) assert.ok(existsSync(kept), kept);
    assert.deepEqual(removeStaleRunDirs(tmpDir), []);
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
});
