import { BadRequestError } from '../errors';
import { MAX_JSON_DEPTH } from './limits';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;

/**
 * Refuse a JSON text nested deeper than MAX_JSON_DEPTH before JSON.parse sees it: one pass
 * that jumps from one structural character to the next (the regex engine's native search)
 * and over strings whole, and stops at the first bracket past the limit, so a body of
 * millions of brackets costs microseconds instead of seconds of parsing and hundreds of MB
 * of nested arrays, and a body of numbers or base64 costs a native scan.
 */
export function checkJsonDepth(body: Buffer, where = 'the JSON body'): void {
  // Latin-1 maps each byte to one character: UTF-8's multi-byte sequences never match ASCII.
  const text = body.toString('latin1');
  const structural = /["[\]{}]/g;
  let depth = 0;
  for (let match = structural.exec(text); match !== null; match = structural.exec(text)) {
    const char = text.charCodeAt(match.index);
    if (char === QUOTE) {
      structural.lastIndex = stringEnd(body, match.index) + 1;
    } else if (char === OPEN_BRACKET || char === OPEN_BRACE) {
      if (++depth > MAX_JSON_DEPTH) throw new BadRequestError(`${where} is nested more than ${MAX_JSON_DEPTH} deep`, 'invalid_json');
    } else {
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
