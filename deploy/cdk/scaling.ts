/**
 * The autoscaling target, from this server's measured throughput rather than a guess: the
 * images/s per vCPU pinned in cdk.json (imagesPerSecondPerVcpu, with how it was measured),
 * times the instance type's vCPUs, per minute (SageMakerVariantInvocationsPerInstance counts a
 * minute), times a safety factor. 0.5 is the factor AWS's SageMaker autoscaling guide starts
 * from: scale out at half of what one instance can answer, so latency holds while new
 * instances start (minutes).
 */
const SAFETY_FACTOR = 0.5;

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
