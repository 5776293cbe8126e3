import { readFile } from 'node:fs/promises';
import { readDataset } from '../training/dataset';
import { writeConfusionPng } from '../training/confusion-png';
import { evaluatePredictions, formatEvaluation, type Evaluation } from '../training/metrics';
import { argmax } from '../training/cross-validation';
import type { Predictor } from '../classifier/predictor';
import { cliLogLevel, cliModel, parseCli, runCli } from './args';
import { withPredictor } from '../classifier/load-predictor';

const USAGE = `usage: npm run evaluate -- --data DIR [--model DIR|model.tar.gz] [--png FILE]
DIR holds one folder per class (names as in the model's labels.json). Prints accuracy,
per-class precision/recall and the confusion matrix; --png also draws the matrix.`;

/** Run the served pipeline over a labelled tree, in batches, and score it. */
export async function evaluateModel(predictor: Predictor, dataDir: string, batchSize = 16): Promise<Evaluation> {
  const labels = predictor.info.labels;
  const dataset = await readDataset(dataDir, labels);
  const predicted: number[] = [];
  for (let start = 0; start < dataset.items.length; start += batchSize) {
    const slice = dataset.items.slice(start, start + batchSize);
    const rows = await predictor.scores(await Promise.all(slice.map((item) => readFile(item.file))));
    predicted.push(...rows.map((row) => argmax(row)));
  }
  return evaluatePredictions(
    dataset.items.map((item) => item.label),
    predicted,
    labels,
  );
}

if (require.main === module) {
  runCli(async () => {
    const { values } = parseCli(
      { data: { type: 'string' }, model: { type: 'string' }, png: { type: 'string' }, help: { type: 'boolean' } },
      USAGE,
    );
    if (!values.data) throw new Error(`--data is required\n\n${USAGE}`);
    const evaluation = await withPredictor(cliModel(values.model), (predictor) => evaluateModel(predictor, values.data!), {
      logLevel: cliLogLevel(),
    });
    console.log(formatEvaluation(evaluation));
    if (values.png) await writeConfusionPng(evaluation, `${values.model ?? 'model'} on ${values.data}`, values.png);
  });
}
