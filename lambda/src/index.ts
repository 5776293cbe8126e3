import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { invokeWithTestImage, type InvokerResult } from './invoker';

/**
 * Lambda entry point (runtime nodejs24.x, handler `index.handler`).
 * Env: BUCKET_NAME, SAGEMAKER_ENDPOINT_NAME (or ENDPOINT_NAME). Clients are created once per
 * container; the SDK's own AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME variables
 * point them at a local S3 server or a local container (S3_FORCE_PATH_STYLE=true for S3
 * servers without virtual-host buckets).
 */
const s3 = new S3Client({ forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true' });
const runtime = new SageMakerRuntimeClient({});

export async function handler(event: unknown): Promise<InvokerResult> {
  const result = await invokeWithTestImage(event, {
    s3,
    runtime,
    bucket: process.env.BUCKET_NAME,
    endpointName: process.env.SAGEMAKER_ENDPOINT_NAME ?? process.env.ENDPOINT_NAME,
  });
  console.log(JSON.stringify(result));
  return result;
}
