import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, symlink, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { socketRequest, startServe, workerPids, workerSockets, type Served } from '../../harness/serve-process';
import { heldHandlerSource, ROOT, sample, shippedModelCopy, SHIPPED_ARCHIVE, waitFor } from '../../harness/helpers';
import { tinyClassifierOnnx, tinyModelDir } from '../../harness/tiny-model';

/**
 * A multi-model endpoint through the real serve (nginx, pm2, 2 workers): SageMaker's
 * load / list / get / unload / invoke contract, with two different models, and the local
 * InvokeEndpoint emulation with TargetModel driven by the AWS SDK.
 */

const BACKBONE = path.join(ROOT, 'model', 'backbone');

let root: string;
let served: Served;

/** A models root as SageMaker lays it out (`<name>/model/…`), plus archives for first use and a link out of it. */
async function modelsRoot(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'models-root-'));
  await mkdir(path.join(dir, 'trash', 'model'), { recursive: true });
  await cp(SHIPPED_ARCHIVE, path.join(dir, 'trash', 'model', 'model.tar.gz'));
  const imagenet = path.join(dir, 'imagenet', 'model');
  await mkdir(imagenet, { recursive: true });
  for (const file of ['mobilenet_v2_1.0_224.onnx', 'imagenet_labels.txt']) await cp(path.join(BACKBONE, file), path.join(imagenet, file));
  await cp(path.join(ROOT, 'examples', 'imagenet-top5', 'code'), path.join(imagenet, 'code'), { recursive: true });
  // Unpacked, as SageMaker hands models over, with a handler whose warm-up waits until the test
  // has seen it loading.
  await cp(await shippedModelCopy(), path.join(dir, 'slow', 'model'), { recursive: true });
  await mkdir(path.join(dir, 'slow', 'model', 'code'));
  await writeFile(path.join(dir, 'slow', 'model', 'code', 'inference.js'), heldHandlerSource('load', path.join(dir, 'slow-released')));
  await cp(SHIPPED_ARCHIVE, path.join(dir, 'local.tar.gz'));
  const outside = await mkdtemp(path.join(os.tmpdir(), 'outside-root-'));
  await cp(SHIPPED_ARCHIVE, path.join(outside, 'model.tar.gz'));
  await symlink(outside, path.join(dir, 'escape'));
  return dir;
}

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
const load = (name: string, url: string) => post(`${served.url}/models`, { model_name: name, url });
/** Each test loads what it uses (a model another test loaded already answers 409: loaded either way). */
async function ensureLoaded(name: string, url: string): Promise<void> {
  const res = await load(name, url);
  assert.ok(res.status === 200 || res.status === 409, `load ${name}: ${res.status}`);
}
const releaseSlow = () => writeFile(path.join(root, 'slow-released'), '');
const invokeModel = async (name: string, image: Buffer) =>
  fetch(`${served.url}/models/${name}/invoke`, { method: 'POST', body: image, headers: { 'Content-Type': 'image/jpeg' } });

before(async () => {
  root = await modelsRoot();
  served = await startServe({ SAGEMAKER_MULTI_MODEL: 'true', MODEL_SERVER_MODELS_ROOT: root, LOG_LEVEL: 'info' });
});
after(() => served?.killAll());

test('two models load by name, are listed and paged, and each answer comes from the model named', async () => {
  await ensureLoaded('trash', path.join(root, 'trash', 'model'));
  await ensureLoaded('imagenet', 'imagenet/model');
  type Page = { models: { modelName: string }[]; nextPageToken?: string };
  const listed = (await (await fetch(`${served.url}/models`)).json()) as Page;
  const names = listed.models.map((model) => model.modelName);
  assert.ok(names.includes('imagenet') && names.includes('trash'), names.join());
  assert.deepEqual(names, [...names].sort(), 'by name');
  // One a page, following the tokens, gives the same list.
  const paged: string[] = [];
  for (let token: string | undefined = '', pages = 0; token !== undefined && pages <= names.length; pages++) {
    const page = (await (await fetch(`${served.url}/models?page_size=1${token ? `&next_page_token=${token}` : ''}`)).json()) as Page;
    assert.equal(page.models.length, 1);
    paged.push(page.models[0]!.modelName);
    token = page.nextPageToken;
  }
  assert.deepEqual(paged, names);
  assert.deepEqual(
    await (await fetch(`${served.url}/models/imagenet`)).json().then((body) => (body as { modelUrl: string }).modelUrl),
    'imagenet/model',
  );

  const glass = await sample('glass.jpg');
  const answers = await Promise.all(
    Array.from({ length: 24 }, async (_, i) => {
      const name = i % 2 === 0 ? 'trash' : 'imagenet';
      const res = await invokeModel(name, glass);
      assert.equal(res.status, 200);
      return { name, body: (await res.json()) as { predictions?: { class: string }; top5?: unknown[] } };
    }),
  );
  for (const { name, body } of answers) {
    if (name === 'trash') assert.equal(body.predictions?.class, 'glass');
    else assert.equal(body.top5?.length, 5);
  }
});

