import type { ComputeLimit } from './compute-limit';
import type { LoadResult } from './load';
import type { MetricsCost } from './metrics-cost';

/** The serving targets (issues #7, #12 and #14), each as measured / goal / met, from one bench run. */
export interface TargetCheck {
  readonly name: string;
  readonly measured: string;
  readonly goal: string;
  readonly met: boolean;
}

interface ProductRun {
  readonly coldStartMs: number;
  readonly rssBefore: number[];
  readonly rssAfter: number[];
  readonly load: LoadResult[];
}

const at = (runs: LoadResult[], c: number) => runs.find((r) => r.connections === c);
const round = (value: number, digits = 2) => String(Math.round(value * 10 ** digits) / 10 ** digits);

export function evaluateTargets(
  compute: ComputeLimit,
  floatCompute: ComputeLimit,
  naive: LoadResult[],
  product: ProductRun,
  metricsCost: MetricsCost,
): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const int8Gain = compute.best.imagesPerSecond / floatCompute.best.imagesPerSecond;
  checks.push({ name: 'compute limit, shipped int8 / float32 export', measured: round(int8Gain), goal: '>= 2', met: int8Gain >= 2 });
  const p16 = at(product.load, 16);
  const n16 = at(naive, 16);
  const p1 = at(product.load, 1);
  if (p16) {
    const ofLimit = p16.rps / compute.best.imagesPerSecond;
    checks.push({ name: 'c=16 throughput / compute limit', measured: round(ofLimit), goal: '>= 0.9', met: ofLimit >= 0.9 });
    if (n16) {
      checks.push({
        name: 'c=16 throughput / naive serving float32',
        measured: round(p16.rps / n16.rps),
        goal: '>= 2',
        met: p16.rps / n16.rps >= 2,
      });
      checks.push({
        name: 'c=16 p99, product vs naive (ms)',
        measured: `${p16.p99} vs ${n16.p99}`,
        goal: 'no worse',
        met: p16.p99 <= n16.p99,
      });
    }
    checks.push({ name: 'c=16 p99 / p50', measured: round(p16.p99 / p16.p50), goal: '<= 2.5', met: p16.p99 <= 2.5 * p16.p50 });
  }
  if (p1) {
    const goal = compute.singleImageMs + 3;
    checks.push({ name: 'c=1 p50 (ms)', measured: String(p1.p50), goal: `<= ${round(goal, 1)} (one image + 3 ms)`, met: p1.p50 <= goal });
  }
  const errors = product.load.reduce((sum, r) => sum + (r.requests - r.ok), 0);
  checks.push({ name: 'errors, all concurrencies', measured: String(errors), goal: '0', met: errors === 0 });
  checks.push({ name: 'cold start (ms)', measured: String(product.coldStartMs), goal: '<= 2000', met: product.coldStartMs <= 2000 });
  const loaded = Math.max(...product.rssBefore);
  checks.push({ name: 'RSS per worker after model load (MB)', measured: product.rssBefore.join('/'), goal: '<= 200', met: loaded <= 200 });
  checks.push({
    name: 'RSS per worker after the load run (MB)',
    measured: product.rssAfter.join('/'),
    goal: '<= 200, flat (+10%)',
    met: Math.max(...product.rssAfter) <= 200 && product.rssAfter.every((after, i) => after <= product.rssBefore[i]! * 1.1),
  });
  checks.push({
    name: 'c=16 throughput cost of metrics + Server-Timing',
    measured: `${round(100 * metricsCost.cost, 1)}%`,
    goal: '<= 2%',
    met: metricsCost.cost <= 0.02,
  });
  return checks;
}
