import { parse as parseContentType } from 'content-type';
import { UnsupportedMediaTypeError } from '../errors';

/** What a request body holds, as the built-in input decoder sees it. */
export type InputKind = 'image' | 'multipart' | 'json' | 'csv' | 'npy' | 'npz';

const IMAGE_TYPES = new Set(['application/x-image', 'application/octet-stream']);
const TENSOR_TYPES: Record<string, InputKind> = { 'text/csv': 'csv', 'application/x-npy': 'npy', 'application/x-npz': 'npz' };

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
  // A batch transform's records (codecs/records.ts): one request per line.
  'application/jsonlines',
  'text/csv',
  'application/x-npy',
  'application/x-npz',
] as const;

/**
 * The bare media type, lower-cased, parameters (`; charset=utf-8`, `; boundary=…`) dropped,
 * so `Application/JSON; charset=UTF-8` is JSON (the toolkit compares the raw string).
 */
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
  const tensor = TENSOR_TYPES[type];
  if (tensor) return tensor;
  throw new UnsupportedMediaTypeError(type, SUPPORTED_CONTENT_TYPES);
}
