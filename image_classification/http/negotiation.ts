import Negotiator from 'negotiator';
import { NotAcceptableError } from '../errors';

/**
 * Pick a response type from an Accept header, honouring q-values and wildcards. No Accept,
 * a blank one or a bare `*\/*` means `defaultType` (SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT);
 * wildcards prefer it too, because it is listed first.
 */
export function negotiateResponseType<T extends string>(accept: string | undefined, available: readonly T[], defaultType: T): T {
  if (!accept?.trim()) return defaultType;
  const ordered = [defaultType, ...available.filter((type) => type !== defaultType)];
  const chosen = new Negotiator({ headers: { accept } }).mediaType(ordered);
  if (!chosen) throw new NotAcceptableError(accept, ordered);
  return chosen as T;
}
