import { readFileSync } from 'node:fs';
import { parseCli, runCli } from '../image_classification/cli/args';
import { unpackArchive } from '../image_classification/model/model-dir';
import { sample, SHIPPED_ARCHIVE } from '../harness/env';
import { printTable, runLoad, writeResult } from './load';
import { startServe, workerPids } from '../harness/serve-process';

const USAGE = `usage: npm run soak -- [--minutes 10] [--interval 30] [--load 0.7]
Measures capacity (c=16), then holds ~70% of it (fixed request rate) for the given minutes,
reporting per interval: errors (must be 0), latency percentiles and the workers' RSS.
RSS growth is measured from the end of the first interval (warm-up) to the end.`;

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

runCli(async () => {
  const { values } = parseCli(
    {
      minutes: { type: 'string', default: '10' },
      interval: { type: 'string', default: '30' },
      load: { type: 'string', default: '0.7' },
      help: { type: 'boolean' },
    },
    USAGE,
  );
  const served = await startServe({ SM_MODEL_DIR: await unpackArchive(SHIPPED_ARCHIVE), LOG_LEVEL: 'error' });
  try {
    const image = await sample('paper.jpg');
    const capacity = await runLoad(served.url, image, { connections: 16, seconds: 10 });
    const rate = Math.max(1, Math.round(capacity.rps * Number(values.load)));
    console.log(`capacity ${capacity.rps} images/s at c=16; soaking at ${rate} requests/s for ${values.minutes} min`);
    const intervals = Math.max(1, Math.round((Number(values.minutes) * 60) / Number(values.interval)));
    const rows: Record<string, string | number>[] = [];
    for (let i = 0; i < intervals; i++) {
      const r = await runLoad(served.url, image, { connections: 16, seconds: Number(values.interval), rate });
      const rss = workerPids(served).map(rssMb);
      rows.push({
        minute: ((i + 1) * Number(values.interval)) / 60,
        requests: r.requests,
        errors: r.otherErrors + r.overloaded + r.timeouts,
        p50: r.p50,
        p99: r.p99,
        max: r.max,
        'rss MB (per worker)': rss.map((m) => m.toFixed(0)).join(' / '),
      });
    }
    printTable(rows);
    const totalRss = (row: Record<string, string | number>) =>
      String(row['rss MB (per worker)'])
        .split(' / ')
        .map(Number)
        .reduce((a, b) => a + b, 0);
    const growth = rows.length > 1 ? (totalRss(rows.at(-1)!) / totalRss(rows[0]!) - 1) * 100 : 0;
    const errors = rows.reduce((a, r) => a + Number(r.errors), 0);
    console.log(`errors: ${errors}; RSS growth after warm-up: ${growth.toFixed(1)}%`);
    console.log(`written ${await writeResult('soak', { capacity, rate, rows, errors, rssGrowthPercent: growth })}`);
  } finally {
    served.killAll();
  }
});
