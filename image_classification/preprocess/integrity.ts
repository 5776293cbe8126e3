/**
 * Truncation checks that do not depend on decoding. libvips decodes lazily: when the missing
 * tail of a file falls outside the crop it never reads that far and never notices. A file
 * must therefore end where its own format says it ends.
 */

const JPEG_START_OF_SCAN = Buffer.from([0xff, 0xda]);
const JPEG_END_OF_IMAGE = Buffer.from([0xff, 0xd9]);

/** Why the file looks truncated, or undefined if it is complete (or of another format). */
export function truncationReason(image: Buffer, format: string): string | undefined {
  switch (format) {
    case 'jpeg': {
      // Entropy-coded data byte-stuffs 0xFF, so these markers only appear as markers. The
      // last scan belongs to the main image (an EXIF thumbnail comes before it).
      const lastScan = image.lastIndexOf(JPEG_START_OF_SCAN);
      return lastScan >= 0 && image.indexOf(JPEG_END_OF_IMAGE, lastScan) < 0 ? 'the JPEG has no end-of-image marker' : undefined;
    }
    case 'png': {
      // IEND: 4-byte type then a 4-byte CRC, after the last image data chunk.
      const end = image.lastIndexOf('IEND');
      return end > image.lastIndexOf('IDAT') && end + 8 <= image.length
        ? undefined
        : 'the PNG has no complete IEND chunk after its image data';
    }
    case 'webp':
      return image.length >= 12 && image.readUInt32LE(4) + 8 <= image.length ? undefined : 'the WebP is shorter than its RIFF header says';
    default:
      return undefined;
  }
}
