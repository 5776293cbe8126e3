import type { ComputeLimit } from './compute-limit';
import type { ImageCost } from './decode-floor';
import type { LoadResult } from './load';
import type { MetricsCost } from './metrics-cost';
import type { ModelAlone } from './model-alone';
import type { Comparison, ProductRun } from './product';

/** The serving targets, each as measured / goal / met, from one bench run. */
export interface TargetCheck {
  readonly name: string;
  readonly measured: string;
  readonly goal: string;
  readonly met: boolean;
}

export interface BenchRun {
  readonly compute: ComputeLimit;
  readonly floatCompute: ComputeLimit;
  readonly modelAlone: ModelAlone;
  readonly imageCosts: ImageCost[];
  readonly naive: LoadResult[];
  readonly product: ProductRun;
  readonly metricsCost: MetricsCost;
  readonly baseline: Comparison | undefined;
}

const at = (runs: LoadResult[], c: number) => runs.find((r) => r.connections === c);
const round = (value: number, digits = 2) => String(Math.round(value * 10 ** digits) / 10 ** digits);

function ratioCheck(name: string, value: number, goal: number): TargetCheck {
  return { name, measured: round(value), goal: `>= ${goal}`, met: value >= goal };
}

function throughputChecks({ compute, floatCompute, modelAlone, naive, product, baseline }: BenchRun): TargetCheck[] {
  const checks = [
    ratioCheck('compute limit, shipped int8 / float32 export', compute.best.imagesPerSecond / floatCompute.best.imagesPerSecond, 2),
  ];
  const p16 = at(product.load, 16);
  const n16 = at(naive, 16);
  if (p16) {
    checks.push(ratioCheck('c=16 throughput / compute limit', p16.rps / compute.best.imagesPerSecond, 0.9));
    checks.push(ratioCheck('c=16 throughput / the model alone', p16.rps / modelAlone.imagesPerSecond, 0.5));
    if (n16) {
      checks.push(ratioCheck('c=16 throughput / naive serving float32', p16.rps / n16.rps, 2));
      checks.push({
        name: 'c=16 p99, product vs naive (ms)',
        measured: `${p16.p99} vs ${n16.p99}`,
        goal: 'no worse',
        met: p16.p99 <= n16.p99,
      });
    }
    checks.push({ name: 'c=16 p99 / p50', measured: round(p16.p99 / p16.p50), goal: '<= 2.5', met: p16.p99 <= 2.5 * p16.p50 });
  }
  const best = Math.max(...[4, 16].map((c) => at(product.load, c)?.rps ?? 0));
  const p64 = at(product.load, 64);
  if (p64 && best > 0) checks.push(ratioCheck('c=64 throughput / best of c=4, c=16 (sweep)', p64.rps / best, 0.95));
  const mean = (c: number) => (product.alternating[c] ?? []).reduce((sum, rps, _i, all) => sum + rps / all.length, 0);
  const alternatingBest = Math.max(mean(4), mean(16));
  if (alternatingBest > 0) {
    checks.push(ratioCheck('c=64 throughput / best of c=4, c=16 (alternating rounds)', mean(64) / alternatingBest, 0.95));
  }
  if (baseline) checks.push(ratioCheck('c=16 throughput / the baseline release (alternating rounds)', baseline.ratio, 2));
  const p1 = at(product.load, 1);
  if (p1) {
    const goal = compute.singleImageMs + 3;
    checks.push({ name: 'c=1 p50 (ms)', measured: String(p1.p50), goal: `<= ${round(goal, 1)} (one image + 3 ms)`, met: p1.p50 <= goal });
  }
  return checks;
}

function imageCostChecks(costs: ImageCost[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const twelveMegapixel: Record<string, string> = { phone: '12 MP photo', portrait: '12 MP portrait photo (EXIF-oriented)' };
  for (const cost of costs.filter((c) => c.tjbenchMs !== undefined && !(c.name in twelveMegapixel))) {
    const ratio = cost.preprocessMs / cost.tjbenchMs!;
    checks.push({
      name: `${cost.name} photo: decode + preprocess / tjbench decode`,
      measured: round(ratio),
      goal: '<= 2',
      met: ratio <= 2,
    });
  }
  const small = costs.find((c) => c.name === 'small');
  for (const large of costs.filter((c) => c.name in twelveMegapixel)) {
    if (!small) break;
    const ratio = large.preprocessMs / small.preprocessMs;
    const name = `${twelveMegapixel[large.name]} / 640x480 photo, decode + preprocess`;
    checks.push({ name, measured: round(ratio), goal: '<= 3', met: ratio <= 3 });
  }
  return checks;
}

function resourceChecks({ product, metricsCost }: BenchRun): TargetCheck[] {
  const errors = product.load.reduce((sum, r) => sum + (r.requests - r.ok), 0);
  const afterRuns = [product.rssAfter, ...product.rssRepeated];
  const peak = Math.max(...afterRuns.flat());
  const growth = Math.max(...product.rssRepeated.map((rss) => Math.max(...rss.map((mb, i) => mb / product.rssAfter[i]!)) - 1));
  return [
    { name: 'errors, all concurrencies', measured: String(errors), goal: '0', met: errors === 0 },
    { name: 'cold start (ms)', measured: String(product.coldStartMs), goal: '<= 2000', met: product.coldStartMs <= 2000 },
    {
      name: 'RSS per worker after model load (MB)',
      measured: product.rssBefore.join('/'),
      goal: '<= 200',
      met: Math.max(...product.rssBefore) <= 200,
    },
    {
      name: 'RSS per worker after the load runs, idle (MB)',
      measured: afterRuns.map((rss) => rss.join('/')).join(', '),
      goal: '<= 200, flat across runs (+10%)',
      met: peak <= 200 && growth <= 0.1,
    },
    {
      name: 'c=16 throughput cost of metrics + Server-Timing',
      measured: `${round(100 * metricsCost.cost, 1)}%`,
      goal: '<= 2%',
      met: metricsCost.cost <= 0.02,
    },
  ];
}

export function evaluateTargets(run: BenchRun): TargetCheck[] {
  return [...throughputChecks(run), ...imageCostChecks(run.imageCosts), ...resourceChecks(run)];
}
