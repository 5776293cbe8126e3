import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { waitFor } from '../../harness/helpers';
import type { MemoryRelease } from '../../image_classification/allocator';
import { idleMemoryTrim, type IdleMemoryTrim } from '../../image_classification/memory-trim';

interface TrimLine {
  msg: string;
  rssMb: { before: number; after: number };
  collected: boolean;
}

function capturingLogger() {
  const lines: TrimLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as TrimLine) });
  return { logger, trims: () => lines.filter((line) => line.msg.startsWith('idle: freed memory')) };
}

/** A request that comes and goes at once, as a health check does. */
function oneRequest(trim: IdleMemoryTrim): void {
  trim.requestStarted();
  trim.requestEnded();
}

test('the C heap is trimmed once no request is in flight and the worker has grown since the last trim', async () => {
  const { logger, trims } = capturingLogger();
  const trim = idleMemoryTrim(20, logger);
  trim.requestStarted();
  trim.requestStarted();
  trim.requestEnded();
  // Ten idle spells' worth with one request still in flight: nothing is trimmed.
  await sleep(200);
  assert.equal(trims().length, 0);
  trim.requestEnded();
  await waitFor(async () => trims().length === 1, 5000, 'the trim after the last request');
  const [line] = trims();
  assert.ok(line!.rssMb.before > 0 && line!.rssMb.after > 0, JSON.stringify(line));
  // This test process runs without --expose-gc: the trim runs, without a collection first.
  assert.equal(line!.collected, false);

  // An idle spell after a request that allocated next to nothing (a health check) is left alone…
  oneRequest(trim);
  await sleep(200);
  assert.equal(trims().length, 1);
  // …one after the worker grew is not.
  const held = Buffer.alloc(64 * 2 ** 20, 1);
  oneRequest(trim);
  await waitFor(async () => trims().length === 2, 5000, 'the trim after the worker grew');
  assert.ok(trims()[1]!.rssMb.before >= line!.rssMb.after + 60, JSON.stringify(trims()));
  assert.equal(held.length, 64 * 2 ** 20);
  trim.close();
});

test('a request arriving within the idle spell cancels the trim; close() cancels a pending one', async () => {
  const { logger, trims } = capturingLogger();
  const trim = idleMemoryTrim(100, logger);
  oneRequest(trim);
  trim.requestStarted();
  await sleep(300);
  assert.equal(trims().length, 0);
  trim.requestEnded();
  trim.close();
  await sleep(300);
  assert.equal(trims().length, 0);
});

/**
 * A release that counts its calls, runs `onRelease` and answers `accepted`: an allocator that
 * can refuse (no real one here does).
 */
function countedRelease(accepted: boolean, onRelease: (calls: number) => void = () => undefined) {
  const release = { calls: 0 };
  const memory: MemoryRelease = {
    allocator: 'jemalloc',
    release: () => {
      onRelease(++release.calls);
      return accepted;
    },
  };
  return { release, memory };
}

test('an allocator that refuses the release is told once, and the trims stop', async () => {
  const lines: TrimLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as TrimLine) });
  const { release, memory } = countedRelease(false);
  const trim = idleMemoryTrim(20, logger, async () => memory);
  oneRequest(trim);
  await waitFor(async () => release.calls === 1, 5000, 'the first release');
  await waitFor(async () => lines.some((line) => line.msg.includes('refused')), 5000, 'the refusal logged');
  const held = Buffer.alloc(64 * 2 ** 20, 1);
  oneRequest(trim);
  await sleep(200);
  assert.equal(release.calls, 1, 'no release after a refusal, even after growth');
  assert.equal(lines.filter((line) => line.msg.startsWith('idle: freed memory')).length, 0);
  assert.equal(held.length, 64 * 2 ** 20);
  trim.close();
});

test('close() or a request during a trim that is under way stops it before the release', async () => {
  for (const interrupt of ['close', 'request'] as const) {
    const { logger } = capturingLogger();
    const { release, memory } = countedRelease(true);
    let loaded!: (memory: MemoryRelease) => void;
    const trim = idleMemoryTrim(20, logger, () => new Promise((resolve) => (loaded = resolve)));
    oneRequest(trim);
    // The trim has started and waits for its release to load.
    await waitFor(async () => loaded !== undefined, 5000, 'the trim under way');
    if (interrupt === 'close') trim.close();
    else trim.requestStarted();
    loaded(memory);
    await sleep(200);
    assert.equal(release.calls, 0, interrupt);
    trim.close();
  }
});

test('an idle spell that ends while a trim is under way gets its own trim once that one is done', async () => {
  const { logger } = capturingLogger();
  const held: Buffer[] = [];
  // The worker grows right after the first release, so the next idle spell has something to give back.
  const { release, memory } = countedRelease(true, (calls) => {
    if (calls === 1) setImmediate(() => held.push(Buffer.alloc(64 * 2 ** 20, 1)));
  });
  let loaded!: (memory: MemoryRelease) => void;
  const trim = idleMemoryTrim(20, logger, () => new Promise((resolve) => (loaded = resolve)));
  oneRequest(trim);
  await waitFor(async () => loaded !== undefined, 5000, 'the first trim under way');
  // A second idle spell ends while the first trim still waits for its release.
  oneRequest(trim);
  await sleep(100);
  loaded(memory);
  await waitFor(async () => release.calls === 2, 5000, 'the second idle spell trimmed after the first');
  assert.equal(held.length, 1);
  trim.close();
});
