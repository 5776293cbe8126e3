import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import {
  CONTINUATION_WAIT_MS,
  MAX_LINE_BYTES,
  MAX_RELAYED_CHARS,
  parseNginxLine,
  parsePm2Line,
  relayLines,
} from '../../image_classification/child-output';

test("nginx's and pm2's own lines get the level their writer gave them", () => {
  assert.deepEqual(parseNginxLine('2026/12/03 03:04:30 [warn] 4242#0: *17 upstream server temporarily disabled'), {
    level: 'warn',
    msg: 'upstream server temporarily disabled',
  });
  // By design for every body over 128 kB (most phone photos): news, not a warning.
  const spilled = '2026/12/03 03:04:30 [warn] 4242#0: *17 a client request body is buffered to a temporary file /run/x/0000000001';
  assert.equal(parseNginxLine(spilled).level, 'info');
  assert.equal(parseNginxLine('2026/12/03 03:04:30 [emerg] 1#0: bind() to 0.0.0.0:8080 failed').level, 'fatal');
  assert.equal(parseNginxLine('2026/12/03 03:04:30 [crit] 1#0: connect() failed').level, 'error');
  assert.deepEqual(parseNginxLine('nginx: [alert] could not open error log'), {
    level: 'warn',
    msg: 'nginx: [alert] could not open error log',
  });
  assert.deepEqual(parsePm2Line('2026-12-03T03:04:30: PM2 log: App [model-server:0] online', 'warn'), {
    level: 'info',
    msg: 'App [model-server:0] online',
  });
  assert.equal(parsePm2Line('2026-12-03T03:04:30: PM2 error: Error: spawn ENOENT', 'info').level, 'error');
  assert.deepEqual(parsePm2Line('Segmentation fault', 'warn'), { level: 'warn', msg: 'Segmentation fault' });
  // A worker stopped by serve is news; one that crashed or was killed is a warning.
  const exit = (code: number, signal: string) =>
    `2026-12-03T03:04:30: PM2 log: App [model-server:0] exited with code [${code}] via signal [${signal}]`;
  assert.equal(parsePm2Line(exit(0, 'SIGINT'), 'warn').level, 'info');
  assert.equal(parsePm2Line(exit(1, 'SIGINT'), 'info').level, 'warn');
  assert.equal(parsePm2Line(exit(0, 'SIGKILL'), 'info').level, 'warn');
  const pm2 = (msg: string) => parsePm2Line(`2026-12-03T03:04:30: PM2 log: ${msg}`, 'info').level;
  assert.equal(pm2('Script /app/dist/worker.js had too many unstable restarts (16). Stopped. "errored"'), 'error');
  assert.equal(pm2('Process with pid 42 still alive after 65000ms, sending SIGKILL to 1 remaining pids...'), 'warn');
  assert.equal(pm2('pid=42 msg=failed to kill - retrying in 100ms'), 'warn');
});

