import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { MAX_RELAYED_CHARS, parseNginxLine, parsePm2Line, relayLines } from '../../image_classification/child-output';

test("nginx's and pm2's own lines get the level their writer gave them", () => {
  assert.deepEqual(parseNginxLine('2026/12/03 03:04:30 [warn] 4242#0: *17 a client request body is buffered to a temporary file'), {
    level: 'warn',
    msg: 'a client request body is buffered to a temporary file',
  });
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
});

test('a JSON line is relayed as it is; any other line becomes one JSON entry, uncoloured and cut to size', async () => {
  const child = new PassThrough();
  const out = new PassThrough();
  const logged = new PassThrough();
  const logger = pino({ base: { component: 'pm2' } }, logged);
  relayLines(child, logger, (line) => parsePm2Line(line, 'warn'), out);
  const workerLine = '{"level":30,"msg":"request done","status":200}';
  child.end(
    [
      workerLine,
      '\u001b[1;31m2026-12-03 03:04:30.1 [W:onnxruntime:, graph.cc:42] a warning\u001b[m',
      '',
      'x'.repeat(MAX_RELAYED_CHARS + 100),
      '2026-12-03T03:04:30: PM2 log: App [model-server:1] exited with code [1] via signal [SIGABRT]',
    ].join('\n'),
  );
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(String(out.read()), `${workerLine}\n`);
  const entries = String(logged.read())
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { level: number; component: string; msg: string });
  assert.deepEqual(
    entries.map(({ level, msg }) => [level, msg.length > 200 ? msg.length : msg]),
    [
      [40, '2026-12-03 03:04:30.1 [W:onnxruntime:, graph.cc:42] a warning'],
      [40, MAX_RELAYED_CHARS + 1],
      [40, 'App [model-server:1] exited with code [1] via signal [SIGABRT]'],
    ],
  );
  assert.ok(entries.every((entry) => entry.component === 'pm2'));
});
