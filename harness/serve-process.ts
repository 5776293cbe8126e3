import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import { chmod, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { workerSocketPath } from '../image_classification/paths';
import { START_TIME_FIELD, statFields } from '../image_classification/proc-stat';
import { freePort, ROOT, waitFor } from './env';

/** A real `serve` (nginx + pm2-runtime + workers) on a free loopback port. */
export interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  /** serve's TMPDIR: its run dir (nginx.conf, worker sockets) is the one serve-* inside. */
  readonly tmpDir: string;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  /** Kill serve's whole process group (nginx workers orphaned by a killed master included). */
  readonly killAll: () => void;
}

const running = new Set<() => void>();
process.once('exit', () => running.forEach((killAll) => killAll()));
// A test process ended by a signal (Ctrl-C on `npm test`) runs no 'exit' handler: it stops its
// servers first, then ends as the signal would have ended it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    running.forEach((killAll) => killAll());
    process.kill(process.pid, signal);
  });
}

/**
 * `root`: another checkout's built tree (a release to compare with); this one by default.
 * Returns once /ping answers 200 and, unless `allWorkers: false`, every worker is in nginx.
 * `pollMs`: how often /ping is asked meanwhile (a cold-start measurement asks often).
 */
export async function startServe(
  env: Record<string, string>,
  options: { waitForPing?: boolean; allWorkers?: boolean; root?: string; pollMs?: number } = {},
): Promise<Served> {
  const port = await freePort();
  const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'served-'));
  // nginx workers run as `nobody` under root: they must be able to traverse to the sockets.
  await chmod(tmpDir, 0o755);
  // NODE_TEST_CONTEXT would make every node process below report to this test runner.
  const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
  const child = spawn(path.join(options.root ?? ROOT, 'serve'), [], {
    env: {
      ...inherited,
      TMPDIR: tmpDir,
      SAGEMAKER_BIND_TO_PORT: String(port),
      SAGEMAKER_MODEL_SERVER_WORKERS: '2',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // nginx and pm2 run in process groups of their own (their pids), as pm2's workers do; they
  // end themselves when serve or pm2 goes (the serve test checks that), but a test run never
  // leaves one behind even if they did not, nor nginx's workers when a test killed their master.
  const groups = new Set<number>();
  const noteGroups = () => child.exitCode === null && children(child.pid!).forEach((pid) => groups.add(pid));
  const killAll = () => {
    noteGroups();
    const workers = child.exitCode === null ? pm2Workers(child.pid!) : [];
    for (const pid of [-child.pid!, ...[...groups].map((group) => -group), ...workers]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    child.stdout!.destroy();
    child.stderr!.destroy();
    running.delete(killAll);
  };
  // serve never keeps the test process alive by itself, and is killed when that process exits:
  // a file whose `after` hook ran before its `before` finished starting serve (Node's runner
  // does so when a name pattern matches none of the file's tests) still ends, without a leftover.
  running.add(killAll);
  child.unref();
  (child.stdout as Socket).unref();
  (child.stderr as Socket).unref();
  const url = `http://127.0.0.1:${port}`;
  const served = {
    child,
    url,
    tmpDir,
    output: () => output,
    // Awaiting serve's exit is a reason to stay alive.
    get exited() {
      child.ref();
      return exited;
    },
    killAll,
  };
  if (options.waitForPing ?? true) {
    const ready = async () => (await fetch(`${url}/ping`)).status === 200 && (options.allWorkers === false || nginxSettled(served));
    await waitFor(ready, 30_000, 'serve /ping', options.pollMs).catch((error: Error) => {
      killAll();
      throw new Error(`${error.message}\n${output}`);
    });
    noteGroups();
  }
  return served;
}

function children(parent: number, name?: string): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(parent), ...(name ? ['-x', name] : [])])
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * When a process started, in ms since the epoch, to about 20 ms: Linux counts in 1/100 s since
 * boot, and /proc/uptime (not /proc/stat's whole-second btime) places the boot.
 */
function startedAtMs(pid: number): number {
  const bootMs = Date.now() - Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000;
  const ticks = Number(statFields(pid)![START_TIME_FIELD]);
  return bootMs + ticks * 10;
}

/**
 * Whether serve has brought every worker into nginx and the reload doing so has finished: the
 * config marks none `down` and nginx's only worker started after it was written. Until then
 * that reload may close an idle keep-alive connection just as a request is sent on it (as any
 * server's close can), which a test must not take for a fault.
 */
function nginxSettled(served: Served): boolean {
  try {
    const config = path.join(serveRunDir(served), 'nginx.conf');
    if (readFileSync(config, 'utf8').includes(' down;')) return false;
    const nginxWorkers = children(served.child.pid!, 'nginx').flatMap((master) => children(master));
    return nginxWorkers.length === 1 && startedAtMs(nginxWorkers[0]) >= statSync(config).mtimeMs - 30;
  } catch {
    return false; // not written yet, or a process gone meanwhile
  }
}

/** PIDs of the pm2 workers (children of pm2-runtime, itself a child of serve). */
export function workerPids(served: Served): number[] {
  return pm2Workers(served.child.pid!);
}

function pm2Workers(servePid: number): number[] {
  const isPm2 = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('pm2-runtime');
    } catch {
      return false; // gone meanwhile: not pm2, which lives as long as serve
    }
  };
  return children(servePid)
    .filter(isPm2)
    .flatMap((pid) => children(pid))
    .sort((a, b) => a - b);
}

