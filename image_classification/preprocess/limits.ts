/** MAX_IMAGE_PIXELS' default: a 64 MP photo decodes; a pixel bomb is refused from its header. */
export const DEFAULT_MAX_IMAGE_PIXELS = 64_000_000;

/**
 * The longest side may be at most this many times the shortest: resizing the shorter side to
 * the model's size scales the longer one by the same factor, so a 1-pixel-high strip would
 * become hundreds of thousands of pixels long.
 */
export const MAX_ASPECT_RATIO = 100;
