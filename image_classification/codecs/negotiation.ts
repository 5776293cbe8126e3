import Negotiator from 'negotiator';
import { NotAcceptableError } from '../errors';

/**
 * The Accept a request asks for: its header, or `defaultType` (SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT)
 * when it sent none, a blank one or a bare `*\/*`. The one place that rule is decided.
 */
export function acceptOrDefault(accept: string | undefined, defaultType: string): string {
  const trimmed = accept?.trim();
  return !trimmed || trimmed === '*/*' ? defaultType : trimmed;
}

/**
 * Pick a response type from an Accept header, honouring q-values and wildcards; wildcards
 * prefer `defaultType`, because it is listed first.
 */
export function negotiateResponseType<T extends string>(accept: string | undefined, available: readonly T[], defaultType: T): T {
  const asked = acceptOrDefault(accept, defaultType);
  const ordered = [defaultType, ...available.filter((type) => type !== defaultType)];
  const chosen = new Negotiator({ headers: { accept: asked } }).mediaType(ordered);
  if (!chosen) throw new NotAcceptableError(asked, ordered);
  return chosen as T;
}
