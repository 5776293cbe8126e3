import { withImageBudget } from '../codecs/image-budget';
import { MAX_IMAGES_PER_REQUEST } from '../codecs/limits';
import { splitRecords, type RecordFormat } from '../codecs/records';
import { errorBody, toHttpError, TooManyImagesInRecordsError } from '../errors';
import type { Logger } from '../logger';
import type { RequestContext } from './api';

/** What one record's run through the pipeline answers. */
type RecordInvoke = (body: Buffer, contentType: string, ctx: RequestContext) => Promise<{ body: string | Uint8Array; contentType: string }>;

/**
 * Records run through the pipeline this many at a time: enough to fill a batch of the
 * built-in model, few enough that a request's decoded images stay a handful however many
 * records it carries.
 */
const RECORDS_IN_FLIGHT = 4;

/**
 * One answer line per record, in order. A record that fails answers its own error line,
 * `{"error": {"code", "message", "status"}}`, and the others still run; only the request's own
 * end (its timeout, its client gone) or its records holding more than MAX_IMAGES_PER_REQUEST
 * images together fails the whole request.
 */
export async function invokeRecords(
  body: Buffer,
  format: RecordFormat,
  ctx: RequestContext,
  invoke: RecordInvoke,
  logger: Logger,
): Promise<string> {
  const records = splitRecords(body, format);
  const lines = new Array<string>(records.length);
  let next = 0;
  const runRecords = async () => {
    while (next < records.length) {
      const index = next++;
      ctx.signal.throwIfAborted();
      const record = records[index]!;
      lines[index] = await answerLine(() => invoke(record.body, record.contentType, ctx), ctx, logger, index);
    }
  };
  await withImageBudget(MAX_IMAGES_PER_REQUEST, () =>
    Promise.all(Array.from({ length: Math.min(RECORDS_IN_FLIGHT, records.length) }, runRecords)),
  );
  return `${lines.join('\n')}\n`;
}

async function answerLine(run: () => ReturnType<RecordInvoke>, ctx: RequestContext, logger: Logger, index: number): Promise<string> {
  try {
    const answer = await run();
    const text = typeof answer.body === 'string' ? answer.body : Buffer.from(answer.body).toString('utf8');
    // Anything but one line of JSON would shift every later line: re-written as one line.
    if (!/json/.test(answer.contentType)) return JSON.stringify({ output: text });
    return text.includes('\n') ? JSON.stringify(JSON.parse(text)) : text;
  } catch (error) {
    if (ctx.signal.aborted || error instanceof TooManyImagesInRecordsError) throw error;
    const httpError = toHttpError(error, { maxPayloadBytes: 0 });
    if (httpError.status >= 500) logger.error({ err: error, record: index, requestId: ctx.requestId }, 'record failed');
    const { error: details } = errorBody(httpError);
    return JSON.stringify({ error: { ...details, status: httpError.status } });
  }
}
