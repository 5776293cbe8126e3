import { z } from 'zod';

/**
 * The autoscaling target, from this server's measured throughput rather than a guess:
 * `npm run bench` records the images/s the served endpoint answers (bench/results/bench.json);
 * per vCPU, times the instance type's vCPUs, per minute (SageMakerVariantInvocationsPerInstance
 * counts a minute), times a safety factor. 0.5 is the factor AWS's SageMaker autoscaling guide
 * starts from: scale out at half of what one instance can answer, so latency holds while new
 * instances start (minutes).
 */
const SAFETY_FACTOR = 0.5;

const benchResults = z.object({
  machine: z.object({ cpus: z.number().int().positive() }),
  product: z.object({
    load: z.array(z.object({ seconds: z.number().positive(), ok: z.number(), otherErrors: z.number(), timeouts: z.number() })).min(1),
  }),
});

/** The best answered images/s per vCPU across the bench's concurrencies, counting runs without errors only. */
export function measuredImagesPerSecondPerVcpu(bench: unknown): number {
  const { machine, product } = benchResults.parse(bench);
  const clean = product.load.filter((run) => run.otherErrors === 0 && run.timeouts === 0);
  if (clean.length === 0) throw new Error('bench results have no load run without errors');
  return Math.max(...clean.map((run) => run.ok / run.seconds)) / machine.cpus;
}

/** vCPUs of an ml.* instance type by its size: medium and large 2, xlarge 4, Nxlarge 4N. */
function vcpusOf(instanceType: string): number {
  const size = /^ml\.[a-z0-9-]+\.(medium|large|(\d*)xlarge)$/.exec(instanceType);
  if (!size) throw new Error(`cannot tell the vCPUs of instance type '${instanceType}': set targetInvocationsPerInstance`);
  if (size[1] === 'medium' || size[1] === 'large') return 2;
  return 4 * Number(size[2] || 1);
}

export function targetInvocationsPerInstance(imagesPerSecondPerVcpu: number, instanceType: string): number {
  return Math.max(1, Math.floor(imagesPerSecondPerVcpu * vcpusOf(instanceType) * 60 * SAFETY_FACTOR));
}
