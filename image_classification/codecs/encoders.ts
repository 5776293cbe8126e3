import type { ClassPrediction } from '../postprocess/classify';

/** A response for one image is a single object; a list of images gets a list. */
export type Predictions = ClassPrediction | ClassPrediction[];

function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One header row (`class,probability,<labels…>`), then one row per image. */
function encodeCsv(predictions: Predictions): string {
  const rows = Array.isArray(predictions) ? predictions : [predictions];
  const labels = Object.keys(rows[0]?.probabilities ?? {});
  const lines = [['class', 'probability', ...labels].map(csvField).join(',')];
  for (const row of rows) {
    lines.push([row.class, row.probability, ...labels.map((label) => row.probabilities[label]!)].map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** Response encoders by media type; the first is the default. */
export const ENCODERS = {
  'application/json': (predictions: Predictions): string => JSON.stringify({ predictions }),
  'text/csv': encodeCsv,
} as const;

export type ResponseType = keyof typeof ENCODERS;
