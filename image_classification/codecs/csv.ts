import { parse } from 'csv-parse/sync';
import { BadRequestError, clip } from '../errors';
import { fromNested, toNumbers, type NdArray } from './ndarray';

/**
 * `text/csv` tensors: one row per line, one value per column, no header, like the
 * SageMaker Inference Toolkit's CSV decoder. One line is a 1-D tensor, several are 2-D.
 */
export function decodeCsv(body: Buffer): NdArray {
  let rows: string[][];
  try {
    rows = parse(body, { skip_empty_lines: true, trim: true, relax_column_count: true });
  } catch (error) {
    throw new BadRequestError(`invalid CSV: ${(error as Error).message}`, 'invalid_csv');
  }
  if (rows.length === 0) throw new BadRequestError('invalid CSV: no rows', 'invalid_csv');
  const width = rows[0]!.length;
  const numbers = rows.map((row, r) => {
    if (row.length !== width) throw new BadRequestError(`invalid CSV: row ${r + 1} has ${row.length} columns, row 1 has ${width}`, 'invalid_csv');
    return row.map((cell, c) => {
      const value = cell === '' ? Number.NaN : Number(cell);
      if (!Number.isFinite(value)) throw new BadRequestError(`invalid CSV: row ${r + 1}, column ${c + 1} ('${clip(cell, 32)}') is not a number`, 'invalid_csv');
      return value;
    });
  });
  return fromNested(numbers.length === 1 ? numbers[0] : numbers, 'CSV');
}

/** Rows × columns text; anything of higher rank is flattened to rows of its last axis. */
export function encodeCsv(array: NdArray): string {
  const values = toNumbers(array);
  const width = array.shape.length === 0 ? 1 : array.shape[array.shape.length - 1]!;
  const lines: string[] = [];
  for (let start = 0; start < values.length; start += width) lines.push(values.slice(start, start + width).join(','));
  return `${lines.join('\n')}\n`;
}
