import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { serveRunDir, socketRequest, workerPids, workerSockets, type Served } from '../serve-process';
import { sample, waitFor } from '../env';
import sharp from 'sharp';
import { deepJson } from './hostile-bodies';
import { httpRequest, type Answer, type HostileCase } from './hostile';
import type { HostileModelsRoot } from './hostile-models';

/**
 * Multi-model endpoints and batch transform under hostile models and bodies: loads of models
 * that could freeze serve, pass the memory budget, crash-loop a worker, leak temp dirs or
 * answer with another model's output, and batch bodies that could hold a worker for a minute. Run
 * by the hostile suite and by `npm run hostile`, against a serve started with
 * multiModelServeEnv(root) and a root from hostileModelsRoot().
 */

export const multiModelServeEnv = (root: string) =>
  ({ SAGEMAKER_MULTI_MODEL: 'true', MODEL_SERVER_MODELS_ROOT: root, SAGEMAKER_MODEL_SERVER_TIMEOUT: '10' }) as const;

type Json = { error?: { code?: string }; predictions?: { class?: string }; version?: number; models?: { modelName: string }[] };

const port = (served: Served) => Number(new URL(served.url).port);
const request = (served: Served, method: string, urlPath: string, body: Buffer = Buffer.alloc(0), headers: Record<string, string> = {}) =>
  httpRequest({ port: port(served) }, { method, path: urlPath, headers: { 'Content-Type': 'application/json', ...headers }, body });
const load = (served: Served, name: string, url: unknown) =>
  request(served, 'POST', '/models', Buffer.from(JSON.stringify({ model_name: name, url })));
const unload = (served: Served, name: string) => request(served, 'DELETE', `/models/${name}`);
const parse = (answer: Answer): Json => {
  try {
    return JSON.parse(answer.body) as Json;
  } catch {
    return {};
  }
};
const listed = async (served: Served) => (parse(await request(served, 'GET', '/models')).models ?? []).map((m) => m.modelName);

/** Copies of the model's files left anywhere serve or a worker makes temp dirs (its TMPDIR, its run dir). */
function leftoverUnpacks(served: Served): string[] {
  const unpackDir = path.join(serveRunDir(served), 'models');
  const inRun = existsSync(unpackDir) ? readdirSync(unpackDir) : [];
  return [...inRun, ...readdirSync(served.tmpDir).filter((name) => name.startsWith('model-'))];
}