test('a second load of a name is 409; concurrent loads of one name load it once in each worker', async () => {
  await ensureLoaded('trash', 'trash/model');
  assert.equal((await load('trash', 'trash/model')).status, 409);
  const name = `trash-${Date.now()}`;
  const logged = served.output().length;
  const statuses = await Promise.all(Array.from({ length: 3 }, () => load(name, 'trash/model').then((res) => res.status)));
  assert.deepEqual([...statuses].sort(), [200, 409, 409]);
  // Worker logs reach serve's output through pm2, after the answer: wait for them to arrive.
  const workerLoads = () =>
    served
      .output()
      .slice(logged)
      .split('\n')
      .filter((line) => line.includes('"msg":"model loaded"') && line.includes(`"model":"${name}"`) && line.includes('"worker"')).length;
  await waitFor(async () => workerLoads() >= 2, 10_000, "the workers' load log lines");
  assert.equal(workerLoads(), 2, 'one load per worker');
});

test('locations outside the models root, bad names and missing models are refused with a reason', async () => {
  const cases: [string, string, number, string][] = [
    ['a', '../../etc', 400, 'model_url_outside_root'],
    ['a', '/etc', 400, 'model_url_outside_root'],
    ['a', 'escape', 400, 'model_url_outside_root'],
    ['../a', 'trash/model', 400, 'invalid_model_name'],
    ['a', 'nothing-here', 404, 'model_not_found'],
    ['a', 'imagenet', 404, 'model_not_found'],
  ];
  for (const [name, url, status, code] of cases) {
    const res = await load(name, url);
    assert.equal(res.status, status, `${name} ${url}`);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, code);
  }
  assert.equal((await post(`${served.url}/models`, 'not an object')).status, 400);
});

test('GET /models: page_size from 1 to 1,000, a token it issued; anything else is a 400 with its code', async () => {
  const list = (query: string) => fetch(`${served.url}/models?${query}`);
  assert.equal((await list('page_size=1000')).status, 200);
  for (const size of ['0', '1001', '1.5', 'ten', '-1']) {
    const res = await list(`page_size=${size}`);
    assert.equal(res.status, 400, size);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'invalid_page_size', size);
  }
  for (const token of ['x'.repeat(401), 'a&next_page_token=b']) {
    const res = await list(`next_page_token=${token}`);
    assert.equal(res.status, 400, token.slice(0, 20));
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'invalid_page_token');
  }
});

