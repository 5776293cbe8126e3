import sharp, { type Metadata } from 'sharp';
import { ImageTooLargeError, InvalidImageError } from '../errors';
import type { ModelSpec } from '../model/spec';
import { isSrgbProfile } from './colour-profile';
import { truncationReason } from './integrity';
import { MAX_RESIZED_SIDE } from './limits';
import { quarterTurned, storedRect, toUpright, type Rect } from './orientation';

// libvips' own cache only helps when the same file is read repeatedly; a server sees each
// image once, so the cache is pure memory cost.
sharp.cache(false);
// One libvips thread per image: parallelism comes from concurrent requests and workers, and
// extra threads per image only compete with the event loop and ONNX Runtime for the cores.
sharp.concurrency(1);

export interface ResizePlan {
  /** Size of the upright image after the shorter side is resized. */
  readonly resizedWidth: number;
  readonly resizedHeight: number;
  readonly crop: Rect;
}

/** Python's round(): halves go to the even neighbour (round(58.5) is 58, round(59.5) is 60). */
function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  if (value - floor !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * torchvision's Resize(shorter) + CenterCrop(crop) geometry: the longer side is scaled with
 * truncation (int(size * long / short)) and the crop offset is int(round(margin / 2)), Python's
 * round, so a model trained with torchvision sees the same pixels.
 */
export function planResize(width: number, height: number, shorterSide: number, cropSize: number): ResizePlan {
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const scaledLong = Math.max(shorterSide, Math.floor((shorterSide * long) / short));
  const resizedWidth = width <= height ? shorterSide : scaledLong;
  const resizedHeight = width <= height ? scaledLong : shorterSide;
  const crop = {
    left: roundHalfToEven((resizedWidth - cropSize) / 2),
    top: roundHalfToEven((resizedHeight - cropSize) / 2),
    width: cropSize,
    height: cropSize,
  };
  return { resizedWidth, resizedHeight, crop };
}

/** EXIF orientations 5–8 rotate by 90°, so width and height trade places. */
function uprightSize(meta: Metadata): { width: number; height: number } {
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  return { width, height };
}

/**
 * Raster formats only. SVG (and PDF and the like) can reference other files and URLs, and no
 * path a client sends may ever reach the filesystem.
 */
const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif', 'avif']);

/**
 * Decoded as whole frames at full size, with no shrink-on-load and no streaming: HEIF and AVIF
 * (sharp reports both as 'heif'), GIF, progressive JPEG (libjpeg holds every coefficient until
 * the last scan) and interlaced PNG. Their memory grows with every pixel where the other
 * formats stay nearly flat (docs/limits.md), so they get a lower pixel cap.
 */
const WHOLE_FRAME_FORMATS = new Set(['heif', 'avif', 'gif']);
const MAX_WHOLE_FRAME_PIXELS = 16_000_000;

function decodedWhole(meta: Metadata): boolean {
  return WHOLE_FRAME_FORMATS.has(meta.format) || (meta.isProgressive && (meta.format === 'jpeg' || meta.format === 'png'));
}

async function readHeader(image: Buffer): Promise<Metadata> {
  let meta: Metadata;
  try {
    meta = await sharp(image).metadata();
  } catch (error) {
    throw new InvalidImageError(`the body is not a decodable image (${(error as Error).message})`);
  }
  if (!ACCEPTED_FORMATS.has(meta.format)) {
    throw new InvalidImageError(`image format '${meta.format}' is not accepted; send JPEG, PNG, WebP, GIF, TIFF, AVIF or HEIF`);
  }
  return meta;
}

/**
 * Decode one encoded image into `crop × crop × 3` RGB bytes (HWC): EXIF orientation applied,
 * alpha flattened onto white, an embedded colour profile applied, grey / CMYK / 16-bit
 * converted to 8-bit sRGB, shorter side resized, centre-cropped. One sharp pipeline, so JPEG
 * shrink-on-load does most of the resizing while decoding. The pixel count is checked from the
 * header before any decoding; `timeoutSeconds` (0: none) stops a decode that libvips has spent
 * that long on.
 */
export async function decodeToRgb(image: Buffer, spec: ModelSpec, maxPixels: number, timeoutSeconds = 0): Promise<Buffer> {
  if (image.length === 0) throw new InvalidImageError('the image is empty');
  const meta = await readHeader(image);
  const { width, height } = uprightSize(meta);
  if (!width || !height) throw new InvalidImageError('the image has no dimensions');
  const whole = decodedWhole(meta);
  const limit = whole ? Math.min(maxPixels, MAX_WHOLE_FRAME_PIXELS) : maxPixels;
  if (width * height > limit) {
    const kind = whole && meta.isProgressive ? `${meta.format === 'png' ? 'interlaced' : 'progressive'} ${meta.format}` : meta.format;
    throw new ImageTooLargeError(`the ${kind} image is ${width}×${height} pixels; at most ${limit} pixels are accepted for this format`);
  }
  const truncated = truncationReason(image, meta.format);
  if (truncated) throw new InvalidImageError(`the image is truncated (${truncated})`);
  const plan = planResize(width, height, spec.resize_shorter_side, spec.crop_size);
  if (Math.max(plan.resizedWidth, plan.resizedHeight) > MAX_RESIZED_SIDE) {
    throw new InvalidImageError(
      `the image is ${width}×${height} pixels: resized for the model, its longer side would pass ${MAX_RESIZED_SIDE} pixels`,
    );
  }
  // sharp's autoOrient turns an image upright before anything else whenever a crop follows: at
  // full size, in memory, without JPEG shrink-on-load, so a portrait phone photo (stored
  // sideways, EXIF orientation 6) would cost many times an upright one (docs/cpu-cost.md).
  // So the stored image is resized and cropped as it is stored (streamed, shrunk on load), and
  // only the crop is turned upright.
  const orientation = meta.orientation ?? 1;
  const turn = toUpright(orientation);
  const [storedWidth, storedHeight] = quarterTurned(orientation)
    ? [plan.resizedHeight, plan.resizedWidth]
    : [plan.resizedWidth, plan.resizedHeight];
  // An sRGB profile converts to itself: skipping it saves a pass over every decoded pixel.
  const ignoreIcc = meta.icc !== undefined && isSrgbProfile(meta.icc);
  // sharp converts a 16-bit RGB image's profile to Display P3, not sRGB (its wider working
  // space for deep colour), and then takes those numbers as sRGB: the crop is converted back.
  const fromDisplayP3 = meta.icc !== undefined && !ignoreIcc && meta.space === 'rgb16';
  try {
    const pipeline = sharp(image, { limitInputPixels: maxPixels, failOn: 'warning', ignoreIcc })
      .timeout({ seconds: Math.ceil(timeoutSeconds) })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .resize(storedWidth, storedHeight, { fit: 'fill', kernel: spec.resample })
      .extract(storedRect(orientation, plan.resizedWidth, plan.resizedHeight, plan.crop))
      .removeAlpha();
    const { data, info } = await (fromDisplayP3 ? pipeline.withIccProfile('srgb') : pipeline)
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== spec.crop_size * spec.crop_size * 3) {
      throw new InvalidImageError(`the image decoded to an unexpected layout (${info.width}×${info.height}, ${info.channels} channels)`);
    }
    if (!turn) return data;
    const raw = { width: info.width, height: info.height, channels: 3 } as const;
    return await sharp(data, { raw }).flop(turn.flop).rotate(turn.angle).raw().toBuffer();
  } catch (error) {
    if (error instanceof InvalidImageError) throw error;
    throw new InvalidImageError(`the image could not be decoded (${(error as Error).message})`);
  }
}

/** An HWC RGB square mirrored left↔right. */
export function mirrorHorizontally(rgb: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let y = 0; y < size; y++) {
    const row = y * size * 3;
    for (let x = 0; x < size; x++) {
      const src = row + x * 3;
      const dst = row + (size - 1 - x) * 3;
      out[dst] = rgb[src]!;
      out[dst + 1] = rgb[src + 1]!;
      out[dst + 2] = rgb[src + 2]!;
    }
  }
  return out;
}
