import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { Response } from 'express';
import { Admission } from '../../image_classification/http/admission';
import { OverloadedError } from '../../image_classification/errors';

test('a slot is the work, not the response: the observer hears of its end only when the work settles, after the answer too', async () => {
  const events: string[] = [];
  const admission = new Admission(1, { requestStarted: () => events.push('started'), requestEnded: () => events.push('ended') });
  let finishWork: () => void = () => undefined;
  const server = http.createServer((_req, res) => {
    const slot = admission.admit(res as unknown as Response);
    // Work that outlives its answer, as a decode does after a 504.
    slot.holdUntil(new Promise<void>((resolve) => (finishWork = resolve)));
    res.end('answered before the work is done');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const answer = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await answer.text(), 'answered before the work is done');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(events, ['started'], 'still working after the response closed');
    assert.equal(admission.count, 1);
    assert.throws(
      () => admission.admit(new http.ServerResponse(new http.IncomingMessage(null as never)) as unknown as Response),
      OverloadedError,
    );
    finishWork();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(events, ['started', 'ended']);
    assert.equal(admission.count, 0);
  } finally {
    server.close();
  }
});
