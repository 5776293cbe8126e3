import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { waitFor, withDeadline } from '../../harness/helpers';
import { invoke, startServe, workerPids } from '../../harness/serve-process';

/** What `serve` writes to stdout: its own log, its children's lines and the workers', all JSON. */

test("every line serve writes is a JSON log entry, pm2's and nginx's own included, up to pm2's last", async () => {
  // No SM_MODEL_DIR: serve finds the shipped model and hands the workers its unpacked copy.
  const own = await startServe({ LOG_LEVEL: 'info' });
  try {
    // A body past client_body_buffer_size (128 kB) makes nginx say that it spilled it to a file.
    const res = await invoke(own.url, Buffer.alloc(200_000, 1));
    assert.equal(res.status, 400);
    // Each worker's own log lines go to serve through its FIFO, not through pm2.
    const link = (file: string) => {
      try {
        return readlinkSync(file);
      } catch {
        return ''; // closed meanwhile
      }
    };
    const openFiles = (pid: number) => readdirSync(`/proc/${pid}/fd`).map((fd) => link(`/proc/${pid}/fd/${fd}`));
    const logFifos = workerPids(own).flatMap((pid) => openFiles(pid).filter((file) => /worker-\d\.log$/.test(file)));
    assert.deepEqual(logFifos.map((file) => path.basename(file)).sort(), ['worker-0.log', 'worker-1.log']);
    own.child.kill('SIGTERM');
    assert.equal(await withDeadline(own.exited, 30_000), 0, own.output());
    // pm2 writes its last line after its workers are gone; serve relays it before it exits.
    await waitFor(async () => own.output().includes('PM2 successfully stopped'), 5_000, "pm2's last line");
    const lines = own.output().trim().split('\n');
    const entries = lines.map((line) => {
      try {
        return JSON.parse(line) as { level: number; component?: string; msg: string; source?: string };
      } catch {
        return assert.fail(`not a JSON line: ${line.slice(0, 300)}`);
      }
    });
    const logged = (component: string, level: number, msg: RegExp) =>
      entries.some((entry) => entry.component === component && entry.level === level && msg.test(entry.msg));
    assert.ok(logged('pm2', 30, /^App \[model-server:0\] online$/), 'pm2 lifecycle lines');
    assert.ok(logged('nginx', 30, /buffered to a temporary file/), "nginx's line, as news");
    assert.ok(logged('serve', 30, /^serve started$/));
    // The workers name where the model came from as serve does, not the copy serve gave them.
    const sources = (msg: string) => entries.filter((entry) => entry.msg === msg).map((entry) => entry.source);
    assert.deepEqual(sources('serve started'), ['shipped']);
    assert.deepEqual(sources('model loaded and warmed'), ['shipped', 'shipped']);
    assert.ok(
      entries.some((entry) => entry.msg === 'request' && entry.component === undefined),
      "the worker's request line",
    );
  } finally {
    own.killAll();
  }
});
