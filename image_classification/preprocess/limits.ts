/** MAX_IMAGE_PIXELS' default: a 64 MP photo decodes; a pixel bomb is refused from its header. */
export const DEFAULT_MAX_IMAGE_PIXELS = 64_000_000;

/**
 * The longer side once the shorter one is resized to the model's size (it scales by the same
 * factor, so a 1-pixel-high strip becomes hundreds of times the model's size long): libvips'
 * own limit for an image's side. A longer one is refused from the header.
 */
export const MAX_RESIZED_SIDE = 10_000_000;
