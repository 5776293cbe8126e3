import { existsSync } from 'node:fs';
import os from 'node:os';
import { z } from 'zod';
import { installedJemalloc, workerPreload } from './allocator';
import { ConfigError } from './errors';
import { DEFAULT_MAX_MODEL_MB } from './model/model-dir';
import { DEFAULT_MAX_IMAGE_PIXELS } from './preprocess/limits';

/**
 * Every setting the server reads, parsed once from the environment into one typed object.
 * Names follow the SageMaker Inference Toolkit / MMS conventions so an existing endpoint
 * configuration carries over unchanged.
 */

const positiveInt = z.coerce.number().int().positive();
const positiveNumber = z.coerce.number().positive();
const flag = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

const fields = z.object({
  port: positiveInt.max(65535),
  workers: positiveInt,
  timeoutSeconds: positiveNumber,
  maxPayloadMb: positiveNumber,
  modelDir: z.string().min(1).optional(),
  inferenceDevice: z.enum(['auto', 'cpu', 'gpu']),
  ortIntraOpThreads: positiveInt,
  ortAllowSpinning: flag,
  maxImagePixels: positiveInt,
  maxQueue: positiveInt,
  maxBatchSize: positiveInt.max(256).optional(),
  maxBatchDelayMs: z.coerce.number().min(0).max(1000),
  clientTimeoutSeconds: positiveNumber,
  loadTimeoutSeconds: positiveNumber,
  maxModelMb: positiveNumber,
  maxConnectionsPerClient: z.coerce.number().int().min(0),
  demoPage: flag,
  metrics: flag,
  metricsPort: positiveInt.max(65535).optional(),
  serverTiming: flag,
  multiModel: flag,
  modelsRoot: z.string().min(1),
  modelsMemoryMb: positiveNumber.optional(),
  submitDirectory: z.string().min(1).optional(),
  program: z.string().min(1).optional(),
  defaultAccept: z.string().regex(/^[\w.+-]+\/[\w.+-]+$/, 'must be a media type such as application/json'),
  malloc: z.enum(['auto', 'jemalloc', 'system']),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  nginxBin: z.string().min(1),
});

const schema = fields.refine((config) => config.metricsPort !== config.port, {
  message: 'must differ from SAGEMAKER_BIND_TO_PORT (unset it to serve /metrics on the serving port)',
  path: ['metricsPort'],
});

export type Config = z.infer<typeof schema> & {
  readonly maxPayloadBytes: number;
  readonly maxModelBytes: number;
  /** The allocator library `serve` preloads into its workers; undefined: the C library's malloc. */
  readonly mallocPreload: string | undefined;
};

type Env = Record<string, string | undefined>;