/** `run`, while GET /models and /metrics are asked every 100 ms: the slowest of those answers. */
async function whileManagementPolled(served: Served, run: () => Promise<Answer>): Promise<{ answer: Answer; slowestMs: number }> {
  let running = true;
  let slowestMs = 0;
  const poll = async (urlPath: string) => {
    while (running) {
      const started = performance.now();
      await fetch(`${served.url}${urlPath}`, { signal: AbortSignal.timeout(30_000) }).then(
        (res) => res.arrayBuffer(),
        () => undefined,
      );
      slowestMs = Math.max(slowestMs, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const polls = [poll('/models'), poll('/metrics')];
  try {
    return { answer: await run(), slowestMs: Math.round(slowestMs) };
  } finally {
    running = false;
    await Promise.all(polls);
  }
}

/** A load that must be refused with `code` and leave no unpacked copy behind. */
const refusedLoad = (name: string, url: unknown, status: number, code: string): HostileCase => ({
  name,
  expect: [status],
  code,
  run: async (served) => {
    const answer = await load(served, 'hostile', url);
    const left = leftoverUnpacks(served);
    return left.length > 0 ? { ...answer, problem: `left behind: ${left.join(', ')}` } : answer;
  },
});

const within = (answer: Answer, ms: number, limitMs: number, what: string): Answer =>
  ms < limitMs || answer.problem ? answer : { ...answer, problem: `${what} took ${Math.round(ms)} ms (bound ${limitMs} ms)` };

/** Ask each worker itself (not nginx, which picks one) for `name`'s answer. */
async function eachWorker(served: Served, name: string): Promise<Json[]> {
  const body = await sample('glass.jpg');
  const answers = [];
  for (const socket of workerSockets(served)) {
    const res = await socketRequest(socket, `/models/${name}/invoke`, { method: 'POST', body, headers: { 'Content-Type': 'image/jpeg' } });
    answers.push(JSON.parse(res.body.toString()) as Json);
  }
  return answers;
}

export async function buildMultiModelCases(models: HostileModelsRoot): Promise<HostileCase[]> {
  const glass = await sample('glass.jpg');
  // 64 one-pixel WebPs a record, 950 records: 60,800 images in 3.3 MB.
  const pixel = (
    await sharp({ create: { width: 1, height: 1, channels: 3, background: '#888' } })
      .webp({ lossless: true })
      .toBuffer()
  ).toString('base64');
  const record = JSON.stringify({ images: Array.from({ length: 64 }, () => pixel) });
  const batchBody = Buffer.from(`${Array.from({ length: 950 }, () => record).join('\n')}\n`);
  const brackets = deepJson(3_000_000);
  const ensureTrash = async (served: Served) => {
    if (!(await listed(served)).includes('trash')) await load(served, 'trash', 'trash');
  };
  /** The trash model's answer to `body`, with a problem if it took `limitMs` or more. */
  const timedTrash = async (served: Served, body: Buffer, type: string, limitMs: number, what: string) => {
    await ensureTrash(served);
    const started = performance.now();
    const answer = await request(served, 'POST', '/models/trash/invoke', body, { 'Content-Type': type });
    return within(answer, performance.now() - started, limitMs, what);
  };

  return [
    {
      name: '17 kB archive + 16 MiB of zeros after its end: /models, /metrics < 1 s, load < 10 s',
      expect: [200],
      run: async (served) => {
        const started = performance.now();
        const { answer, slowestMs } = await whileManagementPolled(served, () => load(served, 'zeros', 'zeros.tar.gz'));
        const loadMs = performance.now() - started;
        await unload(served, 'zeros');
        if (slowestMs >= 1000) return { ...answer, problem: `GET /models or /metrics took ${slowestMs} ms during the load` };
        return within(answer, loadMs, 10_000, 'the load');
      },
    },
    refusedLoad('preprocessing.json with 12000-pixel crops: refused at load', 'crop', 400, 'model_invalid'),
    refusedLoad('labels.json a FIFO', 'fifo-labels', 400, 'model_invalid'),
    refusedLoad('labels.json linked to /dev/zero', 'zero-labels', 400, 'model_url_outside_root'),
    refusedLoad('model.onnx a directory', 'dir-onnx', 400, 'model_invalid'),
    refusedLoad('url: a plain file', 'notes.txt', 400, 'model_invalid'),
    refusedLoad('url: a FIFO', 'pipe', 400, 'model_invalid'),
    refusedLoad('url: a FIFO named .tar.gz', 'pipe.tar.gz', 400, 'model_invalid'),
    refusedLoad('archive of 20,000 entries: refused, no temp dir left', 'many.tar.gz', 400, 'model_archive_invalid'),
    {
      ...refusedLoad(
        'archive of 400 files whose paths imply 12,400 directories: refused < 10 s',
        'deep-dirs.tar.gz',
        400,
        'model_archive_invalid',
      ),
      run: async (served) => {
        const started = performance.now();
        const answer = await refusedLoad('', 'deep-dirs.tar.gz', 400, 'model_archive_invalid').run(served);
        return within(answer, performance.now() - started, 10_000, 'the refusal');
      },
    },
    refusedLoad('archive that is not gzip', 'garbage.tar.gz', 400, 'model_archive_invalid'),
    refusedLoad('url: an object whose toString is no function (String() of it throws)', { toString: 'a' }, 400, 'invalid_model_url'),
    {
      ...refusedLoad('archive with an absolute-path entry', 'absolute.tar.gz', 400, 'model_archive_invalid'),
      run: async (served) => {
        const answer = await refusedLoad('', 'absolute.tar.gz', 400, '').run(served);
        return existsSync(path.join(models.outside, 'planted')) ? { ...answer, problem: 'a file was written outside' } : answer;
      },
    },
    refusedLoad('a code/ link inside a model dir pointing outside the root', 'linked-code', 400, 'model_url_outside_root'),
    {
      name: 'outside the root, existing or not: one answer (no existence oracle)',
      expect: [400],
      code: 'model_url_outside_root',
      run: async (served) => {
        const urls = ['/root/nothing', '/etc/shadow', '../../etc/passwd', 'escape/nothing', 'escape/inference.js'];
        const answers = [];
        for (const url of urls) answers.push(await load(served, 'hostile', url));
        const codes = new Set(answers.map((answer) => `${answer.status} ${parse(answer).error?.code}`));
        return codes.size === 1 ? answers[0]! : { ...answers[0]!, problem: `different answers: ${[...codes].join(' / ')}` };
      },
    },
    {
      name: "TargetModel foo.tar.gz never gets model foo's answer (foo = another model); TargetModel foo is 409",
      expect: [200],
      run: async (served) => {
        await load(served, 'foo', 'other');
        const target = (name: string) =>
          request(served, 'POST', '/endpoints/local/invocations', glass, {
            'Content-Type': 'image/jpeg',
            'X-Amzn-SageMaker-Target-Model': name,
          });
        const archive = await target('foo.tar.gz');
        const plain = await target('foo');
        await unload(served, 'foo');
        await unload(served, 'foo.tar.gz');
        const answered = parse(archive).predictions?.class ?? '';
        if (answered.startsWith('other-')) return { ...archive, problem: `foo.tar.gz answered with foo's model (${answered})` };
        // The endpoint emulation answers a container's error as SageMaker does: 424 ModelError, the status inside.
        const original = (JSON.parse(plain.body) as { OriginalStatusCode?: number }).OriginalStatusCode;
        if (original !== 409) return { ...archive, problem: `TargetModel foo answered ${plain.status} (${original}), expected 409` };
        return archive;
      },
    },
    {
      name: 'batch transform: 950 records × 64 images (60,800 images): < 10 s',
      expect: [400],
      code: 'too_many_images',
      run: async (served) => {
        return timedTrash(served, batchBody, 'application/jsonlines', 10_000, 'the batch');
      },
    },
    {
      name: 'JSON of 3,000,000 nested brackets (6 MB): 400 < 1 s',
      expect: [400],
      code: 'invalid_json',
      run: async (served) => {
        return timedTrash(served, brackets, 'application/json', 1000, 'the answer');
      },
    },
    {
      name: 'the same as one JSON Lines record: its error line < 5 s',
      expect: [200],
      run: async (served) => {
        const answer = await timedTrash(served, brackets, 'application/jsonlines', 5000, 'the answer');
        if (!answer.body.includes('"invalid_json"')) return { ...answer, problem: `no invalid_json line: ${answer.body.slice(0, 200)}` };
        return answer;
      },
    },
    {
      name: 'handler code changed between loads: every worker runs the new code',
      expect: [200],
      run: async (served) => {
        await models.setCodeVersion(1);
        await load(served, 'versioned', 'code-version');
        const first = await eachWorker(served, 'versioned');
        await unload(served, 'versioned');
        await models.setCodeVersion(2);
        const answer = await load(served, 'versioned', 'code-version');
        const second = await eachWorker(served, 'versioned');
        await unload(served, 'versioned');
        const versions = [...first, ...second].map((body) => body.version).join(',');
        return versions === '1,1,2,2' ? answer : { ...answer, problem: `versions answered: ${versions}, expected 1,1,2,2` };
      },
    },
    {
      name: 'unload of an archive model while a request runs: the request finishes first',
      expect: [200],
      run: async (served) => {
        await load(served, 'slow', 'slow.tar.gz');
        const running = request(served, 'POST', '/models/slow/invoke', glass, { 'Content-Type': 'image/jpeg' });
        await new Promise((resolve) => setTimeout(resolve, 500));
        const unloaded = await unload(served, 'slow');
        const invoked = await running;
        if (invoked.status !== 200 || parse(invoked).version !== 1)
          return { ...unloaded, problem: `the running request got ${invoked.status}` };
        const left = leftoverUnpacks(served);
        return left.length > 0 ? { ...unloaded, problem: `left behind: ${left.join(', ')}` } : unloaded;
      },
    },
    {
      name: 'a model that kills its worker at load: refused, unlisted, workers stable 20 s later',
      expect: [500],
      code: 'model_load_failed',
      run: async (served) => {
        const answer = await load(served, 'killer', 'killer');
        if ((await listed(served)).includes('killer')) return { ...answer, problem: 'killer is listed after its load failed' };
        const sockets = workerSockets(served);
        await waitFor(
          async () => (await Promise.all(sockets.map((socket) => socketRequest(socket, '/ping')))).every((res) => res.status === 200),
          60_000,
          'both workers back',
        );
        const pids = workerPids(served).join(',');
        await new Promise((resolve) => setTimeout(resolve, 20_000));
        const later = workerPids(served).join(',');
        return pids === later ? answer : { ...answer, problem: `worker PIDs ${pids} became ${later}` };
      },
    },
  ];
}
