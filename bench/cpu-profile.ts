import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Where the machine's CPU goes while serve is under load: `perf record -a` (every process and
 * the kernel) for a window of the load run, each sample put in one component by its process,
 * thread and shared object. Needs Linux `perf` and root (or perf_event_paranoid ≤ -1).
 */

const run = promisify(execFile);

export const COMPONENTS = [
  'onnxruntime',
  'libvips/sharp',
  'V8 + JS (Express, pino, prom-client, codecs)',
  'libc (malloc, memcpy)',
  'kernel: page faults, memory',
  'kernel: network, sockets',
  'kernel: futex, scheduling',
  'kernel: other',
  'nginx',
  'load generator',
  'serve, pm2',
  'other processes',
  'idle',
] as const;
export type Component = (typeof COMPONENTS)[number];

export interface CpuProfile {
  readonly seconds: number;
  readonly samples: number;
  /** Share of all CPU time (every core), by component, in percent. */
  readonly shares: Record<Component, number>;
}

export async function perfAvailable(): Promise<boolean> {
  try {
    await run('perf', ['--version']);
    return true;
  } catch {
    return false;
  }
}

interface Frame {
  readonly symbol: string;
  readonly dso: string;
}

const isKernel = (frame: Frame) => frame.dso.includes('kernel');
const SOCKET = /unix_stream|unix_dgram|tcp_|sock_|inet_|skb|__sys_sendmsg|__sys_recvmsg|sendto|recvfrom|epoll/;
const MEMORY = /exc_page_fault|do_user_addr_fault|handle_mm_fault|__x64_sys_(munmap|mmap|madvise|brk|mprotect|mremap)|exit_mmap/;
const SCHEDULING = /__x64_sys_(futex|sched_yield|nanosleep|clock_nanosleep)|futex_wait|futex_wake/;

/** A kernel sample of a worker, by the cause its call chain shows (the leaf is often only where interrupts were re-enabled). */
function kernelPart(chain: readonly Frame[]): Component {
  const symbols = chain.filter(isKernel).map((f) => f.symbol);
  if (symbols.some((s) => MEMORY.test(s))) return 'kernel: page faults, memory';
  if (symbols.some((s) => SCHEDULING.test(s))) return 'kernel: futex, scheduling';
  if (symbols.some((s) => SOCKET.test(s))) return 'kernel: network, sockets';
  return 'kernel: other';
}

const LIBC = /libc\.so|libc-|ld-linux|libm\.so|libstdc\+\+|jemalloc|libgcc|libpthread/;

function libraryPart(dso: string): Component | undefined {
  if (/onnxruntime/.test(dso)) return 'onnxruntime';
  if (/vips|sharp|jpeg|png|webp|heif|glib|gobject|gio|spng|lcms|exif|orc|hwy|highway/i.test(dso)) return 'libvips/sharp';
  return undefined;
}

/**
 * A worker's user-space sample, by its library. libc (memcpy, malloc) is charged to the
 * nearest library that called it when the chain shows one; otherwise to libc itself.
 */
function workerPart(chain: readonly Frame[]): Component {
  const leaf = chain[0]!;
  if (isKernel(leaf)) return kernelPart(chain);
  if (LIBC.test(leaf.dso)) {
    for (const frame of chain) {
      const caller = libraryPart(frame.dso);
      if (caller) return caller;
    }
    return 'libc (malloc, memcpy)';
  }
  return libraryPart(leaf.dso) ?? 'V8 + JS (Express, pino, prom-client, codecs)';
}

export interface ProcessRoles {
  readonly workers: readonly number[];
  readonly loadGenerator: number;
  /** serve and pm2-runtime. */
  readonly supervisors: readonly number[];
}

function classify(comm: string, pid: number, chain: readonly Frame[], roles: ProcessRoles): Component {
  if (pid === 0 || comm === 'swapper') return 'idle';
  if (roles.workers.includes(pid)) return chain.length ? workerPart(chain) : 'V8 + JS (Express, pino, prom-client, codecs)';
  if (pid === roles.loadGenerator) return 'load generator';
  if (roles.supervisors.includes(pid)) return 'serve, pm2';
  if (comm.startsWith('nginx')) return 'nginx';
  return 'other processes';
}

/**
 * `perf script` prints a sample as a header line ("comm pid") and its call chain, one frame a
 * line ("addr symbol (dso)"), then a blank line.
 */
function parseSamples(text: string, onSample: (comm: string, pid: number, chain: Frame[]) => void): void {
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter((line) => line.trim());
    const header = /^(\S.*?)\s+(\d+)\s*$/.exec(lines[0] ?? '');
    if (!header) continue;
    const chain = lines.slice(1).flatMap((line) => {
      const frame = /^\s*[0-9a-f]+\s+(.*?)\s*\(([^()]*)\)\s*$/.exec(line);
      return frame ? [{ symbol: frame[1]!, dso: frame[2]! }] : [];
    });
    onSample(header[1]!, Number(header[2]), chain);
  }
}

/** Record every CPU for `seconds` and put each sample in a component. */
export async function profileCpu(seconds: number, roles: ProcessRoles): Promise<CpuProfile> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cpu-profile-'));
  const data = path.join(dir, 'perf.data');
  try {
    await run('perf', ['record', '-a', '-g', '-F', '499', '-q', '-o', data, '--', 'sleep', String(seconds)]);
    const counts = new Map<Component, number>(COMPONENTS.map((c) => [c, 0]));
    let samples = 0;
    const count = (comm: string, pid: number, chain: Frame[]) => {
      const component = classify(comm, pid, chain, roles);
      counts.set(component, counts.get(component)! + 1);
      samples++;
    };
    await new Promise<void>((resolve, reject) => {
      const script = spawn('perf', ['script', '-i', data, '-F', 'comm,pid,ip,sym,dso'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let rest = '';
      script.stdout.setEncoding('utf8');
      script.stdout.on('data', (chunk: string) => {
        const end = (rest + chunk).lastIndexOf('\n\n');
        if (end < 0) {
          rest += chunk;
          return;
        }
        const text = rest + chunk;
        parseSamples(text.slice(0, end), count);
        rest = text.slice(end + 2);
      });
      script.once('error', reject);
      script.once('close', () => {
        parseSamples(rest, count);
        resolve();
      });
    });
    const shares = Object.fromEntries(
      COMPONENTS.map((c) => [c, samples ? Math.round((1000 * counts.get(c)!) / samples) / 10 : 0]),
    ) as Record<Component, number>;
    return { seconds, samples, shares };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