/** First variable that is set and not blank, so `VAR=` in a compose file means "unset". */
function firstSet(env: Env, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

/** The variable(s) each setting is read from: the first one set (and not blank) wins. */
const VARIABLES = {
  port: ['SAGEMAKER_BIND_TO_PORT'],
  timeoutSeconds: ['SAGEMAKER_MODEL_SERVER_TIMEOUT', 'MODEL_SERVER_TIMEOUT'],
  maxPayloadMb: ['SAGEMAKER_MAX_PAYLOAD_IN_MB'],
  modelDir: ['SM_MODEL_DIR'],
  inferenceDevice: ['INFERENCE_DEVICE'],
  ortAllowSpinning: ['ORT_ALLOW_SPINNING'],
  maxImagePixels: ['MAX_IMAGE_PIXELS'],
  maxQueue: ['MODEL_SERVER_MAX_QUEUE'],
  maxBatchSize: ['MODEL_SERVER_MAX_BATCH_SIZE'],
  maxBatchDelayMs: ['MODEL_SERVER_MAX_BATCH_DELAY_MS'],
  clientTimeoutSeconds: ['MODEL_SERVER_CLIENT_TIMEOUT'],
  loadTimeoutSeconds: ['MODEL_SERVER_LOAD_TIMEOUT'],
  maxModelMb: ['MODEL_SERVER_MAX_MODEL_MB'],
  maxConnectionsPerClient: ['MODEL_SERVER_MAX_CONNECTIONS_PER_CLIENT'],
  demoPage: ['MODEL_SERVER_DEMO_PAGE'],
  metrics: ['MODEL_SERVER_METRICS'],
  metricsPort: ['MODEL_SERVER_METRICS_PORT'],
  serverTiming: ['MODEL_SERVER_SERVER_TIMING'],
  multiModel: ['SAGEMAKER_MULTI_MODEL'],
  modelsRoot: ['MODEL_SERVER_MODELS_ROOT'],
  modelsMemoryMb: ['MODEL_SERVER_MODELS_MEMORY_MB'],
  submitDirectory: ['SAGEMAKER_SUBMIT_DIRECTORY'],
  program: ['SAGEMAKER_PROGRAM'],
  defaultAccept: ['SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT'],
  malloc: ['MODEL_SERVER_MALLOC'],
  logLevel: ['LOG_LEVEL'],
  nginxBin: ['NGINX_BIN'],
  workers: ['SAGEMAKER_MODEL_SERVER_WORKERS', 'MODEL_SERVER_WORKERS'],
  ortIntraOpThreads: ['ORT_INTRA_OP_THREADS'],
} as const satisfies Record<string, readonly string[]>;

export function loadConfig(env: Env = process.env, cores = os.availableParallelism()): Config {
  const read = (setting: keyof typeof VARIABLES) => firstSet(env, ...VARIABLES[setting]);
  const workersRaw = read('workers');
  const workers = workersRaw ?? String(cores);
  // One worker per core, the cores shared out among them: under load every core is busy with
  // some image, and an ONNX Runtime thread pool would only add a handoff per operator (futex
  // wake-ups that cost more than they save once the cores are busy; docs/performance.md, Tuning).
  // Derived only from a worker count that parses, so a bad one is reported once, by its own name.
  const workerCount = Number(workers);
  const threads = read('ortIntraOpThreads') ?? (workerCount >= 1 ? Math.max(1, Math.floor(cores / workerCount)) : 1);
  const raw = {
    port: read('port') ?? 8080,
    workers,
    timeoutSeconds: read('timeoutSeconds') ?? 60,
    maxPayloadMb: read('maxPayloadMb') ?? 6,
    modelDir: read('modelDir'),
    inferenceDevice: (read('inferenceDevice') ?? 'auto').toLowerCase(),
    ortIntraOpThreads: threads,
    ortAllowSpinning: read('ortAllowSpinning') ?? String(Number(workers) * Number(threads) <= cores),
    maxImagePixels: read('maxImagePixels') ?? DEFAULT_MAX_IMAGE_PIXELS,
    // Requests a worker holds at once (decoding, queued or in inference); more get a fast 503.
    maxQueue: read('maxQueue') ?? 32,
    // Unset: chosen per execution provider once the session exists (see DEFAULT_MAX_BATCH).
    maxBatchSize: read('maxBatchSize'),
    maxBatchDelayMs: read('maxBatchDelayMs') ?? 0,
    clientTimeoutSeconds: read('clientTimeoutSeconds') ?? 60,
    // Loading a handler's model (modelFn, warmupFn, the module itself) that takes longer is a
    // failure with a reason on /ping, not a worker that waits forever or exits and restarts.
    loadTimeoutSeconds: read('loadTimeoutSeconds') ?? 300,
    maxModelMb: read('maxModelMb') ?? DEFAULT_MAX_MODEL_MB,
    // Requests one client address may have open at nginx at once (0: no limit).
    maxConnectionsPerClient: read('maxConnectionsPerClient') ?? 512,
    // The workshop page on GET /; SageMaker never routes it, production may turn it off.
    demoPage: (read('demoPage') ?? 'true').toLowerCase(),
    // GET /metrics (Prometheus) for the whole container: on the serving port, or on its own.
    metrics: (read('metrics') ?? 'true').toLowerCase(),
    metricsPort: read('metricsPort'),
    serverTiming: (read('serverTiming') ?? 'true').toLowerCase(),
    // A multi-model endpoint: models are loaded and unloaded by name (POST /models, …) from under the models root.
    multiModel: (read('multiModel') ?? 'false').toLowerCase(),
    modelsRoot: read('modelsRoot') ?? '/opt/ml/models',
    // Unset: 85% of the container's memory (multi-model/memory.ts).
    modelsMemoryMb: read('modelsMemoryMb'),
    submitDirectory: read('submitDirectory'),
    program: read('program'),
    defaultAccept: (read('defaultAccept') ?? 'application/json').toLowerCase(),
    // The workers' malloc: jemalloc when installed (allocator.ts).
    malloc: (read('malloc') ?? 'auto').toLowerCase(),
    logLevel: (read('logLevel') ?? 'info').toLowerCase(),
    // Debian installs nginx in /usr/sbin, which is not on every user's PATH.
    nginxBin: read('nginxBin') ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx'),
  };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const setting = issue.path[0] as keyof typeof VARIABLES;
      const names: readonly string[] = VARIABLES[setting] ?? [String(setting)];
      const name = names.find((variable) => env[variable]?.trim()) ?? names[0]!;
      return `${name}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const megabytes = (mb: number) => Math.floor(mb * 1024 * 1024);
  return {
    ...parsed.data,
    maxPayloadBytes: megabytes(parsed.data.maxPayloadMb),
    maxModelBytes: megabytes(parsed.data.maxModelMb),
    mallocPreload: workerPreload(parsed.data.malloc, installedJemalloc(), env.LD_PRELOAD),
  };
}
