import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readNginxTemplate, renderNginxConfig } from '../../image_classification/nginx-config';
import { workerSocketPath } from '../../image_classification/paths';
import { freePort, waitFor } from '../../harness/env';
import { skipWithoutInstalled, testConfig } from '../../harness/helpers';

const NGINX = '/usr/sbin/nginx';

/** A stand-in worker on slot `slot`'s socket that answers every request 200 with its path. */
async function fakeWorker(runDir: string, slot: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ served: req.url })));
  });
  await new Promise<void>((resolve) =>
    server.listen({ path: workerSocketPath(runDir, String(slot)), readableAll: true, writableAll: true }, resolve),
  );
  return server;
}

test(
  'an nginx whose configuration still marks every worker down (the one before a reload) sends requests to a worker that is listening; 503 only when none is',
  { skip: skipWithoutInstalled('nginx', () => existsSync(NGINX)), timeout: 30_000 },
  async () => {
    const runDir = await mkdtemp(path.join(os.tmpdir(), 'nginx-backup-'));
    // nginx's workers run as another user when started as root: they must reach the sockets.
    await chmod(runDir, 0o755);
    const port = await freePort();
    const config = testConfig({ SAGEMAKER_BIND_TO_PORT: String(port) });
    const conf = renderNginxConfig(await readNginxTemplate(), config, {
      runDir,
      socketDir: runDir,
      webDir: path.join(runDir, 'web'),
      readyWorkers: new Set(),
    });
    await writeFile(path.join(runDir, 'nginx.conf'), conf);
    const worker = await fakeWorker(runDir, 1);
    const nginx = spawn(NGINX, ['-c', path.join(runDir, 'nginx.conf'), '-p', runDir, '-e', 'stderr'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let log = '';
    nginx.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    try {
      const url = `http://127.0.0.1:${port}`;
      const invoke = () =>
        fetch(`${url}/invocations`, { method: 'POST', body: 'x'.repeat(300_000), headers: { 'Content-Type': 'image/jpeg' } });
      await waitFor(async () => (await fetch(`${url}/ping`).catch(() => undefined)) !== undefined, 10_000, 'nginx to listen');
      for (const answer of [await fetch(`${url}/ping`), await invoke()]) {
        assert.equal(answer.status, 200);
        assert.ok(['/ping', '/invocations'].includes(((await answer.json()) as { served: string }).served));
      }
      await new Promise<void>((resolve) => worker.close(() => resolve()));
      const refused = await invoke();
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'unavailable');
      // Both workers' sockets refused the connection: expected in the backup, so not logged as an error.
      assert.doesNotMatch(log, /\[(error|crit|alert|emerg)\]/);
      // A worker that took the request and died is a 502, as on the main path: the request may
      // have run, so it is not an "unavailable, retry" 503.
      const crashing = http.createServer((req) => {
        req.resume();
        req.on('end', () => req.socket.destroy());
      });
      await new Promise<void>((resolve) =>
        crashing.listen({ path: workerSocketPath(runDir, '0'), readableAll: true, writableAll: true }, resolve),
      );
      const crashed = await invoke();
      crashing.close();
      assert.equal(crashed.status, 502);
      assert.equal(((await crashed.json()) as { error: { code: string } }).error.code, 'bad_gateway');
      assert.equal(crashed.headers.get('retry-after'), null);
      assert.equal(crashed.headers.get('x-content-type-options'), 'nosniff');
    } finally {
      process.kill(-nginx.pid!, 'SIGKILL');
      worker.close();
    }
  },
);
