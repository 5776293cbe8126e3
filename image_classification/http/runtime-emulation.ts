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
/** SageMaker's own constraints on these names; anything else is not echoed. */
const VARIANT_NAME = /^[A-Za-z0-9](?:-*[A-Za-z0-9]){0,62}$/;
const ECHOABLE_INFERENCE_ID = /^[\x21-\x7e][\x20-\x7e]{0,63}$/;

export function isRuntimeRequest(res: Response): boolean {
  return res.locals.sagemakerRuntime === true;
}

export const runtimeEmulation: RequestHandler = (req, res, next) => {
  res.locals.sagemakerRuntime = true;
  const variant = req.get(TARGET_VARIANT);
  res.setHeader('x-Amzn-Invoked-Production-Variant', variant && VARIANT_NAME.test(variant) ? variant : 'AllTraffic');
  const inferenceId = req.get(INFERENCE_ID);
  if (inferenceId && ECHOABLE_INFERENCE_ID.test(inferenceId)) res.setHeader(INFERENCE_ID, inferenceId);
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
