import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { formatEvaluation } from './metrics';
import type { PipelineOptions, PipelineResult } from './pipeline';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The frontier table `npm run frontier` leaves next to the model (model/frontier.md), if any. */
async function frontierSection(outDir: string): Promise<string[]> {
  const file = path.join(outDir, 'frontier.md');
  return existsSync(file) ? [(await readFile(file, 'utf8')).trim(), ''] : [];
}

function quantizationSection(options: PipelineOptions, result: PipelineResult): string[] {
  if (!result.quantized) return [];
  const { val } = result;
  const { calibration } = options;
  const best = result.cv.best;
  return [
    '## int8 vs float32',
    '',
    `model.onnx is int8 (QDQ): ${result.quantized.convs} Conv and ${result.quantized.adds} Add layers, weights per-channel symmetric ${calibration.weightBits}-bit, activations uint8 calibrated with **${calibration.statistic}** on ${result.quantized.calibrationImages} training photos. model.cuda.onnx is the float32 graph with the same head (for the CUDA provider). The head is trained on float32 features; the int8 figures score it on the int8 backbone's features of the same photos.`,
    '',
    '| | float32 | int8 | difference |',
    '|---|---:|---:|---:|',
    `| ${options.folds}-fold CV on train (L2 = ${best.l2}) | ${pct(best.accuracy)} | ${pct(best.alsoScored[0]!)} | ${(100 * (best.alsoScored[0]! - best.accuracy)).toFixed(1)} points |`,
    ...(val?.int8 ? [`| val accuracy (head trained on train) | ${pct(val.float.accuracy)} | ${pct(val.int8.accuracy)} | ${(100 * (val.int8.accuracy - val.float.accuracy)).toFixed(1)} points |`] : []),
    ...(val?.agreement !== undefined ? [`| val top-1 agreement int8 vs float32 | | | ${pct(val.agreement)} (${Math.round(val.agreement * val.float.total)}/${val.float.total}) |`] : []),
    '',
  ];
}

export async function evalMarkdown(options: PipelineOptions, result: PipelineResult, command: string, stageTable: string): Promise<string> {
  const outDir = path.dirname(options.out);
  const served = result.val?.int8 ?? result.val?.float;
  const cvTable = [
    '| L2 | CV accuracy (float32) |' + (result.quantized ? ' CV accuracy (int8) |' : ''),
    '|---:|---:|' + (result.quantized ? '---:|' : ''),
    ...result.cv.scores.map((s) => `| ${s.l2} | ${pct(s.accuracy)} |` + (result.quantized ? ` ${pct(s.alsoScored[0]!)} |` : '')),
  ].join('\n');
  return [
    '# Evaluation',
    '',
    `Command: \`${command}\``,
    '',
    `Classes: ${result.classes.join(', ')}. Train: ${result.trainImages} images; val: ${result.valImages}. Input ${options.size}×${options.size}. Views per image: ${options.views} (original${options.views > 1 ? ' + mirror' : ''}). Seed ${options.seed}.`,
    '',
    `## L2 chosen by ${options.folds}-fold cross-validation on train only`,
    '',
    cvTable,
    '',
    `Chosen: L2 = ${result.cv.best.l2}.`,
    '',
    ...(served ? [`## Validation split, the served ${result.val?.int8 ? 'int8' : 'float32'} model (head trained on train only)`, '', formatEvaluation(served), '', '![confusion matrix](confusion-matrix.png)', ''] : []),
    ...quantizationSection(options, result),
    ...(await frontierSection(outDir)),
    '## Shipped model',
    '',
    `Head refit on ${result.shippedOn} with the same L2; written to \`${options.out}\`. Exported graphs vs the training-time probabilities: max |diff| ${result.exportDiff.model.toExponential(1)} (model.onnx)${result.exportDiff.cuda !== undefined ? `, ${result.exportDiff.cuda.toExponential(1)} (model.cuda.onnx)` : ''}.`,
    '',
    '## Time per stage (this machine)',
    '',
    stageTable,
    '',
  ].join('\n');
}
