import { workerPids, workerSockets, type Served } from '../harness/serve-process';
import { runLoad, startProduct, warmUp, type LoadResult } from './load';
import { processStats } from './process-stats';
import { memoryMb } from './memory';

/** serve with its defaults under the load sweep: throughput, latency, cold start and memory. */
export interface ProductRun {
  readonly coldStartMs: number;
  readonly workers: number;
  readonly rssBefore: number[];
  /**
   * After the sweep, then after each repeated c=16 run, once the workers have been idle for
   * IDLE_SETTLE_MS (an idle worker returns its freed C heap): flat when nothing accumulates.
   */
  readonly rssAfter: number[];
  readonly rssRepeated: number[][];
  /** The same moments, read as each run ends, before the workers go idle. */
  readonly rssAtRunEnd: number[][];
  readonly pssBefore: number[];
  readonly pssAfter: number[];
  readonly load: LoadResult[];
  /** Images/s at each of ALTERNATING_LEVELS, served in turn for ALTERNATING_ROUNDS rounds. */
  readonly alternating: Record<number, number[]>;
  readonly withoutNginx: { rps: number; p50: number; p99: number };
}

const REPEATED_RUNS = 2;
/**
 * Whether throughput holds as concurrency rises, measured again with the levels in turn: in the
 * sweep each level has its own stretch of time, so a noisy neighbour's load lands on one of them.
 */
export const ALTERNATING_LEVELS = [4, 16, 64] as const;
const ALTERNATING_ROUNDS = 2;
/** Longer than a worker's idle spell before it trims its heap (worker.ts, IDLE_TRIM_MS). */
const IDLE_SETTLE_MS = 2000;

export async function measureProduct(modelDir: string, images: Buffer[], levels: number[], seconds: number): Promise<ProductRun> {
  const started = performance.now();
  const served = await startProduct(modelDir);
  const coldStartMs = Math.round(performance.now() - started);
  try {
    const pids = workerPids(served);
    const before = await Promise.all(pids.map(memoryMb));
    await warmUp(served.url, images);
    const load: LoadResult[] = [];
    for (const connections of levels) load.push(await runLoad(served.url, images, { connections, seconds }));
    const rssAtRunEnd: number[][] = [];
    const memoryAfterRun = async () => {
      rssAtRunEnd.push((await Promise.all(pids.map(memoryMb))).map((m) => m.rss));
      await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
      return Promise.all(pids.map(memoryMb));
    };
    const after = await memoryAfterRun();
    const rssRepeated: number[][] = [];
    for (let i = 0; i < REPEATED_RUNS; i++) {
      await runLoad(served.url, images, { connections: 16, seconds });
      rssRepeated.push((await memoryAfterRun()).map((m) => m.rss));
    }
    const alternating: Record<number, number[]> = Object.fromEntries(ALTERNATING_LEVELS.map((c) => [c, []]));
    for (let round = 0; round < ALTERNATING_ROUNDS; round++) {
      for (const connections of ALTERNATING_LEVELS)
        alternating[connections]!.push((await runLoad(served.url, images, { connections, seconds })).rps);
    }
    // The same 16 connections straight to the workers' sockets, split evenly: what nginx costs.
    const direct = await Promise.all(
      workerSockets(served, pids.length).map((socketPath) =>
        runLoad(served.url, images, { connections: 16 / pids.length, seconds, socketPath }),
      ),
    );
    return {
      coldStartMs,
      workers: pids.length,
      rssBefore: before.map((m) => m.rss),
      rssAfter: after.map((m) => m.rss),
      rssRepeated,
      rssAtRunEnd,
      pssBefore: before.map((m) => m.pss),
      pssAfter: after.map((m) => m.pss),
      load,
      alternating,
      withoutNginx: {
        rps: Math.round(direct.reduce((sum, r) => sum + r.rps, 0) * 10) / 10,
        p50: Math.max(...direct.map((r) => r.p50)),
        p99: Math.max(...direct.map((r) => r.p99)),
      },
    };
  } finally {
    served.killAll();
  }
}

/** One way of serving: another built checkout (`root`) and/or settings (`env`). */
export interface ServeVariant {
  readonly label: string;
  readonly root?: string;
  readonly env?: Record<string, string>;
}

export interface Comparison {
  readonly connections: number;
  readonly seconds: number;
  /** Each round, per variant label, the variants served in turn. */
  readonly rounds: Record<string, RoundResult[]>;
  /** Images/s, sum(first variant) / sum(second variant). */
  readonly ratio: number;
}

/** One round: images/s, and per answered image the workers' CPU and minor page faults. */
export interface RoundResult {
  readonly rps: number;
  readonly workerCpuMs: number;
  readonly workerMinorFaults: number;
}

/** Load serve at `connections` for `seconds`, with what its workers spent per answered image. */
export async function loadWithCosts(served: Served, images: Buffer[], connections: number, seconds: number): Promise<RoundResult> {
  const workers = workerPids(served);
  const before = processStats(workers);
  const result = await runLoad(served.url, images, { connections, seconds });
  const after = processStats(workers);
  const per = (value: number) => Math.round((10 * value) / Math.max(1, result.ok)) / 10;
  return { rps: result.rps, workerCpuMs: per(after.cpuMs - before.cpuMs), workerMinorFaults: per(after.minorFaults - before.minorFaults) };
}

/**
 * Two ways of serving at c=16 on the same photos, in alternating rounds (a fresh serve each),
 * so a slow spell of a shared machine hits both alike.
 */
export async function compareServes(
  modelDir: string,
  images: Buffer[],
  [first, second]: readonly [ServeVariant, ServeVariant],
  seconds: number,
  roundCount = 3,
): Promise<Comparison> {
  const connections = 16;
  const once = async (variant: ServeVariant) => {
    const served = await startProduct(modelDir, variant.env ?? {}, variant.root);
    try {
      await warmUp(served.url, images);
      return await loadWithCosts(served, images, connections, seconds);
    } finally {
      served.killAll();
    }
  };
  const rounds: Record<string, RoundResult[]> = { [first.label]: [], [second.label]: [] };
  for (let i = 0; i < roundCount; i++) {
    rounds[first.label]!.push(await once(first));
    rounds[second.label]!.push(await once(second));
  }
  const sum = (results: RoundResult[]) => results.reduce((total, r) => total + r.rps, 0);
  return { connections, seconds, rounds, ratio: sum(rounds[first.label]!) / sum(rounds[second.label]!) };
}
