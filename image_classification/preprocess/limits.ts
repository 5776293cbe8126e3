/** MAX_IMAGE_PIXELS' default: a 64 MP photo decodes; a pixel bomb is refused from its header. */
export const DEFAULT_MAX_IMAGE_PIXELS = 64_000_000;