/** Each worker's unix socket, in serve's run dir, for requests that bypass nginx. */
export function workerSockets(served: Served, workers = 2): string[] {
  return Array.from({ length: workers }, (_, i) => workerSocketPath(serveRunDir(served), String(i)));
}

/** serve's run dir (nginx.conf, worker sockets, unpacked models): the serve-* in its TMPDIR. */
export function serveRunDir(served: Served): string {
  const name = readdirSync(served.tmpDir).find((entry) => entry.startsWith('serve-'));
  if (!name) throw new Error(`serve has no run dir in ${served.tmpDir}`);
  return path.join(served.tmpDir, name);
}

export const invoke = (url: string, body: Buffer, type = 'application/x-image', path_ = '/invocations') =>
  fetch(`${url}${path_}`, { method: 'POST', body, headers: { 'Content-Type': type } });

/** One request straight to a worker's socket (bypassing nginx): its status and body. */
export function socketRequest(
  socketPath: string,
  requestPath: string,
  init: { method?: string; body?: Buffer; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath, path: requestPath, method: init.method ?? 'GET', headers: init.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * Processes still running from a run whose TMPDIR was `tmpDir`: its path in their command line
 * (nginx's master, pm2-runtime), environment (npm, serve, the workers) or open files (nginx's
 * workers, whose title and environment nginx overwrites). Only reads /proc.
 */
function openFiles(pid: string): string[] {
  try {
    return readdirSync(`/proc/${pid}/fd`).map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`));
  } catch {
    return []; // gone meanwhile, or not ours to read
  }
}

export function processesOfRun(tmpDir: string): string[] {
  const read = (pid: string, file: string) => {
    try {
      return readFileSync(`/proc/${pid}/${file}`, 'utf8');
    } catch {
      return ''; // gone meanwhile, or not ours to read
    }
  };
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid) && Number(pid) !== process.pid)
    .filter(
      (pid) =>
        read(pid, 'cmdline').includes(tmpDir) ||
        read(pid, 'environ').split('\0').includes(`TMPDIR=${tmpDir}`) ||
        openFiles(pid).some((file) => file.startsWith(tmpDir)),
    )
    .map((pid) => `${pid} ${read(pid, 'cmdline').replaceAll('\0', ' ').slice(0, 120)}`);
}
