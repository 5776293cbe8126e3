import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { isRunning, ROOT, waitFor } from '../../harness/helpers';

/** `npm test` and the benches run under scripts/in-temp-dir.mjs: what they leave in TMPDIR goes with it. */

const SCRIPT = path.join(ROOT, 'scripts', 'in-temp-dir.mjs');
const LEAVE_A_FILE = 'echo "$TMPDIR"; mkdir "$TMPDIR/run"; touch "$TMPDIR/run/model.onnx"';

test("the command runs with TMPDIR set to a fresh directory that nginx's workers can traverse; it is removed, with what the run left running, and the command's status kept", () => {
  // A server the run left behind, in a session of its own as serve's are.
  const leftBehind = 'setsid sleep 60 </dev/null >/dev/null 2>&1 & echo $!';
  const run = spawnSync(process.execPath, [SCRIPT, 'sh', '-c', `${LEAVE_A_FILE}; ${leftBehind}; test -d "$TMPDIR/run" && exit 3`], {
    encoding: 'utf8',
  });
  assert.equal(run.status, 3, run.stderr);
  const [dir, pid] = run.stdout.trim().split('\n');
  assert.match(path.basename(dir!), /^image-classification-/);
  assert.equal(existsSync(dir!), false, `${dir} is removed`);
  assert.equal(isRunning(Number(pid)), false, 'what the run left running is stopped');
  assert.equal(spawnSync(process.execPath, [SCRIPT, 'no-such-command-here'], { encoding: 'utf8' }).status, 127);
});

test('a signal to the wrapper reaches the command, and the directory is removed once the command has ended', async () => {
  const child = spawn(process.execPath, [SCRIPT, 'sh', '-c', `${LEAVE_A_FILE}; exec sleep 30`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await waitFor(async () => out.includes('\n'), 10_000, 'the command to start');
  const dir = out.trim();
  assert.equal(statSync(dir).mode & 0o777, 0o755);
  await waitFor(async () => existsSync(path.join(dir, 'run', 'model.onnx')), 10_000, 'the file');
  child.kill('SIGTERM');
  assert.equal(await exited, 128 + 15, 'the command was ended by SIGTERM');
  assert.equal(existsSync(dir), false, `${dir} is removed`);
});
