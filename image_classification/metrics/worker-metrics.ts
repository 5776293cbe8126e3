import client from 'prom-client';
import { STAGES, type StageTimes } from '../stage-timing';

/** Every metric of this server starts with it (docs/metrics.md). */
export const PREFIX = 'model_server_';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const STAGE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/** Where the supervisor collects a worker's snapshot (on its unix socket: nginx never routes it). */
export const WORKER_SNAPSHOT_PATH = '/metrics/worker.json';

/** What a worker sends the supervisor: its counters, histograms and gauges, and who it is. */
export interface WorkerSnapshot {
  readonly pid: number;
  readonly metrics: client.MetricObjectWithValues<client.MetricValue<string>>[];
}

/**
 * One worker's metrics, every series labelled with its pm2 slot (`worker`), so the supervisor
 * can sum counters across workers and keep each worker's gauges (RSS, event-loop delay) apart.
 * Node's default process metrics (prom-client's) are included.
 */
export class WorkerMetrics {
  readonly registry = new client.Registry();
  private readonly invocations: client.Counter<'status' | 'content_type'>;
  private readonly duration: client.Histogram;
  private readonly stages: client.Histogram<'stage'>;
  private readonly batchSize: client.Histogram;
  private readonly modelLoad: client.Gauge;

  constructor(worker: string) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ worker });
    client.collectDefaultMetrics({ register: this.registry });
    this.invocations = new client.Counter({
      name: `${PREFIX}invocations_total`,
      help: 'Invocations answered by the workers, by HTTP status and request media type',
      labelNames: ['status', 'content_type'],
      registers,
    });
    this.duration = new client.Histogram({
      name: `${PREFIX}invocation_duration_seconds`,
      help: "An invocation's time in the worker, from its arrival to its answer",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.stages = new client.Histogram({
      name: `${PREFIX}invocation_stage_seconds`,
      help: 'Time per stage of an invocation: body_read, preprocess, queue, inference, encode, handler',
      labelNames: ['stage'],
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.batchSize = new client.Histogram({
      name: `${PREFIX}batch_size`,
      help: 'Images per ONNX Runtime run',
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.modelLoad = new client.Gauge({
      name: `${PREFIX}model_load_seconds`,
      help: 'How long this worker took to load and warm its model',
      registers,
    });
    // Zero series for the stages, so a dashboard shows them before the first request.
    for (const stage of STAGES) this.stages.zero({ stage });
  }

  invocation(status: number, contentType: string, seconds: number, times: StageTimes): void {
    this.invocations.inc({ status: String(status), content_type: contentType });
    this.duration.observe(seconds);
    for (const [stage, stageSeconds] of times.entries()) this.stages.observe({ stage }, stageSeconds);
  }

  batch(images: number): void {
    this.batchSize.observe(images);
  }

  modelLoaded(seconds: number): void {
    this.modelLoad.set(seconds);
  }

  /** The admission slots in use and their limit, read at each scrape. */
  trackAdmission(read: () => { inUse: number; limit: number }): void {
    const gauge = (name: string, help: string, value: (slots: { inUse: number; limit: number }) => number) =>
      new client.Gauge({
        name: `${PREFIX}${name}`,
        help,
        registers: [this.registry],
        collect() {
          this.set(value(read()));
        },
      });
    gauge('admission_slots_in_use', 'Invocations this worker holds (decoding, queued or running)', (slots) => slots.inUse);
    gauge('admission_slots', 'Invocations this worker may hold at once (MODEL_SERVER_MAX_QUEUE)', (slots) => slots.limit);
  }

  async snapshot(): Promise<WorkerSnapshot> {
    return { pid: process.pid, metrics: await this.registry.getMetricsAsJSON() };
  }
}
