import type { CalibrationStatistic } from '../quantize/calibrate';
import { DEFAULT_CALIBRATION_IMAGES } from '../quantize/image-batches';

/** parseArgs entries for the calibration flags `npm run train` and `npm run quantize` share. */
export const CALIBRATION_FLAGS = {
  'calibration-images': { type: 'string', default: String(DEFAULT_CALIBRATION_IMAGES) },
  statistic: { type: 'string', default: 'minmax' },
  'weight-bits': { type: 'string', default: '7' },
} as const;

export const CALIBRATION_USAGE = '[--calibration-images 100] [--statistic minmax|percentile] [--weight-bits 7|8]';

export interface CalibrationFlags {
  readonly images: number;
  readonly statistic: CalibrationStatistic;
  readonly weightBits: 7 | 8;
}

export function parseCalibrationOptions(values: {
  'calibration-images': string;
  statistic: string;
  'weight-bits': string;
}): CalibrationFlags {
  const images = Number(values['calibration-images']);
  if (!Number.isInteger(images) || images < 1) throw new Error('--calibration-images must be a positive integer');
  if (values.statistic !== 'minmax' && values.statistic !== 'percentile') throw new Error('--statistic must be minmax or percentile');
  if (values['weight-bits'] !== '7' && values['weight-bits'] !== '8') throw new Error('--weight-bits must be 7 or 8');
  return { images, statistic: values.statistic, weightBits: values['weight-bits'] === '8' ? 8 : 7 };
}
