import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort, heldHandlerModel, ROOT, waitFor, withDeadline } from '../../harness/helpers';
import { parseSamples, total } from '../../harness/prometheus';
import { invoke, processesOfRun } from '../../harness/serve-process';

/**
 * `npm start` as the README runs it: npm, then serve, nginx, pm2 and the workers. Ctrl-C (a
 * terminal's SIGINT to the whole foreground group) and a signal to npm's own PID (what a
 * process manager or `kill` sends) must both let the request in flight finish and leave nothing
 * behind; a restart right after must serve again at once.
 */

async function npmStart(port: number, tmpDir: string, modelDir: string) {
  // NODE_TEST_CONTEXT would make every node process below report to this test runner.
  const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
  const env = { TMPDIR: tmpDir, SAGEMAKER_BIND_TO_PORT: String(port), SAGEMAKER_MODEL_SERVER_WORKERS: '2', LOG_LEVEL: 'warn' };
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...inherited, ...env, SM_MODEL_DIR: modelDir },
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
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // npm start already ended (a failed build, say): its output says why
      }
      throw new Error(`${error.message}\n${output}`);
    },
  );
  return { pid: child.pid!, exited, output: () => output, readyMs: Date.now() - started };
}

/** A request held in its worker (the held handler) when `signal` comes; released after it. */
async function stopsCleanly(
  run: Awaited<ReturnType<typeof npmStart>>,
  port: number,
  tmpDir: string,
  signal: () => void,
  release: () => Promise<void>,
) {
  const url = `http://127.0.0.1:${port}`;
  const inFlight = invoke(url, Buffer.from('x')).then(
    async (response) => [response.status, await response.text()],
    (error: Error) => [0, `${error.message} (${String((error.cause as Error | undefined)?.message)})`],
  );
  const inWorkers = async () => total(parseSamples(await (await fetch(`${url}/metrics`)).text()), 'model_server_admission_slots_in_use');
  await waitFor(async () => (await inWorkers()) === 1, 10_000, 'the request in a worker');
  signal();
  await new Promise((resolve) => setTimeout(resolve, 500));
  await release();
  assert.deepEqual(await inFlight, [200, 'done'], `the request in flight is answered\n${run.output()}`);
  assert.notEqual(await withDeadline(run.exited, 30_000), 'timeout', 'npm start exits');
  await waitFor(async () => processesOfRun(tmpDir).length === 0, 30_000, 'every process of npm start to exit').catch((error: Error) => {
    throw new Error(`${error.message}: ${processesOfRun(tmpDir).join('; ')}\n${run.output()}`);
  });
  await assert.rejects(fetch(`${url}/ping`), 'the port is closed');
}

test('Ctrl-C and SIGTERM to npm start both finish the request in flight and leave no process behind; a second npm start serves at once', async () => {
  const port = await freePort();
  const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'npm-start-'));
  // nginx workers run as `nobody` under root: they must be able to traverse to the sockets.
  await chmod(tmpDir, 0o755);
  const cleanUp = () => processesOfRun(tmpDir).forEach((line) => process.kill(Number(line.split(' ')[0]), 'SIGKILL'));

  const firstModel = await heldHandlerModel();
  const first = await npmStart(port, tmpDir, firstModel.dir);
  try {
    // What a terminal does on Ctrl-C: SIGINT to every process of its foreground group.
    await stopsCleanly(first, port, tmpDir, () => process.kill(-first.pid, 'SIGINT'), firstModel.release);
  } finally {
    cleanUp();
  }

  const secondModel = await heldHandlerModel();
  const second = await npmStart(port, tmpDir, secondModel.dir);
  try {
    // A generous bound: it takes about 5 s on 2 busy cores (npm, an up-to-date build check,
    // two workers loading the model).
    assert.ok(second.readyMs < 30_000, `ready in ${second.readyMs} ms`);
    await stopsCleanly(second, port, tmpDir, () => process.kill(second.pid, 'SIGTERM'), secondModel.release);
  } finally {
    cleanUp();
  }
});
