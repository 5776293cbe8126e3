import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { unpackArchive } from '../../image_classification/model/model-dir';
import { sample, SHIPPED_ARCHIVE } from '../../harness/helpers';
import { invoke, startServe, workerPids, workerSockets, type Served } from '../../harness/serve-process';
import { buildCorpus, type Case } from '../../harness/hostile/corpus';
import { httpRequest } from '../../harness/hostile/hostile';

const MAX_PAYLOAD_MB = 1;
const MAX_PAYLOAD_BYTES = MAX_PAYLOAD_MB * 1024 * 1024;

type Answer = Awaited<ReturnType<typeof httpRequest>>;

/** A case's request, with exactly its headers (a null Content-Type is sent as none). */
function send(
  target: { port?: number; socketPath?: string },
  c: Pick<Case, 'body' | 'contentType' | 'method' | 'path' | 'headers'>,
): Promise<Answer> {
  const headers: Record<string, string> = { ...c.headers, ...(c.contentType !== null ? { 'Content-Type': c.contentType } : {}) };
  return httpRequest(target, { method: c.method, path: c.path, headers, body: c.body });
}

/** Handled = an expected status, and for errors a JSON {error: {code, message}} with no internals. */
function problemWith(c: Case, answer: Answer): string | undefined {
  if (!c.expect.includes(answer.status)) return `status ${answer.status}, expected ${c.expect.join('/')}: ${answer.body.slice(0, 200)}`;
  if (!answer.contentType.includes('application/json')) return `content-type ${answer.contentType}`;
  if (/\bat \S+ \(\S+:\d+:\d+\)|node_modules|\.[jt]s:\d+|<html/i.test(answer.body)) return `internals leaked: ${answer.body.slice(0, 200)}`;
  const body = JSON.parse(answer.body) as { error?: { code?: string; message?: string }; predictions?: unknown };
  if (answer.status >= 400 && (typeof body.error?.code !== 'string' || typeof body.error.message !== 'string'))
    return 'no {error: {code, message}}';
  if (answer.status === 200 && !body.predictions) return 'no predictions';
  if (c.code && body.error?.code !== c.code) return `code ${body.error?.code}, expected ${c.code}`;
  return undefined;
}

let served: Served;
let port: number;
before(async () => {
  served = await startServe({ SM_MODEL_DIR: await unpackArchive(SHIPPED_ARCHIVE), SAGEMAKER_MAX_PAYLOAD_IN_MB: String(MAX_PAYLOAD_MB) });
  port = Number(new URL(served.url).port);
});
after(() => served.killAll());

test('the bad-input corpus: every request handled, no worker restarted, service intact', { timeout: 300_000 }, async () => {
  const corpus = await buildCorpus(MAX_PAYLOAD_BYTES);
  assert.ok(corpus.length >= 200, `corpus has ${corpus.length} cases`);
  const pidsBefore = workerPids(served);
  assert.equal(pidsBefore.length, 2);
  const good = await sample('glass.jpg');
  const tally = new Map<string, { handled: number; total: number }>();
  const problems: string[] = [];
  for (const c of corpus) {
    const answer = await send({ port }, c);
    const problem = problemWith(c, answer);
    const entry = tally.get(c.category) ?? { handled: 0, total: 0 };
    entry.total++;
    if (problem) problems.push(`${c.category} / ${c.name}: ${problem}`);
    else entry.handled++;
    tally.set(c.category, entry);
    // A good request right after each bad one still succeeds.
    const after = await invoke(served.url, good);
    if (after.status !== 200) problems.push(`${c.category} / ${c.name}: the next good request got ${after.status}`);
  }
  // Oversized straight to a worker's socket, past nginx: Express enforces the same limit.
  const direct = await send(
    { socketPath: workerSockets(served)[0]! },
    { body: Buffer.alloc(MAX_PAYLOAD_BYTES + 1024, 7), contentType: 'application/x-image' },
  );
  assert.equal(direct.status, 413);
  assert.equal(JSON.parse(direct.body).error.code, 'payload_too_large');

  const pidsAfter = workerPids(served);
  const handled = [...tally.values()].reduce((a, t) => a + t.handled, 0);
  console.log(
    `bad-input tally: ${handled}/${corpus.length} handled, ${pidsAfter.filter((p) => !pidsBefore.includes(p)).length} worker restarts`,
  );
  for (const [category, t] of tally) console.log(`  ${category.padEnd(20)} ${t.handled}/${t.total}`);
  assert.deepEqual(problems, []);
  assert.deepEqual(pidsAfter, pidsBefore, 'no worker died or was restarted');
});
