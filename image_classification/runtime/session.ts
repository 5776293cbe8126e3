import { existsSync } from 'node:fs';
import path from 'node:path';
import { ort } from './onnxruntime';
import { ExecutionProviderError } from '../errors';
import type { Logger } from '../logger';

export type InferenceDevice = 'auto' | 'cpu' | 'gpu';
export type ExecutionProvider = 'cuda' | 'cpu';

export interface SessionOptions {
  readonly device: InferenceDevice;
  readonly intraOpThreads: number;
  /** Let idle intra-op threads busy-wait (lower latency; only when the cores are not shared). */
  readonly allowSpinning?: boolean;
}

/**
 * The ONNX file each provider runs. `cuda`, when given, replaces `default` on the CUDA
 * provider: an int8 QDQ graph is the CPU's format (on a GPU it runs float convolutions wrapped
 * in quantize/dequantize steps, slower and no more accurate), so a model ships its float graph
 * for CUDA beside it.
 */
export interface ModelGraphs {
  readonly default: GraphSource;
  readonly cuda?: GraphSource;
}

/** An ONNX file's path, or its bytes (a graph built in memory, as training's backbone is). */
export type GraphSource = string | Uint8Array;

export function graphFor(provider: ExecutionProvider, graphs: ModelGraphs): GraphSource {
  return provider === 'cuda' ? (graphs.cuda ?? graphs.default) : graphs.default;
}

export interface LoadedSession {
  readonly session: ort.InferenceSession;
  readonly provider: ExecutionProvider;
}

function baseOptions(threads: number, allowSpinning: boolean): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    // Parallel branches are rare in classifiers; extra inter-op threads only compete for cores.
    interOpNumThreads: 1,
    // Warnings only: ORT's per-node placement notices would otherwise flood the JSON logs.
    logSeverityLevel: 2,
    // Idle ORT threads spin for work by default; when workers x threads exceed the cores,
    // that spinning steals the cores other workers need (docs/performance.md).
    ...(allowSpinning ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
  };
}

/**
 * The CUDA provider library sits next to the ORT binding only when the package was
 * installed with `--onnxruntime-node-install=cuda12`; without it a CUDA attempt can only fail.
 */
export function cudaProviderInstalled(): boolean {
  const binding = path.dirname(require.resolve('onnxruntime-node'));
  const binDir = path.join(binding, '..', 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(path.join(binDir, 'libonnxruntime_providers_cuda.so'));
}

/**
 * `auto` tries CUDA and falls back to the CPU when onnxruntime-node cannot create a CUDA
 * session (no GPU, or the CUDA provider was not installed); `gpu` refuses to fall back.
 */
export async function createSession(graph: GraphSource | ModelGraphs, options: SessionOptions, logger: Logger): Promise<LoadedSession> {
  const graphs = typeof graph === 'string' || graph instanceof Uint8Array ? { default: graph } : graph;
  // Two calls, not one: ORT's create() has one overload per source type, and TypeScript picks
  // an overload only for a source narrowed to one of them.
  const open = (source: GraphSource, providers: ort.InferenceSession.SessionOptions) =>
    typeof source === 'string' ? ort.InferenceSession.create(source, providers) : ort.InferenceSession.create(source, providers);
  const base = baseOptions(options.intraOpThreads, options.allowSpinning ?? true);
  const tryCuda = options.device === 'gpu' || (options.device === 'auto' && cudaProviderInstalled());
  if (options.device === 'auto' && !tryCuda) logger.info('CUDA execution provider not installed; using the CPU');
  if (tryCuda) {
    try {
      const session = await open(graphFor('cuda', graphs), { ...base, executionProviders: ['cuda', 'cpu'] });
      return { session, provider: 'cuda' };
    } catch (error) {
      const reason = (error as Error).message.split('\n')[0];
      if (options.device === 'gpu') {
        throw new ExecutionProviderError(`INFERENCE_DEVICE=gpu but no CUDA session could be created: ${reason}`);
      }
      logger.info({ reason }, 'CUDA execution provider unavailable; using the CPU');
    }
  }
  const session = await open(graphFor('cpu', graphs), { ...base, executionProviders: ['cpu'] });
  return { session, provider: 'cpu' };
}
