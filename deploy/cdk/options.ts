import { z } from 'zod';
import type { Capacity } from '../sagemaker-requests';
import { targetInvocationsPerInstance } from './scaling';

/**
 * The stack's options as CDK context (`npx cdk deploy -c instanceType=ml.c5.xlarge`, or the
 * "context" of cdk.json): every value arrives as a string, is checked here, and becomes typed
 * options; a malformed value stops the synth with its key named.
 */
const count = z.coerce.number().int().positive();
const context = z.object({
  stackName: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/)
    .default('ImageClassification'),
  endpointName: z
    .string()
    .regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, 'SageMaker endpoint names: letters, digits, hyphens, ≤ 63')
    .default('image-classification'),
  /** An image already pushed (ECR); without it the Dockerfile is built and pushed as an asset. */
  imageUri: z.string().min(1).optional(),
  /** s3://bucket/key of a model.tar.gz; without it the shipped model/model.tar.gz is uploaded as an asset. */
  modelDataUrl: z
    .string()
    .regex(/^s3:\/\/[^/]+\/.+\.tar\.gz$/, 's3://bucket/key.tar.gz')
    .optional(),
  instanceType: z
    .string()
    .regex(/^ml\.[a-z0-9-]+\.[a-z0-9]+$/)
    .default('ml.m5.large'),
  instanceCount: count.default(1),
  minInstances: count.optional(),
  maxInstances: count.default(4),
  /** Overrides the target derived from the measured throughput (scaling.ts). */
  targetInvocationsPerInstance: count.optional(),
  /** Set to make the endpoint serverless (1024–6144, in steps of 1024); no instances, no autoscaling policy. */
  serverlessMemoryMb: z.coerce.number().int().min(1024).max(6144).multipleOf(1024).optional(),
  serverlessMaxConcurrency: z.coerce.number().int().min(1).max(200).default(5),
  /** SAGEMAKER_MODEL_SERVER_WORKERS for the container (default: one per vCPU, the server's own default). */
  workers: count.optional(),
});

/** The context keys the app reads (CDK's own keys are left to CDK). */
export const CONTEXT_KEYS = Object.keys(context.shape);

export interface Scaling {
  readonly minInstances: number;
  readonly maxInstances: number;
  /** Invocations per instance per minute that Application Auto Scaling keeps the variant at. */
  readonly targetInvocationsPerInstance: number;
}

export interface EndpointOptions {
  readonly stackName: string;
  readonly endpointName: string;
  readonly imageUri?: string;
  readonly modelDataUrl?: string;
  readonly capacity: Capacity;
  /** Absent for serverless endpoints, which SageMaker scales itself. */
  readonly scaling?: Scaling;
  readonly environment: Record<string, string>;
}

/** Context values → options; `imagesPerSecondPerVcpu` is the measured throughput the scaling target derives from. */
export function endpointOptions(values: Record<string, unknown>, imagesPerSecondPerVcpu: number): EndpointOptions {
  const parsed = context.safeParse(values);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid CDK context: ${problems.join('; ')}`);
  }
  const c = parsed.data;
  const environment: Record<string, string> = c.workers ? { SAGEMAKER_MODEL_SERVER_WORKERS: String(c.workers) } : {};
  const common = {
    stackName: c.stackName,
    endpointName: c.endpointName,
    ...(c.imageUri ? { imageUri: c.imageUri } : {}),
    ...(c.modelDataUrl ? { modelDataUrl: c.modelDataUrl } : {}),
    environment,
  };
  if (c.serverlessMemoryMb) {
    return { ...common, capacity: { kind: 'serverless', memoryMb: c.serverlessMemoryMb, maxConcurrency: c.serverlessMaxConcurrency } };
  }
  const minInstances = c.minInstances ?? c.instanceCount;
  if (minInstances > c.maxInstances || c.instanceCount > c.maxInstances) {
    throw new Error(
      `invalid CDK context: instanceCount ${c.instanceCount} and minInstances ${minInstances} must not exceed maxInstances ${c.maxInstances}`,
    );
  }
  return {
    ...common,
    capacity: { kind: 'instances', instanceType: c.instanceType, instanceCount: c.instanceCount },
    scaling: {
      minInstances,
      maxInstances: c.maxInstances,
      targetInvocationsPerInstance: c.targetInvocationsPerInstance ?? targetInvocationsPerInstance(imagesPerSecondPerVcpu, c.instanceType),
    },
  };
}
