import path from 'node:path';
import sharp from 'sharp';
import { ROOT } from '../harness/env';
import type { LoadResult } from './load';

/**
 * bench/results/bench.png: throughput and p50/p99 latency against concurrency for the product
 * and the naive baseline, with the compute limit as a rule. Vega-Lite renders SVG; sharp
 * (librsvg) turns it into a PNG.
 */
export async function renderChart(naive: LoadResult[], product: LoadResult[], computeLimit: number): Promise<string> {
  // Both are ES modules (vega with top-level await): import(), not require().
  const vega = await import('vega');
  const { compile } = await import('vega-lite');
  const series = [...naive.map((r) => ({ server: 'naive', ...r })), ...product.map((r) => ({ server: 'product', ...r }))];
  const latency = series.flatMap((r) => [
    { server: `${r.server} p50`, connections: r.connections, ms: r.p50 },
    { server: `${r.server} p99`, connections: r.connections, ms: r.p99 },
  ]);
  const x = { field: 'connections', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'concurrent connections' } as const;
  const spec = compile({
    hconcat: [
      {
        title: 'Throughput (dashed: compute limit)',
        width: 360,
        height: 260,
        layer: [
          {
            data: { values: series },
            mark: { type: 'line', point: true },
            encoding: { x, y: { field: 'rps', type: 'quantitative', title: 'images / s' }, color: { field: 'server' } },
          },
          {
            data: { values: [{ limit: computeLimit }] },
            mark: { type: 'rule', strokeDash: [4, 4] },
            encoding: { y: { field: 'limit', type: 'quantitative' } },
          },
        ],
      },
      {
        title: 'Latency',
        width: 360,
        height: 260,
        data: { values: latency },
        mark: { type: 'line', point: true },
        encoding: { x, y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'ms (log)' }, color: { field: 'server' } },
      },
    ],
    config: { background: 'white' },
  }).spec;
  const svg = await new vega.View(vega.parse(spec), { renderer: 'none' }).toSVG();
  const file = path.join(ROOT, 'bench', 'results', 'bench.png');
  await sharp(Buffer.from(svg)).png().toFile(file);
  return file;
}
