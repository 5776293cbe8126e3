import type { RequestHandler } from 'express';

/**
 * GET /execution-parameters, which a batch transform job asks before it starts when its own
 * settings leave them open: one concurrent transform per worker, many records per request
 * (SplitType=Line; docs/multi-model.md, "Batch transform"), and the payload limit in whole MB.
 */
export function executionParameters(config: { workers: number; maxPayloadMb: number }): RequestHandler {
  const body = {
    MaxConcurrentTransforms: config.workers,
    BatchStrategy: 'MULTI_RECORD',
    MaxPayloadInMB: Math.max(1, Math.floor(config.maxPayloadMb)),
  };
  return (_req, res) => {
    res.json(body);
  };
}