test('an invocation while its model loads gets 503 with Retry-After, never another model', async () => {
  const name = `slow-${Date.now()}`;
  const loading = load(name, 'slow/model');
  const glass = await sample('glass.jpg');
  const seen = new Set<number>();
  let done = false;
  void loading.then(() => (done = true));
  while (!done) {
    const res = await invokeModel(name, glass);
    const body = (await res.json()) as { error?: { code: string }; predictions?: { class: string } };
    if (done) break;
    seen.add(res.status);
    if (seen.has(503)) await releaseSlow();
    if (res.status === 503) {
      assert.equal(body.error?.code, 'model_loading');
      assert.equal(res.headers.get('retry-after'), '1');
    } else if (res.status === 200) {
      // A worker that finished its copy serves it before the other worker has: the right model.
      assert.equal(body.predictions?.class, 'glass');
    } else assert.equal(res.status, 404);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal((await loading).status, 200);
  assert.ok(seen.has(503), `statuses while loading: ${[...seen].join(', ')}`);
  assert.equal((await invokeModel(name, glass)).status, 200);
});

test('a worker killed with SIGKILL comes back with every loaded model', async () => {
  await ensureLoaded('trash', 'trash/model');
  await ensureLoaded('imagenet', 'imagenet/model');
  await releaseSlow();
  await ensureLoaded('slow', 'slow/model');
  const before = workerPids(served);
  process.kill(before[0]!, 'SIGKILL');
  await waitFor(
    async () => workerPids(served).length === 2 && !workerPids(served).includes(before[0]!),
    30_000,
    'pm2 restarting the worker',
  );
  // A restarted worker listens once it has loaded what the registry lists: ask each worker itself.
  const sockets = workerSockets(served);
  await waitFor(
    async () => (await Promise.all(sockets.map((socket) => socketRequest(socket, '/ping')))).every((res) => res.status === 200),
    60_000,
    'both workers',
  );
  const glass = await sample('glass.jpg');
  for (const socket of sockets) {
    for (const name of ['trash', 'imagenet', 'slow']) {
      const res = await socketRequest(socket, `/models/${name}/invoke`, {
        method: 'POST',
        body: glass,
        headers: { 'Content-Type': 'image/jpeg' },
      });
      assert.equal(res.status, 200, `${name} on ${path.basename(socket)}`);
      const body = JSON.parse(res.body.toString()) as { predictions?: { class: string }; top5?: unknown[] };
      assert.ok(name === 'imagenet' ? body.top5?.length === 5 : body.predictions?.class === 'glass');
    }
  }
});

test('unload: gone from the list, 404 on get, invoke and a second unload', async () => {
  await ensureLoaded('trash-again', 'trash/model');
  assert.equal((await fetch(`${served.url}/models/trash-again`, { method: 'DELETE' })).status, 200);
  assert.equal((await fetch(`${served.url}/models/trash-again`)).status, 404);
  assert.equal((await invokeModel('trash-again', await sample('glass.jpg'))).status, 404);
  assert.equal((await fetch(`${served.url}/models/trash-again`, { method: 'DELETE' })).status, 404);
  const listed = (await (await fetch(`${served.url}/models`)).json()) as { models: { modelName: string }[] };
  assert.ok(!listed.models.some((model) => model.modelName === 'trash-again'));
  assert.equal((await fetch(`${served.url}/models`, { method: 'PUT' })).status, 405);
  assert.equal((await fetch(`${served.url}/invocations`, { method: 'POST', body: 'x' })).status, 404);
});

test("the AWS SDK's TargetModel loads a model from the models root on first use, and the header is logged", async () => {
  const client = new SageMakerRuntimeClient({
    endpoint: served.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const body = await sample('plastic.jpg');
  const answers = await Promise.all(
    Array.from({ length: 3 }, () =>
      client.send(new InvokeEndpointCommand({ EndpointName: 'local', TargetModel: 'local.tar.gz', ContentType: 'image/jpeg', Body: body })),
    ),
  );
  for (const answer of answers) {
    const parsed = JSON.parse(Buffer.from(answer.Body).toString('utf8')) as { predictions: { class: string } };
    assert.equal(parsed.predictions.class, 'plastic');
  }
  assert.equal((await fetch(`${served.url}/models/local.tar.gz`)).status, 200);
  assert.match(served.output(), /"targetModel":"local\.tar\.gz"/);
  await assert.rejects(
    client.send(new InvokeEndpointCommand({ EndpointName: 'local', TargetModel: 'absent.tar.gz', ContentType: 'image/jpeg', Body: body })),
    (error: Error & { OriginalStatusCode?: number }) => error.name === 'ModelError' && error.OriginalStatusCode === 404,
  );
});

test('the memory budget: the estimate (16 MB + twice the files + 8 images in flight) plus what the workers hold decides; 507 past it, also once loaded', async () => {
  // Models whose files are large on paper (sparse padding: no disk, never read by a worker).
  const BUDGET_MB = 1024;
  const padded = async (name: string, paddingMb: number) => {
    const dir = path.join(root, name, 'model');
    await cp(await shippedModelCopy(), dir, { recursive: true });
    await writeFile(path.join(dir, 'padding.bin'), '');
    await truncate(path.join(dir, 'padding.bin'), paddingMb * 2 ** 20);
  };
  // Over the budget on its estimate alone: 16 + 2 × (600 MB + the model) + 45 MB for 8 images at 224².
  await padded('huge', 600);
  // Under the budget on its estimate alone (16 + 2 × (450 MB + 11 MB) + 45 MB ≈ 983 MB), over it
  // with what the worker already holds (far more than 41 MB).
  await padded('large', 450);
  // A tiny file whose every run fills 1 GB: its estimate fits, the worker once it is loaded does not.
  const hog = path.join(root, 'hog', 'model');
  await mkdir(path.dirname(hog), { recursive: true });
  await cp(await tinyModelDir({ softmax: true }), hog, { recursive: true });
  await writeFile(path.join(hog, 'model.onnx'), tinyClassifierOnnx({ softmax: true, scratchFloats: 256 * 2 ** 20 }));
  const small = await startServe({
    SAGEMAKER_MULTI_MODEL: 'true',
    MODEL_SERVER_MODELS_ROOT: root,
    SAGEMAKER_MODEL_SERVER_WORKERS: '1',
    MODEL_SERVER_MODELS_MEMORY_MB: String(BUDGET_MB),
  });
  try {
    for (const name of ['huge', 'large', 'hog']) {
      const res = await post(`${small.url}/models`, { model_name: name, url: `${name}/model` });
      assert.equal(res.status, 507, name);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(error.code, 'insufficient_memory');
      if (name === 'hog') assert.match(error.message, /once loaded.*so it was unloaded/);
    }
    assert.deepEqual(await (await fetch(`${small.url}/models`)).json(), { models: [] });
    // The same model without the padding fits, also after the hog was unloaded.
    assert.equal((await post(`${small.url}/models`, { model_name: 'trash', url: 'trash/model' })).status, 200);
  } finally {
    small.killAll();
  }
});
