import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { parseCli, runCli } from '../image_classification/cli/args';
import { ROOT } from '../harness/env';
import { parseSamples, total, type Sample } from '../harness/prometheus';
import { startServe } from '../harness/serve-process';
import { benchImages } from './images';
import { runLoad } from './load';

const USAGE = `usage: npm run dashboard
Starts serve (defaults, 2 workers), loads it at c=1, 16 and 96 (past the admission limit, so
nginx sheds), scrapes /metrics every second, and draws what a Prometheus dashboard of the
PromQL of docs/metrics.md shows: docs/metrics-dashboard.png.`;

const PHASES = [
  { connections: 1, seconds: 8 },
  { connections: 16, seconds: 10 },
  { connections: 96, seconds: 10 },
];

interface Scrape {
  readonly at: number;
  readonly samples: Sample[];
}

/** histogram_quantile over the bucket increase between two scrapes (linear within a bucket). */
function quantile(q: number, from: Scrape, to: Scrape, name: string): number | undefined {
  const buckets = (scrape: Scrape) => {
    const byBound = new Map<number, number>();
    for (const s of scrape.samples) {
      if (s.name !== `${name}_bucket`) continue;
      const bound = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      byBound.set(bound, (byBound.get(bound) ?? 0) + s.value);
    }
    return byBound;
  };
  const start = buckets(from);
  const increase = [...buckets(to)].map(([bound, count]) => [bound, count - (start.get(bound) ?? 0)] as const).sort((a, b) => a[0] - b[0]);
  const count = increase.at(-1)?.[1] ?? 0;
  if (count === 0) return undefined;
  let previous: readonly [number, number] = [0, 0];
  for (const bucket of increase) {
    if (bucket[1] >= q * count) {
      if (bucket[0] === Infinity) return previous[0];
      return previous[0] + ((bucket[0] - previous[0]) * (q * count - previous[1])) / (bucket[1] - previous[1] || 1);
    }
    previous = bucket;
  }
  return undefined;
}

function panels(scrapes: Scrape[]) {
  const rates: object[] = [];
  const latency: object[] = [];
  for (let i = 1; i < scrapes.length; i++) {
    const [from, to] = [scrapes[i - 1]!, scrapes[i]!];
    const seconds = (to.at - from.at) / 1000;
    const t = Math.round((to.at - scrapes[0]!.at) / 1000);
    const rate = (name: string, where: Record<string, string> = {}) =>
      Math.max(0, total(to.samples, name, where) - total(from.samples, name, where)) / seconds;
    rates.push({ t, series: 'answered 200', perSecond: rate('model_server_invocations_total', { status: '200' }) });
    const shed =
      rate('model_server_nginx_refusals_total', { reason: 'overloaded' }) + rate('model_server_invocations_total', { status: '503' });
    rates.push({ t, series: 'shed (503)', perSecond: shed });
    for (const q of [0.5, 0.99]) {
      const value = quantile(q, from, to, 'model_server_invocation_duration_seconds');
      if (value !== undefined) latency.push({ t, series: `p${q * 100}`, ms: value * 1000 });
    }
  }
  const [first, last] = [scrapes[0]!, scrapes.at(-1)!];
  const stages = ['body_read', 'preprocess', 'queue', 'inference', 'encode'].map((stage) => {
    const delta = (suffix: string) =>
      total(last.samples, `model_server_invocation_stage_seconds_${suffix}`, { stage }) -
      total(first.samples, `model_server_invocation_stage_seconds_${suffix}`, { stage });
    return { stage, ms: (1000 * delta('sum')) / Math.max(1, delta('count')) };
  });
  return { rates, latency, stages };
}

async function render(data: ReturnType<typeof panels>): Promise<Buffer> {
  const vega = await import('vega');
  const { compile } = await import('vega-lite');
  const time = { field: 't', type: 'quantitative', title: 'seconds' } as const;
  const spec = compile({
    hconcat: [
      {
        title: 'Throughput: answered and shed (/s)',
        width: 260,
        height: 200,
        data: { values: data.rates },
        mark: 'line',
        encoding: {
          x: time,
          // Shedding answers thousands per second, serving tens: both stay readable on a symlog axis.
          y: { field: 'perSecond', type: 'quantitative', title: 'requests / s (symlog)', scale: { type: 'symlog' } },
          color: { field: 'series' },
        },
      },
      {
        title: 'Latency in the worker (ms)',
        width: 260,
        height: 200,
        data: { values: data.latency },
        mark: 'line',
        encoding: { x: time, y: { field: 'ms', type: 'quantitative', title: 'ms' }, color: { field: 'series' } },
      },
      {
        title: 'Mean time per stage (ms)',
        width: 200,
        height: 200,
        data: { values: data.stages },
        mark: 'bar',
        encoding: { x: { field: 'stage', type: 'nominal', sort: null, title: null }, y: { field: 'ms', type: 'quantitative' } },
      },
    ],
    config: { background: 'white' },
  }).spec;
  const svg = await new vega.View(vega.parse(spec), { renderer: 'none' }).toSVG();
  return sharp(Buffer.from(svg)).png().toBuffer();
}

runCli(async () => {
  parseCli({ help: { type: 'boolean' } }, USAGE);
  const images = (await benchImages()).mixed;
  const served = await startServe({ LOG_LEVEL: 'error' });
  const scrapes: Scrape[] = [];
  const scrape = async () => {
    const text = await (await fetch(`${served.url}/metrics`)).text();
    scrapes.push({ at: performance.now(), samples: parseSamples(text) });
  };
  try {
    await scrape();
    const scraper = setInterval(() => void scrape(), 1000);
    for (const phase of PHASES) {
      const result = await runLoad(served.url, images, phase);
      console.log(`c=${phase.connections}: ${result.rps} answered/s, ${result.requests - result.ok} not 200`);
    }
    // No scrape after the load: its interval would be mostly idle.
    clearInterval(scraper);
  } finally {
    served.killAll();
  }
  const file = path.join(ROOT, 'docs', 'metrics-dashboard.png');
  // A scrape is recorded when it completes: order them by time.
  await writeFile(file, await render(panels(scrapes.sort((a, b) => a.at - b.at))));
  console.log(file);
});
