import Negotiator from 'negotiator';
import { NotAcceptableError } from '../errors';
import { ENCODERS, type ResponseType } from '../codecs/encoders';

const AVAILABLE = Object.keys(ENCODERS) as ResponseType[];

/**
 * Pick the response type from an Accept header, honouring q-values and wildcards. No Accept
 * (or a blank one) means JSON, the first and default type.
 */
export function negotiateResponseType(accept: string | undefined): ResponseType {
  if (!accept?.trim()) return AVAILABLE[0]!;
  const chosen = new Negotiator({ headers: { accept } }).mediaType(AVAILABLE);
  if (!chosen) throw new NotAcceptableError(accept, AVAILABLE);
  return chosen as ResponseType;
}
