import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { workerPids, type Served } from '../serve-process';

/**
 * The harness for hostile requests, shared by test/robustness/hostile.test.ts (asserts) and
 * `npm run hostile` (prints the table): run one case against a real `serve` while every
 * worker's own /ping is polled over its unix socket, and read each worker's RSS around it.
 * (nginx's /ping would go to the idle worker, and miss the blocked one.)
 */

/**
 * What one worker may hold, at its peak, while serving any one accepted request (docs/limits.md,
 * "Limits"). The hostile suite asserts it for every case.
 */
export const WORKER_RSS_BOUND_MB = 700;

export interface Answer {
  readonly status: number;
  readonly body: string;
  /** What a case found wrong beyond the status and code (a bound passed, a wrong model answering). */
  readonly problem?: string;
}

export interface HostileCase {
  readonly name: string;
  /** Statuses that count as handled. */
  readonly expect: readonly number[];
  /** The error code an error answer must carry. */
  readonly code?: string;
  run(served: Served): Promise<Answer>;
}

export interface HostileResult {
  readonly name: string;
  readonly status: number;
  readonly code: string | undefined;
  readonly answerBytes: number;
  readonly ms: number;
  /** The slowest /ping of any worker while the case ran. */
  readonly pingMaxMs: number;
  readonly pings: number;
  readonly rssBeforeMb: readonly number[];
  /** The largest RSS of any worker sampled while the case ran (every 100 ms). */
  readonly rssPeakMb: number;
  readonly rssAfterMb: readonly number[];
  /** Why the answer is not what the case expects, if it is not. */
  readonly problem: string | undefined;
}

/** A worker's RSS; 0 once it is gone (a case may kill one). */
export function rssMb(pid: number): number {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return 0;
  }
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

function pingSocket(socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: '/ping', agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
  });
}

/**
 * Each worker's /ping, every 100 ms, until stopped; a ping still waiting counts its time so
 * far. Each worker's RSS is sampled as often.
 */
function probe(
  sockets: readonly string[],
  pids: readonly number[],
): { stop(): Promise<{ maxMs: number; count: number; rssPeakMb: number }> } {
  let running = true;
  let maxMs = 0;
  let count = 0;
  let rssPeakMb = 0;
  const sampler = setInterval(() => {
    for (const pid of pids) rssPeakMb = Math.max(rssPeakMb, rssMb(pid));
  }, 100);
  const inFlight = new Set<number>();
  const loops = sockets.map(async (socket) => {
    while (running) {
      const started = performance.now();
      inFlight.add(started);
      await pingSocket(socket).catch(() => undefined);
      inFlight.delete(started);
      maxMs = Math.max(maxMs, performance.now() - started);
      count++;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  return {
    async stop() {
      running = false;
      clearInterval(sampler);
      const now = performance.now();
      for (const started of inFlight) maxMs = Math.max(maxMs, now - started);
      // A worker that never answers must not hang the harness: give up waiting after 5 s.
      await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 5000).unref())]);
      return { maxMs: Math.round(maxMs), count, rssPeakMb };
    },
  };
}

function judge(c: HostileCase, answer: Answer): string | undefined {
  if (answer.problem) return answer.problem;
  if (!c.expect.includes(answer.status)) return `status ${answer.status}, expected ${c.expect.join('/')}: ${answer.body.slice(0, 200)}`;
  let parsed: { error?: { code?: string } };
  try {
    parsed = JSON.parse(answer.body) as typeof parsed;
  } catch {
    return `not JSON: ${answer.body.slice(0, 200)}`;
  }
  if (answer.status >= 400 && c.code && parsed.error?.code !== c.code) return `code ${parsed.error?.code}, expected ${c.code}`;
  if (answer.status >= 400 && answer.body.length > 2048) return `a ${answer.body.length}-byte error body`;
  return undefined;
}

export function formatResult(r: HostileResult): string {
  const rss = `RSS ${r.rssBeforeMb.join('/')} → peak ${r.rssPeakMb} → ${r.rssAfterMb.join('/')} MB`;
  const answer = `${String(r.status).padStart(3)} ${(r.code ?? '').padEnd(17)} ${String(r.ms).padStart(6)} ms`;
  return `${r.name.padEnd(58)} ${answer}  ping ≤ ${String(r.pingMaxMs).padStart(4)} ms  ${rss}`;
}

export async function runHostileCase(served: Served, sockets: readonly string[], c: HostileCase): Promise<HostileResult> {
  const pids = workerPids(served);
  const rssBeforeMb = pids.map(rssMb);
  const pinging = probe(sockets, pids);
  const started = performance.now();
  const answer = await c.run(served).catch((error: Error): Answer => ({ status: 0, body: `request failed: ${error.message}` }));
  const ms = Math.round(performance.now() - started);
  const { maxMs, count, rssPeakMb } = await pinging.stop();
  let code: string | undefined;
  try {
    code = (JSON.parse(answer.body) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  const rssAfterMb = workerPids(served).map(rssMb);
  const peak = Math.max(rssPeakMb, ...rssAfterMb);
  return {
    name: c.name,
    status: answer.status,
    code,
    answerBytes: answer.body.length,
    ms,
    pingMaxMs: maxMs,
    pings: count,
    rssBeforeMb,
    rssPeakMb: peak,
    rssAfterMb,
    problem: judge(c, answer),
  };
}

/** A request as exact bytes on a fresh connection (methods, versions and headers node:http refuses to send). */
export function rawRequest(port: number, request: Buffer | string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    // Written, not ended: nginx takes a half-closed connection for a client that left.
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
}

/**
 * One request with node:http rather than fetch, so the headers (or their absence) are exactly
 * the caller's and fetch's own header limits do not apply; to a port or a worker's socket.
 */
export function httpRequest(
  target: { port?: number; socketPath?: string },
  request: { method?: string; path?: string; headers: Record<string, string | number>; body: Buffer },
): Promise<Answer & { contentType: string }> {
  return new Promise((resolve, reject) => {
    const headers = { 'Content-Length': request.body.length, ...request.headers };
    const req = http.request(
      { host: '127.0.0.1', ...target, method: request.method ?? 'POST', path: request.path ?? '/invocations', agent: false, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode!, contentType: String(res.headers['content-type']), body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

/** POST through nginx. */
export function post(
  served: Served,
  body: Buffer,
  contentType: string,
  headers: Record<string, string> = {},
  path = '/invocations',
): Promise<Answer> {
  return httpRequest({ port: Number(new URL(served.url).port) }, { path, headers: { 'Content-Type': contentType, ...headers }, body });
}
