import { runLoad, startProduct, warmUp } from './load';

/** Rounds of on/off, interleaved so that a slow spell of a shared machine hits both alike. */
const ROUNDS = 3;
const CONNECTIONS = 16;

export interface MetricsCost {
  readonly connections: number;
  readonly seconds: number;
  /** Images/s of each round, metrics on (the default) and off. */
  readonly on: number[];
  readonly off: number[];
  /** 1 − (sum on / sum off): the share of throughput the metrics cost; negative is noise in their favour. */
  readonly cost: number;
}

async function throughput(env: Record<string, string>, modelDir: string, images: Buffer[], seconds: number): Promise<number> {
  const served = await startProduct(modelDir, env);
  try {
    await warmUp(served.url, images);
    // Scraped while loaded, as Prometheus would (every 15 s by default; here every 2 s).
    const scraper = setInterval(
      () =>
        void fetch(`${served.url}/metrics`).then(
          (r) => r.arrayBuffer(),
          () => undefined,
        ),
      2000,
    );
    try {
      return (await runLoad(served.url, images, { connections: CONNECTIONS, seconds })).rps;
    } finally {
      clearInterval(scraper);
    }
  } finally {
    served.killAll();
  }
}

/** serve with metrics and Server-Timing on (the defaults) against both off, at c=16. */
export async function measureMetricsCost(modelDir: string, images: Buffer[], seconds: number): Promise<MetricsCost> {
  const on: number[] = [];
  const off: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    on.push(await throughput({}, modelDir, images, seconds));
    off.push(await throughput({ MODEL_SERVER_METRICS: 'false', MODEL_SERVER_SERVER_TIMING: 'false' }, modelDir, images, seconds));
  }
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  return { connections: CONNECTIONS, seconds, on, off, cost: 1 - sum(on) / sum(off) };
}
