import { BadRequestError, clip } from '../errors';
import { checkElementCount, isFiniteFloat32, ndarray, toNumbers, type NdArray } from './ndarray';

/**
 * `text/csv` tensors: one row per line, one number per column, no header, like the
 * SageMaker Inference Toolkit's CSV decoder. One line is a 1-D tensor, several are 2-D.
 *
 * A single scan into one preallocated float32 array: no array per row and no string per
 * row, so the event loop's time is linear in the body and small. A general CSV reader builds
 * a string per cell; numbers need no quoting rules (docs/limits.md, "Hostile requests", has the cost).
 */

const COMMA = 44;
const NEWLINE = 10;

function invalid(message: string): BadRequestError {
  return new BadRequestError(`invalid CSV: ${message}`, 'invalid_csv');
}

/** One cell: spaces around it and one pair of double quotes are allowed. */
function cellValue(text: string, row: number, column: number): number {
  let cell = text.trim();
  if (cell.length >= 2 && cell.startsWith('"') && cell.endsWith('"')) cell = cell.slice(1, -1).trim();
  const value = cell === '' ? Number.NaN : Number(cell);
  if (!isFiniteFloat32(value)) throw invalid(`row ${row}, column ${column} ('${clip(cell, 32)}') is not a finite float32 number`);
  return value;
}

export function decodeCsv(body: Buffer): NdArray {
  const text = body.toString('utf8');
  // At most one value per comma or line break (plus one): the array is sized once.
  let separators = 1;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === COMMA || code === NEWLINE) separators++;
  }
  checkElementCount(separators, 'the CSV body');
  const values = new Float32Array(separators);
  let count = 0;
  let rows = 0;
  let width = 0;
  let column = 0;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : NEWLINE;
    if (code !== COMMA && code !== NEWLINE) continue;
    const cell = text.slice(start, i);
    start = i + 1;
    // A blank line (only spaces or \r) between rows is skipped.
    if (code === NEWLINE && column === 0 && cell.trim() === '') continue;
    values[count++] = cellValue(cell, rows + 1, column + 1);
    column++;
    if (code === NEWLINE) {
      if (rows > 0 && column !== width) throw invalid(`row ${rows + 1} has ${column} columns, row 1 has ${width}`);
      width = column;
      rows++;
      column = 0;
    }
  }
  if (rows === 0) throw invalid('no rows');
  return ndarray('float32', rows === 1 ? [width] : [rows, width], values.slice(0, count));
}

/** Rows × columns text; anything of higher rank is flattened to rows of its last axis. */
export function encodeCsv(array: NdArray): string {
  const values = toNumbers(array);
  const width = array.shape.length === 0 ? 1 : array.shape[array.shape.length - 1]!;
  const lines: string[] = [];
  for (let start = 0; start < values.length; start += width) lines.push(values.slice(start, start + width).join(','));
  return `${lines.join('\n')}\n`;
}

/**
 * One CSV row of labelled values. A text starting with `=`, `+`, `-`, `@` or a tab is a
 * formula to a spreadsheet (CSV injection): it is prefixed with `'`, as OWASP advises.
 * Numbers are left alone.
 */
export function csvRow(fields: readonly (string | number)[]): string {
  return fields
    .map((value) => {
      const text = typeof value === 'string' && /^[=+\-@\t\r]/.test(value) ? `'${value}` : String(value);
      return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
    })
    .join(',');
}
