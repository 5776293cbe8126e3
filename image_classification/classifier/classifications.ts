import { csvRow } from '../codecs/csv';
import type { SelfEncoding } from '../codecs/encoders';
import { ndarray, type NdArray } from '../codecs/ndarray';
import type { ClassPrediction } from './classify';

/** The built-in classifier's answer: one row per image, a list when the client sent a list. */
export class Classifications implements SelfEncoding {
  constructor(
    readonly rows: readonly ClassPrediction[],
    readonly isList: boolean,
    readonly labels: readonly string[],
  ) {}

  /** `{"predictions": row}`, or a list of rows when the client sent a list. */
  toJSON(): unknown {
    return { predictions: this.isList ? this.rows : this.rows[0] };
  }

  /** One header row (`class,probability,<labels…>`), then one row per image. */
  toCsv(): string {
    const lines = [csvRow(['class', 'probability', ...this.labels])];
    for (const row of this.rows) lines.push(csvRow([row.class, row.probability, ...this.labels.map((label) => row.probabilities[label]!)]));
    return `${lines.join('\n')}\n`;
  }

  /** `[images, classes]` probabilities (`[classes]` for a single image), label order. */
  toNdArray(): NdArray {
    const data = Float32Array.from(this.rows.flatMap((row) => this.labels.map((label) => row.probabilities[label]!)));
    return ndarray('float32', this.isList ? [this.rows.length, this.labels.length] : [this.labels.length], data);
  }
}
