import { NotAcceptableError } from '../errors';
import { encodeCsv } from './csv';
import { fromNested, isNdArray, toNested, type NdArray } from './ndarray';
import { encodeNpy } from './npy';

/** Response media types the built-in output encoder writes; the first is the usual default. */
export const RESPONSE_TYPES = ['application/json', 'text/csv', 'application/x-npy'] as const;
export type ResponseType = (typeof RESPONSE_TYPES)[number];

/**
 * A prediction that knows its own encodings (the classifier's labelled rows): its JSON
 * (`toJSON`, which JSON.stringify calls), its CSV with a header, and its numbers for NPY.
 */
export interface SelfEncoding {
  toJSON(): unknown;
  toCsv(): string;
  toNdArray(): NdArray;
}

function isSelfEncoding(value: unknown): value is SelfEncoding {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof SelfEncoding, unknown>>;
  return typeof candidate.toJSON === 'function' && typeof candidate.toCsv === 'function' && typeof candidate.toNdArray === 'function';
}

/** A handler's numeric answer (an NdArray or nested number lists) as an NdArray, for CSV/NPY. */
function asNdArray(value: unknown, type: ResponseType): NdArray {
  if (isNdArray(value)) return value;
  if (isSelfEncoding(value)) return value.toNdArray();
  try {
    return fromNested(value, 'the prediction');
  } catch {
    throw new NotAcceptableError(type, ['application/json'], 'this prediction is not a numeric array');
  }
}

/** JSON for anything: NdArrays become nested lists (also inside objects), under `predictions` when bare. */
function toJson(value: unknown): string {
  if (isNdArray(value)) return JSON.stringify({ predictions: toNested(value) });
  return JSON.stringify(value, (_key, item: unknown) =>
    isNdArray(item) ? toNested(item) : typeof item === 'bigint' ? Number(item) : item,
  );
}

/** The built-in output encoder: a prediction (the classifier's or a handler's) in `type`. */
export function encodePrediction(value: unknown, type: ResponseType): string | Buffer {
  if (type === 'application/json') return toJson(value);
  if (type === 'text/csv') return isSelfEncoding(value) ? value.toCsv() : encodeCsv(asNdArray(value, type));
  return encodeNpy(asNdArray(value, type));
}
