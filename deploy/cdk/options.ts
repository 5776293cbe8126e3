import { z } from 'zod';
import type { Capacity } from '../sagemaker-requests';
import { targetInvocationsPerInstance } from './scaling';

/**
 * The stack's options as CDK context (`npx cdk deploy -c instanceType=ml.c5.xlarge`, or the
 * "context" of cdk.json): every value arrives as a string (or a JSON value from cdk.json), is
 * checked here, and becomes typed options; a malformed value stops the synth with its key named.
 */
const count = z.coerce.number().int().positive();
const kmsKeyArn = z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, 'a KMS key ARN');
/** The retention periods CloudWatch Logs accepts. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const context = z.object({
  stackName: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/)
    .default('ImageClassification'),
  /** Default: the stack name in kebab case, so two stages (two stack names) never share an endpoint, log group or alarm. */
  endpointName: z
    .string()
    .regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, 'SageMaker endpoint names: letters, digits, hyphens, ≤ 63')
    .optional(),
  /** An image already pushed (ECR); without it the Dockerfile is built (linux/amd64) and pushed as an asset. */
  imageUri: z.string().min(1).optional(),
  /** s3://bucket/key of a model.tar.gz; without it the shipped model/model.tar.gz is uploaded as an asset. */
  modelDataUrl: z
    .string()
    .regex(/^s3:\/\/[^/]+\/.+\.tar\.gz$/, 's3://bucket/key.tar.gz')
    .optional(),
  /** The key of a KMS-encrypted model bucket: the execution role may decrypt with it, through S3 only. */
  modelKmsKeyArn: kmsKeyArn.optional(),
  /** Encrypts the instances' storage volumes (instance endpoints whose type has no local NVMe storage). */
  volumeKmsKeyArn: kmsKeyArn.optional(),
  instanceType: z
    .string()
    .regex(/^ml\.[a-z0-9-]+\.[a-z0-9]+$/)
    .default('ml.m5.large'),
  /** Two by default: SageMaker places instances in different Availability Zones; 1 saves half the cost and loses that. */
  instanceCount: count.default(2),
  minInstances: count.optional(),
  maxInstances: count.default(4),
  /** Overrides the target derived from imagesPerSecondPerVcpu (scaling.ts). */
  targetInvocationsPerInstance: count.optional(),
  /** The measured throughput the scaling target derives from; pinned in cdk.json with its derivation. */
  imagesPerSecondPerVcpu: z.coerce.number().positive().optional(),
  /** Documentation only: how imagesPerSecondPerVcpu was measured (cdk.json). */
  imagesPerSecondPerVcpuDerivation: z.string().optional(),
  /** Set to make the endpoint serverless (1024–6144, in steps of 1024); no instances, no autoscaling policy. */
  serverlessMemoryMb: z.coerce.number().int().min(1024).max(6144).multipleOf(1024).optional(),
  serverlessMaxConcurrency: z.coerce.number().int().min(1).max(200).default(5),
  /** SAGEMAKER_MODEL_SERVER_WORKERS for the container (default: one per vCPU, the server's own default). */
  workers: count.optional(),
  /** The endpoint's log group keeps this many days (a value CloudWatch Logs accepts). */
  logRetentionDays: z.coerce
    .number()
    .int()
    .refine((days) => RETENTION_DAYS.includes(days), `one of ${RETENTION_DAYS.join(', ')}`)
    .default(30),
  /** Alarms (and roll a deployment back) when this share of invocations answers 5XX, 3 minutes running. */
  alarm5xxPercent: z.coerce.number().positive().max(100).default(5),
  /** Alarms (and roll a deployment back) when ModelLatency's p99 exceeds this, 3 minutes running. */
  alarmLatencyP99Ms: count.default(2000),
});

/** The context keys the app reads (CDK's own keys are left to CDK). */
export const CONTEXT_KEYS = Object.keys(context.shape);

export interface Scaling {
  readonly minInstances: number;
  readonly maxInstances: number;
  /** Invocations per instance per minute that Application Auto Scaling keeps the variant at. */
  readonly targetInvocationsPerInstance: number;
}

export interface Alarms {
  readonly errorPercent: number;
  readonly latencyP99Ms: number;
}

