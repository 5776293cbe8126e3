import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { freePort, heldHandlerModel, sample, waitFor } from '../../harness/helpers';
import { parseSamples, total as sumOf } from '../../harness/prometheus';
import { invoke, startServe, workerPids, type Served } from '../../harness/serve-process';

/** The samples of one series name in a scrape. */
const samples = (text: string, name: string) => parseSamples(text).filter((s) => s.name === name);
const total = (text: string, name: string, where: Record<string, string> = {}) => sumOf(parseSamples(text), name, where);

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

async function send(url: string, requests: { body: Buffer; type: string }[], concurrency = 4): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  const queue = [...requests];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const res = await invoke(url, next.body, next.type);
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      }
    }),
  );
  return statuses;
}

describe('GET /metrics through serve (2 workers)', () => {
  let served: Served;
  let jpeg: Buffer;
  before(async () => {
    served = await startServe({});
    jpeg = await sample('paper.jpg');
  });
  after(() => served.killAll());

  test('counters sum to exactly what was sent, by status; histogram counts match; both workers counted', async () => {
    const requests = [
      ...Array.from({ length: 10 }, () => ({ body: jpeg, type: 'image/jpeg' })),
      ...Array.from({ length: 3 }, () => ({ body: Buffer.from('not an image'), type: 'image/png' })),
      ...Array.from({ length: 2 }, () => ({ body: Buffer.from('x'), type: 'text/x-unknown' })),
    ];
    // Other tests share this serve: what they sent is in the totals already, so count the growth.
    const earlier = await scrape(served.url);
    const grown = (text: string, name: string, where: Record<string, string> = {}) =>
      total(text, name, where) - total(earlier, name, where);
    const statuses = await send(served.url, requests);
    assert.deepEqual(statuses, { 200: 10, 400: 3, 415: 2 });
    const text = await scrape(served.url);
    const invocations = 'model_server_invocations_total';
    for (const [status, count] of Object.entries(statuses)) assert.equal(grown(text, invocations, { status }), count, `status ${status}`);
    assert.equal(grown(text, invocations, { content_type: 'image/jpeg' }), 10);
    assert.equal(grown(text, invocations, { content_type: 'other' }), 2, 'an unknown media type is one label, not its own');
    for (const worker of ['0', '1']) assert.ok(grown(text, invocations, { worker }) > 0, `worker ${worker} served some`);
    assert.equal(grown(text, 'model_server_invocation_duration_seconds_count'), 15);
    // Every request that reached the pipeline (not the 415s) read its body and preprocessed.
    for (const stage of ['body_read', 'preprocess'])
      assert.equal(grown(text, 'model_server_invocation_stage_seconds_count', { stage }), 13);
    for (const stage of ['queue', 'inference', 'encode'])
      assert.equal(grown(text, 'model_server_invocation_stage_seconds_count', { stage }), 10);
    assert.equal(grown(text, 'model_server_batch_size_count'), 10, 'served runs only, not the warm-up');
    assert.equal(samples(text, 'process_resident_memory_bytes').length, 3, 'each worker and the supervisor');
    assert.equal(samples(text, 'model_server_model_load_seconds').length, 2);
    assert.equal(total(text, 'model_server_workers_up'), 2);
  });

  test('Server-Timing names the stages of every invocation', async () => {
    const res = await invoke(served.url, jpeg, 'image/jpeg');
    await res.arrayBuffer();
    const timing = res.headers.get('server-timing') ?? '';
    const names = timing.split(', ').map((entry) => entry.split(';')[0]);
    assert.deepEqual(names, ['body_read', 'preprocess', 'queue', 'inference', 'encode', 'total'], timing);
    const refused = await invoke(served.url, Buffer.from('no'), 'image/png');
    await refused.arrayBuffer();
    assert.match(refused.headers.get('server-timing') ?? '', /preprocess;dur=[\d.]+, total;dur=[\d.]+$/, 'errors are timed too');
  });

  test('a worker killed and restarted by pm2 does not make totals go backwards or count twice', async () => {
    const scraped = await scrape(served.url);
    const before = total(scraped, 'model_server_invocations_total');
    const restarts = total(scraped, 'model_server_worker_restarts_total');
    const [victim] = workerPids(served);
    process.kill(victim!, 'SIGKILL');
    await waitFor(
      async () => {
        const text = await scrape(served.url);
        return total(text, 'model_server_worker_restarts_total') === restarts + 1 && total(text, 'model_server_workers_up') === 2;
      },
      60_000,
      'the restarted worker answering the supervisor',
    );
    assert.equal(total(await scrape(served.url), 'model_server_invocations_total'), before, 'the dead worker still counts, once');
    const statuses = await send(
      served.url,
      Array.from({ length: 6 }, () => ({ body: jpeg, type: 'image/jpeg' })),
    );
    assert.deepEqual(statuses, { 200: 6 });
    assert.equal(total(await scrape(served.url), 'model_server_invocations_total'), before + 6);
  });
});

