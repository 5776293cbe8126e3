import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { openWorkerLogFifos, workerLogDestination } from '../../image_classification/worker-log-channel';

const MODULE = path.join(__dirname, '..', '..', 'image_classification', 'worker-log-channel.js');

const firstLines = (stream: Readable, count: number) =>
  new Promise<string[]>((resolve) => {
    let text = '';
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const lines = text.split('\n').filter(Boolean);
      if (lines.length >= count) resolve(lines);
    });
  });

test("each worker's lines reach serve through its own FIFO, across a worker's restart", async () => {
  const runDir = await mkdtemp(path.join(os.tmpdir(), 'log-fifo-'));
  const fifos = openWorkerLogFifos(runDir, 2)!;
  after(() => fifos.forEach((fifo) => fifo.destroy()));
  assert.equal(fifos.length, 2);
  const [zero, one] = [firstLines(fifos[0]!, 1), firstLines(fifos[1]!, 3)];
  workerLogDestination(runDir, '0')!.write('{"worker":0}\n');
  workerLogDestination(runDir, '1')!.write('{"worker":1,"n":1}\n');
  // Worker 1 again, as pm2 restarts it: another process opens the same FIFO, and serve still
  // reads it. Its long line arrives whole, written in as many calls as the pipe takes (in
  // another process: a full FIFO holds its writer until the reader, here this process, reads).
  const script = `const log = require(${JSON.stringify(MODULE)}).workerLogDestination(process.argv[1], '1');
    log.write('{"worker":1,"long":"' + 'x'.repeat(200000) + '"}\\n');
    log.write('{"worker":1,"n":2}\\n');`;
  const writer = spawn(process.execPath, ['-e', script, runDir], { stdio: 'inherit' });
  assert.deepEqual(await zero, ['{"worker":0}']);
  const lines = await one;
  assert.deepEqual(
    [lines[0], lines[1]!.length, lines[2]],
    ['{"worker":1,"n":1}', 200_000 + '{"worker":1,"long":""}'.length, '{"worker":1,"n":2}'],
  );
  assert.equal(await new Promise((resolve) => writer.once('exit', resolve)), 0);
});

test('without a FIFO that serve reads (a worker started alone, mkfifo missing, serve gone) a worker logs to stdout', async () => {
  assert.equal(workerLogDestination(undefined, '0'), undefined);
  const runDir = await mkdtemp(path.join(os.tmpdir(), 'log-fifo-'));
  assert.equal(workerLogDestination(runDir, '0'), undefined);
  // A FIFO nobody reads: opening it must not wait for a reader that will never come.
  execFileSync('mkfifo', [path.join(runDir, 'worker-0.log')]);
  assert.equal(workerLogDestination(runDir, '0'), undefined);
});