/** A sink that keeps what it is given and says it is behind while `behind` is set. */
class Sink extends EventEmitter {
  readonly chunks: string[] = [];
  behind = false;
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return !this.behind;
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('a JSON line is relayed as it is; any other line becomes one JSON entry, uncoloured and cut to size; an endless one is dropped', async () => {
  const child = new PassThrough();
  const sink = new Sink();
  relayLines(child, sink, 'info', { component: 'pm2' }, (line) => parsePm2Line(line, 'warn'));
  const workerLine = '{"level":30,"msg":"request done","status":200,"note":"a\u2028b"}';
  // A line still unfinished past MAX_LINE_BYTES is skipped to its end, not held.
  child.write('y'.repeat(MAX_LINE_BYTES / 2 + 1));
  child.write('y'.repeat(MAX_LINE_BYTES / 2 + 1));
  child.write('y\n');
  child.end(
    [
      workerLine,
      // console.log of an object in a handler: not JSON.
      "{ handler: 'x', n: 2 }",
      '\u001b[1;31m2026-12-03 03:04:30.1 [W:onnxruntime:, graph.cc:42] a warning\u001b[m',
      '',
      'x'.repeat(MAX_RELAYED_CHARS + 100),
      '2026-12-03T03:04:30: PM2 log: App [model-server:1] exited with code [1] via signal [SIGABRT]',
      // A U+2028 (which pino leaves unescaped in a string) does not end a line.
      'before\u2028{"level":60,"msg":"forged"}\u2028after',
    ].join('\n'),
  );
  await settle();
  assert.equal(sink.chunks[0], `${workerLine}\n`);
  const entries = sink.chunks.slice(1).map((line) => JSON.parse(line) as { level: number; component: string; msg: string });
  assert.deepEqual(
    entries.map(({ level, msg }) => [level, msg.length > 200 ? msg.length : msg]),
    [
      [40, "{ handler: 'x', n: 2 }"],
      [40, '2026-12-03 03:04:30.1 [W:onnxruntime:, graph.cc:42] a warning'],
      [40, MAX_RELAYED_CHARS + 1],
      [40, 'App [model-server:1] exited with code [1] via signal [SIGABRT]'],
      [40, 'before\u2028{"level":60,"msg":"forged"}\u2028after'],
    ],
  );
  assert.ok(entries.every((entry) => entry.component === 'pm2'));
});

test("while the sink is behind, the child's stream is paused until it drains", async () => {
  const child = new PassThrough();
  const sink = new Sink();
  sink.behind = true;
  relayLines(child, sink, 'info', {}, parseNginxLine);
  for (let i = 0; i < 20_000; i++) child.write(`{"line":${i}}\n`);
  await settle();
  const relayed = sink.chunks.length;
  assert.ok(relayed > 0 && relayed < 20_000, `${relayed} of 20,000 relayed while behind`);
  assert.ok(child.readableLength + child.writableLength > 0, "the rest waits in the child's stream");
  sink.behind = false;
  sink.emit('drain');
  await settle();
  assert.equal(sink.chunks.length, 20_000);
  assert.deepEqual(
    sink.chunks.map((chunk) => (JSON.parse(chunk) as { line: number }).line),
    Array.from({ length: 20_000 }, (_, i) => i),
  );
});

type Entry = { level: number; msg: string; repeated?: number };

test("a stack trace's indented lines join the line before them; a JSON line between entries keeps its place", async () => {
  const child = new PassThrough();
  const sink = new Sink();
  relayLines(child, sink, 'info', {}, (line) => parsePm2Line(line, 'warn'));
  const trace = ['Error: boom', '    at handle (/app/code/inference.js:3:9)', '    at process.processTicksAndRejections (node:internal)'];
  child.write(`${trace.join('\n')}\n{"level":30,"msg":"next"}\nTypeError: x\n`);
  child.write(`${'    at y\n'.repeat(2000)}`);
  // A line that comes after the wait is an entry of its own.
  await new Promise((resolve) => setTimeout(resolve, CONTINUATION_WAIT_MS * 3));
  child.end('    at late\n');
  await settle();
  const entries = sink.chunks.map((chunk) => JSON.parse(chunk) as Entry);
  assert.deepEqual(entries[0], { ...entries[0], level: 40, msg: trace.join('\n') });
  assert.deepEqual(entries[1], { level: 30, msg: 'next' });
  assert.match(entries[2]!.msg, /^TypeError: x\n {4}at y\n/);
  assert.equal(entries[2]!.msg.length, MAX_RELAYED_CHARS + 1, 'a long trace is cut');
  assert.deepEqual([entries[3]!.msg, entries.length], ['    at late', 4]);
});

test('a line repeated in a flood is relayed once, then counted', async () => {
  const child = new PassThrough();
  const sink = new Sink();
  relayLines(child, sink, 'info', {}, (line) => parsePm2Line(line, 'info'));
  // Two stuck workers: pm2 alternates between their pids.
  const retry = (at: string, pid: number) => `2026-12-03T03:04:${at}: PM2 log: pid=${pid} msg=failed to kill - retrying in 100ms`;
  for (let i = 0; i < 500; i++) child.write(`${retry(String(10 + (i % 40)), 42 + (i % 2))}\n`);
  child.end('2026-12-03T03:05:00: PM2 log: App [model-server:0] exited with code [0] via signal [SIGKILL]\n');
  await settle();
  const entries = sink.chunks.map((chunk) => JSON.parse(chunk) as Entry);
  const [of42, of43] = [42, 43].map((pid) => `pid=${pid} msg=failed to kill - retrying in 100ms`);
  assert.deepEqual(
    entries.map(({ level, msg, repeated }) => ({ level, msg, repeated })),
    [
      { level: 40, msg: of42, repeated: undefined },
      { level: 40, msg: of43, repeated: undefined },
      { level: 40, msg: 'App [model-server:0] exited with code [0] via signal [SIGKILL]', repeated: undefined },
      // The counts follow when the window ends, or with the stream.
      { level: 40, msg: of42, repeated: 249 },
      { level: 40, msg: of43, repeated: 249 },
    ],
  );
});
