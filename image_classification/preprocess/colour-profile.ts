import { parse } from 'icc';

/**
 * The names the common sRGB profiles give themselves: libvips' and lcms' own, HP/Microsoft's
 * (what most cameras and Android phones embed) and the ICC's 2014 one. All are matrix/curve
 * profiles of the same primaries and curve, so converting from one of them to sRGB gives back
 * the same pixels. Names that only start with "sRGB" (the black-scaled and perceptual-preference
 * variants) map blacks differently and are converted.
 */
const SRGB_PROFILE_NAMES = new Set(['srgb', 'srgb built-in', 'srgb iec61966-2.1', 'srgb iec61966-2-1', 'srgb2014']);

/**
 * The parser walks as many tags as the profile's header declares (a 4-byte count, up to 4
 * billion) before it looks at one: a tiny crafted profile would hold the event loop for minutes.
 * Real sRGB profiles have under 20 tags and a few kB (the ICC's v4 one 60 kB); lcms itself
 * refuses more than 100 tags. Past these, the profile is left to libvips as any other.
 */
const MAX_TAGS = 100;
const MAX_PROFILE_BYTES = 128 * 1024;
const TAG_COUNT_OFFSET = 128;

/**
 * Whether an embedded ICC profile is plain sRGB, so converting the pixels with it can be
 * skipped: that conversion is a pass over every decoded pixel before the resize, the most
 * expensive step for a phone photo after its decode (docs/cpu-cost.md). A profile that does not parse is not sRGB: libvips
 * then converts with it as it would have (or warns, and the decode fails like any bad file).
 */
export function isSrgbProfile(icc: Buffer): boolean {
  if (icc.length > MAX_PROFILE_BYTES || icc.length < TAG_COUNT_OFFSET + 4 || icc.readUInt32BE(TAG_COUNT_OFFSET) > MAX_TAGS) return false;
  try {
    const profile = parse(icc);
    return profile.colorSpace === 'RGB' && SRGB_PROFILE_NAMES.has(profile.description?.trim().toLowerCase() ?? '');
  } catch {
    return false;
  }
}
