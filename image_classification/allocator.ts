import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from './errors';

/**
 * The workers' malloc. Every image passes through megabyte-sized C buffers (the request body,
 * libvips' pixels) allocated and freed on several threads; jemalloc's per-thread caches serve
 * them with less CPU than glibc's arenas and locks (docs/cpu-cost.md has the comparison),
 * and sharp recommends it on glibc Linux. It is preloaded into the workers when installed
 * (Debian: libjemalloc2, in the image); the idle trim returns what either allocator holds.
 */
export type MallocSetting = 'auto' | 'jemalloc' | 'system';

/** Debian's multiarch directory for this CPU: a library of another architecture cannot be preloaded. */
const MULTIARCH: Partial<Record<NodeJS.Architecture, string>> = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };

/** Where Debian's and Ubuntu's libjemalloc2 (and other distributions) install jemalloc. */
export const JEMALLOC_PATHS = [
  ...(MULTIARCH[process.arch] ? [`/usr/lib/${MULTIARCH[process.arch]}/libjemalloc.so.2`] : []),
  '/usr/lib64/libjemalloc.so.2',
  '/usr/lib/libjemalloc.so.2',
];

export function installedJemalloc(): string | undefined {
  return JEMALLOC_PATHS.find((file) => existsSync(file));
}

/**
 * The library `serve` preloads into its workers; undefined: the C library's own malloc, or
 * what `inheritedPreload` (serve's own LD_PRELOAD) brings: with `auto`, an operator's preload
 * (another allocator, a sanitizer that must load first) is left as it is.
 */
export function workerPreload(setting: MallocSetting, installed: string | undefined, inheritedPreload?: string): string | undefined {
  if (setting === 'system') return undefined;
  if (setting === 'jemalloc' && !installed) {
    throw new ConfigError(`MODEL_SERVER_MALLOC=jemalloc but libjemalloc.so.2 is not installed (looked in ${JEMALLOC_PATHS.join(', ')})`);
  }
  if (setting === 'auto' && inheritedPreload?.trim()) return undefined;
  return installed;
}

/** Returns the free pages of this process's allocator to the kernel. */
export interface MemoryRelease {
  readonly allocator: 'jemalloc' | 'glibc';
  /** False when the allocator refused (a jemalloc older than 5, where 4096 is not "every arena"). */
  release(): boolean;
}

/** jemalloc's "every arena" index for mallctl (MALLCTL_ARENAS_ALL in its headers). */
const ALL_ARENAS = 4096;

/** The jemalloc library mapped into this process, if it was preloaded. */
function mappedJemalloc(): string | undefined {
  let maps: string;
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return undefined;
  }
  const line = maps.split('\n').find((entry) => /\/libjemalloc\.so[.\d]*$/.test(entry));
  return line?.slice(line.indexOf('/'));
}

/**
 * The release for the allocator this process runs on: jemalloc's purge of every arena, or
 * glibc's `malloc_trim(0)`, through koffi (loaded here, on first use, so start-up does not pay
 * for it). Rejects where neither exists (musl, macOS).
 */
export async function loadMemoryRelease(): Promise<MemoryRelease> {
  const koffi = await import('koffi');
  const jemalloc = mappedJemalloc();
  if (jemalloc) {
    const mallctl = koffi.load(jemalloc).func('int mallctl(const char *name, void *oldp, void *oldlenp, void *newp, size_t newlen)');
    const purge = `arena.${ALL_ARENAS}.purge`;
    return { allocator: 'jemalloc', release: () => mallctl(purge, null, null, null, 0) === 0 };
  }
  const mallocTrim = koffi.load('libc.so.6').func('int malloc_trim(size_t pad)');
  // Its result says whether any memory went back, not whether it failed.
  return {
    allocator: 'glibc',
    release: () => {
      mallocTrim(0);
      return true;
    },
  };
}
