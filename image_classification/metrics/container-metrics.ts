import http from 'node:http';
import client from 'prom-client';
import { PREFIX, type WorkerSnapshot } from './worker-metrics';

type MetricJson = WorkerSnapshot['metrics'][number];

/** A worker that does not answer within this is counted from its last snapshot. */
const COLLECT_TIMEOUT_MS = 2000;
/** A snapshot is a few tens of kB; more than this is not a worker of ours. */
const MAX_SNAPSHOT_BYTES = 4 * 1024 * 1024;

/** Counters and histograms only: what must keep counting after the process that counted it is gone. */
function cumulative(metrics: readonly MetricJson[]): MetricJson[] {
  // prom-client's typings declare a numeric enum; at run time (and in JSON) the type is its name.
  return metrics.filter((metric) => ['counter', 'histogram'].includes(metric.type as unknown as string));
}

function fetchSnapshot(socketPath: string, path: string): Promise<WorkerSnapshot | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path, timeout: COLLECT_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_SNAPSHOT_BYTES) req.destroy();
        else chunks.push(chunk);
      });
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as WorkerSnapshot) : undefined);
        } catch {
          resolve(undefined);
        }
      });
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

interface Slot {
  pid: number;
  last: WorkerSnapshot;
}

/**
 * The whole container's metrics: every worker's, collected over its unix socket, plus the
 * supervisor's own. pm2 restarts a worker with fresh counters, so the last snapshot of every
 * worker process that is gone is kept ("retired") and added in: totals never go backwards.
 * A worker that does not answer (busy, restarting) counts with its last snapshot's counters.
 * What a worker counted after the supervisor's last collection and before it died is lost:
 * collections run every `intervalMs` and on every scrape.
 */
export class ContainerMetrics {
  /** The supervisor's own metrics; `registry` for callers to add theirs. */
  readonly registry = new client.Registry();
  private readonly slots = new Map<string, Slot>();
  private retired: MetricJson[] = [];
  private readonly restarts: client.Counter<'worker'>;
  private readonly workersUp: client.Gauge;
  private collecting: Promise<MetricJson[][]> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly workerSockets: ReadonlyMap<string, string>,
    private readonly snapshotPath: string,
  ) {
    const registers = [this.registry];
    client.collectDefaultMetrics({ register: this.registry, labels: { worker: 'supervisor' } });
    this.restarts = new client.Counter({
      name: `${PREFIX}worker_restarts_total`,
      help: 'Worker processes replaced by pm2 (seen when the new one first answers)',
      labelNames: ['worker'],
      registers,
    });
    this.workersUp = new client.Gauge({
      name: `${PREFIX}workers_up`,
      help: 'Workers that answered the last collection',
      registers,
    });
    new client.Gauge({ name: `${PREFIX}workers`, help: 'Workers configured', registers }).set(workerSockets.size);
    for (const worker of workerSockets.keys()) this.restarts.inc({ worker }, 0);
  }

  /** Collect every `intervalMs` too, so a worker's counts survive it dying between scrapes. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.collect(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Prometheus' text format for the whole container. */
  async render(): Promise<string> {
    const parts = await this.collect();
    const own = await this.registry.getMetricsAsJSON();
    return client.AggregatorRegistry.aggregate([...parts, this.retired, own]).metrics();
  }

  /** One collection at a time: concurrent scrapes share it, so a scrape storm costs one each. */
  private collect(): Promise<MetricJson[][]> {
    this.collecting ??= this.collectOnce().finally(() => (this.collecting = undefined));
    return this.collecting;
  }

  private async collectOnce(): Promise<MetricJson[][]> {
    const workers = [...this.workerSockets];
    const snapshots = await Promise.all(workers.map(([, socket]) => fetchSnapshot(socket, this.snapshotPath)));
    const parts: MetricJson[][] = [];
    let up = 0;
    for (const [i, [worker]] of workers.entries()) {
      const snapshot = snapshots[i];
      const slot = this.slots.get(worker);
      if (!snapshot) {
        if (slot) parts.push(cumulative(slot.last.metrics));
        continue;
      }
      up++;
      if (slot && slot.pid !== snapshot.pid) {
        await this.retire(slot.last);
        this.restarts.inc({ worker });
      }
      this.slots.set(worker, { pid: snapshot.pid, last: snapshot });
      parts.push(snapshot.metrics);
    }
    this.workersUp.set(up);
    return parts;
  }

  private async retire(snapshot: WorkerSnapshot): Promise<void> {
    const merged = client.AggregatorRegistry.aggregate([this.retired, cumulative(snapshot.metrics)]);
    this.retired = await merged.getMetricsAsJSON();
  }
}
