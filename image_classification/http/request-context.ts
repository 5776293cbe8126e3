import type { Request, Response } from 'express';
import type { RequestContext } from '../handler/api';

const CUSTOM_ATTRIBUTES = 'x-amzn-sagemaker-custom-attributes';

/** The per-request context handed to every hook; built from this request alone. */
export function requestContext(req: Request, res: Response, modelDir: string): RequestContext {
  return Object.freeze({
    requestId: String(req.id),
    headers: req.headers,
    customAttributes: req.get(CUSTOM_ATTRIBUTES),
    modelDir,
    setResponseHeader: (name: string, value: string) => {
      res.setHeader(name, value);
    },
  });
}
