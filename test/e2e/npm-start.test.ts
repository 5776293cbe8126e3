import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort, ROOT, waitFor, withDeadline } from '../../harness/helpers';

/**
 * `npm start` as the README runs it: npm, then serve, nginx, pm2 and the workers. A signal to
 * npm's own PID (what a process manager or `kill` sends) must reach serve, and nothing may
 * outlive it; a restart right after must serve again at once.
 */

/** Every process left in the group npm started (its own PID is the group id). */
function groupMembers(pgid: number): string[] {
  try {
    return execFileSync('pgrep', ['-g', String(pgid), '-a'])
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean);
  } catch {
    return [];
  }
}

async function npmStart(port: number, tmpDir: string) {
  // NODE_TEST_CONTEXT would make every node process below report to this test runner.
  const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...inherited, TMPDIR: tmpDir, SAGEMAKER_BIND_TO_PORT: String(port), SAGEMAKER_MODEL_SERVER_WORKERS: '2', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = Date.now();
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ping`)).status === 200, 60_000, 'npm start /ping').catch(
    (error: Error) => {
      process.kill(-child.pid!, 'SIGKILL');
      throw new Error(`${error.message}\n${output}`);
    },
  );
  return { pid: child.pid!, exited, output: () => output, readyMs: Date.now() - started };
}

test('SIGTERM to npm start leaves no process behind, and a second npm start serves at once', async () => {
  const port = await freePort();
  const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'npm-start-'));
  // nginx workers run as `nobody` under root: they must be able to traverse to the sockets.
  await chmod(tmpDir, 0o755);

  const first = await npmStart(port, tmpDir);
  try {
    assert.ok(
      groupMembers(first.pid).some((line) => line.includes('nginx')),
      'nginx runs in npm start’s group',
    );
    process.kill(first.pid, 'SIGTERM');
    await withDeadline(first.exited, 30_000);
    await waitFor(async () => groupMembers(first.pid).length === 0, 30_000, 'every process of npm start to exit').catch((error: Error) => {
      throw new Error(`${error.message}: ${groupMembers(first.pid).join('; ')}\n${first.output()}`);
    });
    await assert.rejects(fetch(`http://127.0.0.1:${port}/ping`), 'the port is closed');
  } finally {
    if (groupMembers(first.pid).length) process.kill(-first.pid, 'SIGKILL');
  }

  const second = await npmStart(port, tmpDir);
  try {
    // A generous bound: it takes about 5 s on 2 busy cores (npm, an up-to-date build check,
    // two workers loading the model).
    assert.ok(second.readyMs < 30_000, `ready in ${second.readyMs} ms`);
  } finally {
    process.kill(second.pid, 'SIGTERM');
    await withDeadline(second.exited, 30_000);
    await waitFor(async () => groupMembers(second.pid).length === 0, 30_000, 'the second npm start to exit').catch(() => {
      process.kill(-second.pid, 'SIGKILL');
    });
  }
});