describe("nginx's own refusals", () => {
  let served: Served;
  let held: Awaited<ReturnType<typeof heldHandlerModel>>;
  before(async () => {
    // Two invocations in progress in all (2 workers × 1), two open per client; each held until released.
    held = await heldHandlerModel();
    served = await startServe({ SM_MODEL_DIR: held.dir, MODEL_SERVER_MAX_QUEUE: '1', MODEL_SERVER_MAX_CONNECTIONS_PER_CLIENT: '2' });
  });
  after(() => served.killAll());

  test('each 429 and each 503 is counted once: by nginx, or by the worker that refused it', async () => {
    const statuses: number[] = [];
    // nginx's per-client limit is per address: a second loopback address is a second client.
    const post = (localAddress = '127.0.0.1') =>
      new Promise<number>((resolve, reject) => {
        const { hostname, port } = new URL(served.url);
        const req = http.request({ host: hostname, port, localAddress, method: 'POST', path: '/invocations' }, (res) => {
          res.resume();
          res.on('end', () => {
            statuses.push(res.statusCode!);
            resolve(res.statusCode!);
          });
        });
        req.on('error', reject);
        req.end('x');
      });
    const holding = [post(), post()];
    await waitFor(async () => total(await scrape(served.url), 'model_server_admission_slots_in_use') === 2, 10_000, 'two in progress');
    assert.equal(await post('127.0.0.2'), 503, 'another client: the admission limit is full');
    assert.equal(await post(), 429, 'this client already has two requests open');
    await held.release();
    await Promise.all(holding);
    const count = (status: number) => statuses.filter((s) => s === status).length;
    const expected = { 429: count(429), 503: count(503), 200: count(200) };
    const counted = async () => {
      const text = await scrape(served.url);
      const nginx = (reason: string) => total(text, 'model_server_nginx_refusals_total', { reason });
      return {
        429: nginx('per_client'),
        503: nginx('overloaded') + total(text, 'model_server_invocations_total', { status: '503' }),
        200: total(text, 'model_server_invocations_total', { status: '200' }),
      };
    };
    // nginx writes its log line as it finishes a request, which may be just after the client has the answer.
    await waitFor(async () => JSON.stringify(await counted()) === JSON.stringify(expected), 10_000, 'refusals counted').catch(async () =>
      assert.deepEqual(await counted(), expected),
    );
  });
});

describe('settings', () => {
  test('MODEL_SERVER_METRICS_PORT serves /metrics on its own port only; MODEL_SERVER_SERVER_TIMING=false drops the header', async () => {
    const metricsPort = await freePort();
    const served = await startServe({ MODEL_SERVER_METRICS_PORT: String(metricsPort), MODEL_SERVER_SERVER_TIMING: 'false' });
    try {
      const onServingPort = await fetch(`${served.url}/metrics`);
      assert.equal(onServingPort.status, 404);
      assert.equal(((await onServingPort.json()) as { error: { code: string } }).error.code, 'not_found');
      assert.match(await scrape(`http://127.0.0.1:${metricsPort}`), /model_server_workers 2/);
      const res = await invoke(served.url, await sample('paper.jpg'), 'image/jpeg');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('server-timing'), null);
    } finally {
      served.killAll();
    }
  });

  test('MODEL_SERVER_METRICS=false: no /metrics at all', async () => {
    const served = await startServe({ MODEL_SERVER_METRICS: 'false', SAGEMAKER_MODEL_SERVER_WORKERS: '1' });
    try {
      const res = await fetch(`${served.url}/metrics`);
      assert.equal(res.status, 404);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    } finally {
      served.killAll();
    }
  });
});
