import { existsSync } from 'node:fs';

/**
 * Where Debian-based images (and most distributions) install jemalloc 5. sharp's
 * documentation recommends it on glibc Linux for long-running processes: glibc maps every
 * large decode buffer afresh and returns it to the kernel on free, so each image pays page
 * faults and zeroing that jemalloc's reuse avoids (docs/performance.md has the figures).
 */
const JEMALLOC_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
  '/usr/lib64/libjemalloc.so.2',
  '/usr/lib/libjemalloc.so.2',
  '/usr/local/lib/libjemalloc.so.2',
];

export function findJemalloc(exists: (path: string) => boolean = existsSync): string | undefined {
  return JEMALLOC_PATHS.find((path) => exists(path));
}

/**
 * jemalloc's settings for a worker: one arena per core a worker may use instead of four per
 * CPU (each thread — libuv's pool, libvips, ONNX Runtime — would otherwise hold its own), and
 * freed pages returned after a second rather than ten, so RSS follows the load down.
 */
const JEMALLOC_CONF = 'narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0';

/**
 * The environment that gives a worker its malloc: jemalloc preloaded (nginx and serve keep the
 * C library's), or, without it, glibc limited to two arenas (each decoding thread would
 * otherwise get its own, which keeps what it once held). `env`: the caller's environment,
 * whose LD_PRELOAD, MALLOC_CONF and MALLOC_ARENA_MAX are kept.
 */
export function allocatorEnv(jemalloc: string | undefined, env: Record<string, string | undefined>): Record<string, string> {
  if (!jemalloc) return { MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? '2' };
  return {
    LD_PRELOAD: [jemalloc, env.LD_PRELOAD].filter(Boolean).join(':'),
    MALLOC_CONF: env.MALLOC_CONF ?? JEMALLOC_CONF,
  };
}
