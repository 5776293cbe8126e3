import { parse as parseContentType } from 'content-type';
import { UnsupportedMediaTypeError } from '../errors';

/** How a request body carries its image(s). */
export type InputKind = 'image' | 'multipart' | 'json';

const IMAGE_TYPES = new Set(['application/x-image', 'application/octet-stream']);

/** What the 415 message lists; any `image/*` subtype sharp can decode is accepted too. */
export const SUPPORTED_CONTENT_TYPES = [
  'application/x-image',
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/*',
  'application/octet-stream',
  'multipart/form-data',
  'application/json',
] as const;

/** The bare media type, lower-cased, parameters (`; charset=utf-8`, `; boundary=…`) dropped. */
export function mediaTypeOf(header: string | undefined): string | undefined {
  if (!header?.trim()) return undefined;
  try {
    return parseContentType(header).type;
  } catch {
    throw new UnsupportedMediaTypeError(header, SUPPORTED_CONTENT_TYPES);
  }
}

export function inputKindOf(header: string | undefined): InputKind {
  const type = mediaTypeOf(header);
  if (type === undefined) throw new UnsupportedMediaTypeError('(none)', SUPPORTED_CONTENT_TYPES);
  if (IMAGE_TYPES.has(type) || type.startsWith('image/')) return 'image';
  if (type === 'multipart/form-data') return 'multipart';
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  throw new UnsupportedMediaTypeError(type, SUPPORTED_CONTENT_TYPES);
}
