import { BadRequestError } from '../errors';
import { MAX_JSON_DEPTH } from './limits';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x5b, 0x7b]);
const CLOSERS = new Set([0x5d, 0x7d]);

/**
 * Refuse a JSON text nested deeper than MAX_JSON_DEPTH before JSON.parse sees it: one pass
 * over the bytes that skips strings whole and stops at the first bracket past the limit, so
 * a body of millions of brackets costs microseconds instead of seconds of parsing and
 * hundreds of MB of nested arrays.
 */
export function checkJsonDepth(body: Buffer, where = 'the JSON body'): void {
  let depth = 0;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i]!;
    if (byte === QUOTE) {
      i = stringEnd(body, i);
    } else if (OPENERS.has(byte)) {
      if (++depth > MAX_JSON_DEPTH) throw new BadRequestError(`${where} is nested more than ${MAX_JSON_DEPTH} deep`, 'invalid_json');
    } else if (CLOSERS.has(byte)) {
      depth--;
    }
  }
}

/** The index of the quote that closes the string opened at `open` (the end of the body if none). */
function stringEnd(body: Buffer, open: number): number {
  let close = body.indexOf(QUOTE, open + 1);
  while (close !== -1) {
    let backslashes = 0;
    while (body[close - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return close;
    close = body.indexOf(QUOTE, close + 1);
  }
  return body.length;
}
