import Negotiator from 'negotiator';
import { TooManyRecordsError } from '../errors';
import { RESPONSE_TYPES } from './encoders';
import { requireBody } from './input';
import { MAX_RECORDS_PER_REQUEST } from './limits';

/**
 * Batch transform's multi-record bodies (SplitType=Line, BatchStrategy=MULTI_RECORD): one
 * record per line, answered as JSON Lines, one line per record in the same order, so
 * SageMaker can join each answer to its input. A JSON Lines record is what a JSON body may be
 * (a base64 image, `{"image": …}`, a tensor); a CSV record is one image's tensor as one row.
 */

export const JSON_LINES = 'application/jsonlines';
/** The media types a JSON Lines body may arrive as. */
export const JSON_LINES_TYPES: ReadonlySet<string> = new Set([JSON_LINES, 'application/jsonl', 'application/x-jsonlines']);

export type RecordFormat = 'jsonlines' | 'csv';

/**
 * A CSV body is records when its Accept prefers JSON Lines to every answer of one tensor
 * (q-values honoured; at equal q, the type listed first). A wildcard prefers the single answer.
 */
function prefersJsonLines(accept: string): boolean {
  const [preferred] = new Negotiator({ headers: { accept } }).mediaTypes([...RESPONSE_TYPES, ...JSON_LINES_TYPES]);
  return preferred !== undefined && JSON_LINES_TYPES.has(preferred);
}

/** A body of records: JSON Lines always, CSV rows when the Accept prefers JSON Lines. */
export function recordFormatOf(mediaType: string | undefined, acceptHeader: string | undefined): RecordFormat | undefined {
  if (mediaType !== undefined && JSON_LINES_TYPES.has(mediaType)) return 'jsonlines';
  if (mediaType === 'text/csv' && acceptHeader !== undefined && prefersJsonLines(acceptHeader)) return 'csv';
  return undefined;
}

export interface BodyRecord {
  readonly body: Buffer;
  /** What the record is on its own, for the pipeline's input decoding. */
  readonly contentType: 'application/json' | 'text/csv';
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * The body's lines (a final line break ends the last record, it does not start one). Counted
 * before any is copied: a body of a million empty lines costs one scan, not a million records.
 */
export function splitRecords(body: Buffer, format: RecordFormat): BodyRecord[] {
  requireBody(body);
  const end = body.at(-1) === NEWLINE ? body.length - 1 : body.length;
  let lines = 1;
  for (let i = body.indexOf(NEWLINE); i !== -1 && i < end; i = body.indexOf(NEWLINE, i + 1)) lines++;
  if (lines > MAX_RECORDS_PER_REQUEST) throw new TooManyRecordsError(lines, MAX_RECORDS_PER_REQUEST);
  const contentType = format === 'jsonlines' ? 'application/json' : 'text/csv';
  const records: BodyRecord[] = [];
  for (let start = 0; start <= end && records.length < lines;) {
    let stop = body.indexOf(NEWLINE, start);
    if (stop === -1 || stop > end) stop = end;
    const lineEnd = stop > start && body[stop - 1] === CARRIAGE_RETURN ? stop - 1 : stop;
    records.push({ body: body.subarray(start, lineEnd), contentType });
    start = stop + 1;
  }
  return records;
}
