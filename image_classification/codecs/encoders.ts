import { NotAcceptableError } from '../errors';
import type { ClassPrediction } from '../postprocess/classify';
import { encodeCsv } from './csv';
import { fromNested, isNdArray, ndarray, toNested, type NdArray } from './ndarray';
import { encodeNpy } from './npy';

/** Response media types the built-in output encoder writes; the first is the usual default. */
export const RESPONSE_TYPES = ['application/json', 'text/csv', 'application/x-npy'] as const;
export type ResponseType = (typeof RESPONSE_TYPES)[number];

/** The built-in classifier's answer: one row per image, a list when the client sent a list. */
export class Classifications {
  constructor(
    readonly rows: readonly ClassPrediction[],
    readonly isList: boolean,
    readonly labels: readonly string[],
  ) {}

  /** `[images, classes]` probabilities (`[classes]` for a single image), label order. */
  toNdArray(): NdArray {
    const data = Float32Array.from(this.rows.flatMap((row) => this.labels.map((label) => row.probabilities[label]!)));
    return ndarray('float32', this.isList ? [this.rows.length, this.labels.length] : [this.labels.length], data);
  }
}

/**
 * One CSV cell. A name starting with `=`, `+`, `-`, `@` or a tab is a formula to a
 * spreadsheet (CSV injection): it is prefixed with `'`, as OWASP advises. Numbers are left alone.
 */
function csvField(value: string | number): string {
  const text = typeof value === 'string' && /^[=+\-@\t\r]/.test(value) ? `'${value}` : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One header row (`class,probability,<labels…>`), then one row per image. */
function classificationsCsv({ rows, labels }: Classifications): string {
  const lines = [['class', 'probability', ...labels].map(csvField).join(',')];
  for (const row of rows) {
    lines.push([row.class, row.probability, ...labels.map((label) => row.probabilities[label]!)].map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** A handler's numeric answer (an NdArray or nested number lists) as an NdArray, for CSV/NPY. */
function asNdArray(value: unknown, type: ResponseType): NdArray {
  if (isNdArray(value)) return value;
  if (value instanceof Classifications) return value.toNdArray();
  try {
    return fromNested(value, 'the prediction');
  } catch {
    throw new NotAcceptableError(type, ['application/json'], 'this prediction is not a numeric array');
  }
}

/** JSON for anything: NdArrays become nested lists (also inside objects), classes keep their shape. */
function toJson(value: unknown): string {
  if (value instanceof Classifications) return JSON.stringify({ predictions: value.isList ? value.rows : value.rows[0] });
  if (isNdArray(value)) return JSON.stringify({ predictions: toNested(value) });
  return JSON.stringify(value, (_key, item: unknown) => (isNdArray(item) ? toNested(item) : typeof item === 'bigint' ? Number(item) : item));
}

/** The built-in output encoder: a prediction (the classifier's or a handler's) in `type`. */
export function encodePrediction(value: unknown, type: ResponseType): string | Buffer {
  if (type === 'application/json') return toJson(value);
  if (type === 'text/csv') return value instanceof Classifications ? classificationsCsv(value) : encodeCsv(asNdArray(value, type));
  return encodeNpy(asNdArray(value, type));
}
