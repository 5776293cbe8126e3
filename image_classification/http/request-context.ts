import type { Request, Response } from 'express';
import type { RequestContext } from '../handler/api';

const CUSTOM_ATTRIBUTES = 'x-amzn-sagemaker-custom-attributes';

/** A header a hook sets must fit nginx's buffer for the worker's response headers (16 kB in all). */
const MAX_HANDLER_HEADER_BYTES = 4096;

/** The per-request context handed to every hook; built from this request alone. */
export function requestContext(req: Request, res: Response, modelDir: string, signal: AbortSignal): RequestContext {
  return Object.freeze({
    requestId: String(req.id),
    headers: req.headers,
    customAttributes: req.get(CUSTOM_ATTRIBUTES),
    modelDir,
    signal,
    setResponseHeader: (name: string, value: string) => {
      if (name.length + String(value).length > MAX_HANDLER_HEADER_BYTES) {
        throw new RangeError(`setResponseHeader: '${name.slice(0, 64)}' is over ${MAX_HANDLER_HEADER_BYTES} bytes`);
      }
      res.setHeader(name, value);
    },
  });
}
