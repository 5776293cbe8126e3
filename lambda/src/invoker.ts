import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { InvokeEndpointCommand, ModelError, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';

/**
 * The endpoint smoke test: fetch a test image from S3, send it to the SageMaker endpoint as
 * `application/x-image`, and return the top class. Every failure comes back as a value with a
 * clear code and message; nothing is thrown out of the handler.
 */

export interface InvokerEvent {
  /** Object key of the test image. */
  key?: string;
  /** The seed workshop's event shape: `{"paper image": "<key>"}`. */
  'paper image'?: string;
  /** Overrides BUCKET_NAME for this call. */
  bucket?: string;
  /** Overrides the Content-Type sent to the endpoint (default application/x-image). */
  contentType?: string;
}

export interface InvokerSuccess {
  class: string;
  probability: number;
  probabilities: Record<string, number>;
  latencyMs: number;
  endpoint: string;
  key: string;
}

export interface InvokerFailure {
  error: { code: string; message: string; status?: number };
}

export type InvokerResult = InvokerSuccess | InvokerFailure;

export interface InvokerDeps {
  readonly s3: S3Client;
  readonly runtime: SageMakerRuntimeClient;
  readonly bucket: string | undefined;
  readonly endpointName: string | undefined;
}

const fail = (code: string, message: string, status?: number): InvokerFailure => ({
  error: { code, message, ...(status ? { status } : {}) },
});

function keyOf(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const { key, 'paper image': workshopKey } = event as InvokerEvent;
  const chosen = key ?? workshopKey;
  return typeof chosen === 'string' && chosen.length > 0 ? chosen : undefined;
}

function describeSdkError(error: unknown, what: string): InvokerFailure {
  if (error instanceof ModelError) {
    return fail(
      'ModelError',
      `the model container answered ${error.OriginalStatusCode}: ${error.OriginalMessage ?? error.message}`,
      error.OriginalStatusCode,
    );
  }
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return fail(e.name ?? 'Error', `${what} failed: ${e.message ?? String(error)}`, e.$metadata?.httpStatusCode);
}

function parsePrediction(body: Uint8Array): Omit<InvokerSuccess, 'latencyMs' | 'endpoint' | 'key'> | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(body).toString('utf8')) as { predictions?: unknown };
    const prediction = (Array.isArray(parsed.predictions) ? parsed.predictions[0] : parsed.predictions) as InvokerSuccess | undefined;
    if (typeof prediction?.class !== 'string' || typeof prediction.probability !== 'number') return undefined;
    return { class: prediction.class, probability: prediction.probability, probabilities: prediction.probabilities };
  } catch {
    return undefined;
  }
}

export async function invokeWithTestImage(event: unknown, deps: InvokerDeps): Promise<InvokerResult> {
  const key = keyOf(event);
  if (!key) return fail('BadEvent', 'the event must be {"key": "<object key>"} (or the workshop\'s {"paper image": "<object key>"})');
  const bucket = (event as InvokerEvent).bucket ?? deps.bucket;
  if (!bucket) return fail('Misconfigured', 'set BUCKET_NAME (or pass "bucket" in the event)');
  if (!deps.endpointName) return fail('Misconfigured', 'set SAGEMAKER_ENDPOINT_NAME (or ENDPOINT_NAME)');

  let image: Uint8Array;
  try {
    const object = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    image = await object.Body!.transformToByteArray();
  } catch (error) {
    if (error instanceof NoSuchKey) return fail('NoSuchKey', `s3://${bucket}/${key} does not exist`, 404);
    return describeSdkError(error, `reading s3://${bucket}/${key}`);
  }

  const started = performance.now();
  try {
    const response = await deps.runtime.send(
      new InvokeEndpointCommand({
        EndpointName: deps.endpointName,
        ContentType: (event as InvokerEvent).contentType ?? 'application/x-image',
        Accept: 'application/json',
        Body: image,
      }),
    );
    const latencyMs = Math.round(performance.now() - started);
    const prediction = response.Body && parsePrediction(response.Body);
    if (!prediction)
      return fail('InvalidResponse', `endpoint ${deps.endpointName} answered without a {"predictions": {"class": ...}} body`);
    return { ...prediction, latencyMs, endpoint: deps.endpointName, key };
  } catch (error) {
    return describeSdkError(error, `InvokeEndpoint ${deps.endpointName}`);
  }
}