export interface EndpointOptions {
  readonly stackName: string;
  readonly endpointName: string;
  readonly imageUri?: string;
  readonly modelDataUrl?: string;
  readonly modelKmsKeyArn?: string;
  readonly volumeKmsKeyArn?: string;
  readonly capacity: Capacity;
  /** Absent for serverless endpoints, which SageMaker scales itself. */
  readonly scaling?: Scaling;
  readonly environment: Record<string, string>;
  readonly logRetentionDays: number;
  readonly alarms: Alarms;
}

/** ImageClassification-Prod → image-classification-prod. */
export function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/-+/g, '-')
    .toLowerCase();
}

function refuse(message: string): never {
  throw new Error(`invalid CDK context: ${message}`);
}

/** GPU and Inferentia/Trainium families (ml.g5, ml.p4d, ml.inf2), and Graviton ones (ml.c7g, ml.m6gd). */
const ACCELERATED = /^ml\.(p|g|inf|trn)\d/;
const GRAVITON = /^ml\.[a-z]+\d+g[a-z]*\./;

function scalingTarget(c: z.infer<typeof context>): number {
  if (c.targetInvocationsPerInstance) return c.targetInvocationsPerInstance;
  if (ACCELERATED.test(c.instanceType) || GRAVITON.test(c.instanceType)) {
    refuse(
      `${c.instanceType} is not an x86 CPU type, on which imagesPerSecondPerVcpu was measured: set targetInvocationsPerInstance from a measurement on it`,
    );
  }
  if (!c.imagesPerSecondPerVcpu) refuse('set imagesPerSecondPerVcpu (cdk.json) or targetInvocationsPerInstance');
  return targetInvocationsPerInstance(c.imagesPerSecondPerVcpu, c.instanceType);
}

/** Context values → options. */
export function endpointOptions(values: Record<string, unknown>): EndpointOptions {
  const parsed = context.safeParse(values);
  if (!parsed.success) refuse(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  const c = parsed.data;
  // The image built here is linux/amd64 (the Dockerfile's onnxruntime and sharp binaries are chosen for it).
  if (GRAVITON.test(c.instanceType) && !c.imageUri) refuse(`${c.instanceType} is Graviton (arm64): pass the imageUri of an arm64 image`);
  // Under 2 GB a serverless endpoint holds one worker's worst case, not two (docs/limits.md); its core count is not known here.
  const workers = c.workers ?? (c.serverlessMemoryMb !== undefined && c.serverlessMemoryMb < 2048 ? 1 : undefined);
  const environment: Record<string, string> = workers ? { SAGEMAKER_MODEL_SERVER_WORKERS: String(workers) } : {};
  const common = {
    stackName: c.stackName,
    endpointName: c.endpointName ?? kebabCase(c.stackName),
    ...(c.imageUri ? { imageUri: c.imageUri } : {}),
    ...(c.modelDataUrl ? { modelDataUrl: c.modelDataUrl } : {}),
    ...(c.modelKmsKeyArn ? { modelKmsKeyArn: c.modelKmsKeyArn } : {}),
    environment,
    logRetentionDays: c.logRetentionDays,
    alarms: { errorPercent: c.alarm5xxPercent, latencyP99Ms: c.alarmLatencyP99Ms },
  };
  if (c.serverlessMemoryMb) {
    if (c.volumeKmsKeyArn) refuse('volumeKmsKeyArn: a serverless endpoint has no volumes to encrypt');
    return { ...common, capacity: { kind: 'serverless', memoryMb: c.serverlessMemoryMb, maxConcurrency: c.serverlessMaxConcurrency } };
  }
  const minInstances = c.minInstances ?? c.instanceCount;
  if (minInstances > c.maxInstances || c.instanceCount > c.maxInstances) {
    refuse(`instanceCount ${c.instanceCount} and minInstances ${minInstances} must not exceed maxInstances ${c.maxInstances}`);
  }
  return {
    ...common,
    ...(c.volumeKmsKeyArn ? { volumeKmsKeyArn: c.volumeKmsKeyArn } : {}),
    capacity: { kind: 'instances', instanceType: c.instanceType, instanceCount: c.instanceCount },
    scaling: { minInstances, maxInstances: c.maxInstances, targetInvocationsPerInstance: scalingTarget(c) },
  };
}
