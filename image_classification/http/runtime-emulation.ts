import type { RequestHandler, Response } from 'express';
import type { HttpErrorBody } from '../errors';

/**
 * Local emulation of the SageMaker Runtime InvokeEndpoint API, so the real AWS SDK client
 * (`new SageMakerRuntimeClient({ endpoint: 'http://localhost:8080' })`) and the Lambda run
 * against this container unchanged. The container's answer is passed through; like a real
 * endpoint, a container error becomes a `ModelError` (424) carrying the original status.
 */

export const RUNTIME_PATH = '/endpoints/:endpointName/invocations';
const TARGET_VARIANT = 'x-amzn-sagemaker-target-variant';
const INFERENCE_ID = 'x-amzn-sagemaker-inference-id';

export function isRuntimeRequest(res: Response): boolean {
  return res.locals.sagemakerRuntime === true;
}

export const runtimeEmulation: RequestHandler = (req, res, next) => {
  res.locals.sagemakerRuntime = true;
  res.setHeader('x-Amzn-Invoked-Production-Variant', req.get(TARGET_VARIANT) ?? 'AllTraffic');
  const inferenceId = req.get(INFERENCE_ID);
  if (inferenceId) res.setHeader(INFERENCE_ID, inferenceId);
  next();
};

/** SageMaker's ModelError, as the AWS SDK deserialises it (x-amzn-ErrorType + message). */
export function sendModelError(res: Response, status: number, body: HttpErrorBody): void {
  const kind = status < 500 ? 'client' : 'server';
  res
    .status(424)
    .setHeader('x-amzn-ErrorType', 'ModelError')
    .json({
      message: `Received ${kind} error (${status}) from primary with message "${body.error.message}".`,
      OriginalStatusCode: status,
      OriginalMessage: JSON.stringify(body),
    });
}
