/** A rectangle of an image, in pixels from its top-left corner. */
export interface Rect {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/**
 * EXIF orientations (2–8) as what the stored pixels need to be seen upright: a flop (mirror
 * left↔right) and then a clockwise turn, the order sharp applies them in one pipeline.
 */
const TO_UPRIGHT: Record<number, { flop: boolean; angle: 0 | 90 | 180 | 270 }> = {
  2: { flop: true, angle: 0 },
  3: { flop: false, angle: 180 },
  4: { flop: true, angle: 180 },
  5: { flop: true, angle: 270 },
  6: { flop: false, angle: 90 },
  7: { flop: true, angle: 90 },
  8: { flop: false, angle: 270 },
};

export function toUpright(orientation: number): { flop: boolean; angle: 0 | 90 | 180 | 270 } | undefined {
  return TO_UPRIGHT[orientation];
}

/** Whether the stored image is the upright one turned a quarter (its width and height swapped). */
export const quarterTurned = (orientation: number) => orientation >= 5 && orientation <= 8;

/**
 * The rectangle of the stored (not yet upright) image, `width × height` once upright, that
 * becomes `crop` once turned upright: so the crop can be cut before the turn, and only it turned.
 */
export function storedRect(orientation: number, width: number, height: number, crop: Rect): Rect {
  const right = width - crop.left - crop.width;
  const bottom = height - crop.top - crop.height;
  const swapped = (left: number, top: number): Rect => ({ left, top, width: crop.height, height: crop.width });
  switch (orientation) {
    case 2:
      return { ...crop, left: right };
    case 3:
      return { ...crop, left: right, top: bottom };
    case 4:
      return { ...crop, top: bottom };
    case 5:
      return swapped(crop.top, crop.left);
    case 6:
      return swapped(crop.top, right);
    case 7:
      return swapped(bottom, right);
    case 8:
      return swapped(bottom, crop.left);
    default:
      return crop;
  }
}
