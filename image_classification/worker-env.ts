/** Set by `serve` for each worker: the directory holding one unix socket per worker. */
export const SOCKET_DIR_ENV = 'MODEL_SERVER_SOCKET_DIR';
/**
 * Set by `serve`: where the model it unpacked for the workers came from. A worker sees only
 * SM_MODEL_DIR (serve's unpacked copy), so without it every worker would report SM_MODEL_DIR.
 */
export const MODEL_SOURCE_ENV = 'MODEL_SERVER_MODEL_SOURCE';
/**
 * Set by `serve` when it could not make a model directory of the model (a missing location, an
 * archive refused): the failure as JSON `{ code, reason }`, which each worker then reports on
 * /ping. Without it the workers would look for the model again and report something else.
 */
export const MODEL_FAILURE_ENV = 'MODEL_SERVER_MODEL_FAILURE';

/**
 * The C library and libuv settings `serve` gives each worker; `env` (serve's environment) may
 * override either. `preload`: the allocator library to preload (allocator.ts), placed before
 * any LD_PRELOAD the environment already has.
 */
export function workerRuntimeEnv(env: Record<string, string | undefined>, preload?: string): Record<string, string> {
  return {
    ...(preload ? { LD_PRELOAD: [preload, env.LD_PRELOAD].filter(Boolean).join(' ') } : {}),
    // With glibc's malloc (MODEL_SERVER_MALLOC=system, or no jemalloc): each decoding thread
    // would get its own arena, which keeps what it once held; two cut a worker's steady RSS.
    MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? '2',
    // libuv's pool runs sharp's decodes: two at a time per worker bounds the memory of decodes
    // in flight (docs/limits.md) and matches the cores a worker gets.
    UV_THREADPOOL_SIZE: env.UV_THREADPOOL_SIZE ?? '2',
    // In the workers' environment from their start, so that a handler's own ONNX Runtime
    // sessions run with it too (runtime/ort-telemetry.ts).
    ORT_DISABLE_TELEMETRY: env.ORT_DISABLE_TELEMETRY ?? '1',
  };
}

/**
 * V8 flags for each worker. A 2 MB young generation (V8's default is larger): a worker's own
 * objects are short-lived and small (images and tensors live outside the V8 heap), so the
 * smaller nursery costs no throughput and keeps ~10 MB less resident (docs/cpu-cost.md).
 * `--expose-gc`: an idle worker collects its garbage before it trims the C heap (memory-trim.ts).
 */
export const WORKER_NODE_ARGS: readonly string[] = ['--max-semi-space-size=2', '--expose-gc'];
