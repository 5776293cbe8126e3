import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
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
  const { int8, float, quantized, agreement } = result;
  if (!int8 || !quantized) return [];
  const { calibration } = options;
  const row = (name: string, a: number, b: number) => `| ${name} | ${pct(a)} | ${pct(b)} | ${(100 * (b - a)).toFixed(1)} points |`;
  return [
    '## int8 vs float32',
    '',
    [
      `model.onnx is int8 (QDQ): ${quantized.convs} Conv and ${quantized.adds} Add layers,`,
      `weights per-channel symmetric ${calibration.weightBits}-bit,`,
      `activations uint8 calibrated with **${calibration.statistic}** on ${quantized.calibrationImages} training photos.`,
      'model.cuda.onnx is the float32 graph (for the CUDA provider).',
      "Each has a head fit on its own backbone's features, L2 chosen by its own CV.",
    ].join(' '),
    '',
    '| | float32 | int8 | difference |',
    '|---|---:|---:|---:|',
    row(
      `${options.folds}-fold CV on train (best L2: ${float.cv.best.l2} / ${int8.cv.best.l2})`,
      float.cv.best.accuracy,
      int8.cv.best.accuracy,
    ),
    ...(float.val && int8.val ? [row('val accuracy (head trained on train)', float.val.accuracy, int8.val.accuracy)] : []),
    ...(agreement !== undefined && float.val
      ? [`| val top-1 agreement int8 vs float32 | | | ${pct(agreement)} (${Math.round(agreement * float.val.total)}/${float.val.total}) |`]
      : []),
    '',
  ];
}

export async function evalMarkdown(options: PipelineOptions, result: PipelineResult, command: string, stageTable: string): Promise<string> {
  const outDir = path.dirname(options.out);
  const served = result.int8 ?? result.float;
  const cvTable = [
    '| L2 | CV accuracy (float32) |' + (result.int8 ? ' CV accuracy (int8) |' : ''),
    '|---:|---:|' + (result.int8 ? '---:|' : ''),
    ...result.float.cv.scores.map(
      (s, i) => `| ${s.l2} | ${pct(s.accuracy)} |` + (result.int8 ? ` ${pct(result.int8.cv.scores[i]!.accuracy)} |` : ''),
    ),
  ].join('\n');
  return [
    '# Evaluation',
    '',
    `Command: \`${command}\``,
    '',
    [
      `Classes: ${result.classes.join(', ')}. Train: ${result.trainImages} images; val: ${result.valImages}.`,
      `Input ${options.size}×${options.size}.`,
      options.pooledExtra
        ? `Features: the final 1280 + \`${options.pooledExtra}\` average-pooled (the frontier below is without it).`
        : 'Features: the final 1280.',
      `Views per image: ${options.views} (original${options.views > 1 ? ' + mirror' : ''}). Seed ${options.seed}.`,
    ].join(' '),
    '',
    `## L2 chosen by ${options.folds}-fold cross-validation on train only`,
    '',
    cvTable,
    '',
    `Chosen: L2 = ${result.float.cv.best.l2}${result.int8 ? ` (float32), ${result.int8.cv.best.l2} (int8)` : ''}.`,
    '',
    ...(served.val
      ? [
          `## Validation split, the served ${result.int8 ? 'int8' : 'float32'} model (head trained on train only)`,
          '',
          formatEvaluation(served.val),
          '',
          '![confusion matrix](confusion-matrix.png)',
          '',
        ]
      : []),
    ...quantizationSection(options, result),
    ...(await frontierSection(outDir)),
    '## Shipped model',
    '',
    `Head refit on ${result.shippedOn} with the same L2; written to \`${options.out}\`. ` +
      `Exported graphs vs the training-time probabilities: max |diff| ${result.exportDiff.model.toExponential(1)} (model.onnx)` +
      `${result.exportDiff.cuda !== undefined ? `, ${result.exportDiff.cuda.toExponential(1)} (model.cuda.onnx)` : ''}.`,
    '',
    `## Time per stage (${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version})`,
    '',
    stageTable,
    '',
  ].join('\n');
}
