import { createDeflateRaw } from 'node:zlib';
import sharp from 'sharp';

/**
 * Small bodies that claim, or make a codec do, far more than their size, built byte by byte. Unit tests feed them to the codecs; the hostile suite and
 * `npm run hostile` send them through nginx to the workers.
 */

/** An NPY v2 file (4-byte header length) with `header` as its dict text and `data` after it. */
export function npyWithHeader(header: string, data: Buffer = Buffer.alloc(0)): Buffer {
  const prefix = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0, 0, 0, 0]);
  const text = Buffer.from(`${header}\n`, 'latin1');
  prefix.writeUInt32LE(text.length, 8);
  return Buffer.concat([prefix, text, data]);
}

/** numpy's reader hit a backtracking regex on this: `'shape': (` over and over, never closed. */
export function npyRepeatedShapeKey(headerBytes: number): Buffer {
  const unit = "'shape': (";
  return npyWithHeader(`{'descr': '<f4', 'fortran_order': False, ${unit.repeat(Math.floor(headerBytes / unit.length))}`);
}

/** A Fortran-order float32 array with `dims` axes of length 1 (one value). */
export function npyManyUnitDims(dims: number): Buffer {
  const shape = `(${Array.from({ length: dims }, () => '1').join(', ')},)`;
  return npyWithHeader(`{'descr': '<f4', 'fortran_order': True, 'shape': ${shape}, }`, Buffer.alloc(4));
}

function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16LE(value);
  return out;
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value);
  return out;
}

function u64(value: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(BigInt(value));
  return out;
}

/** One deflated member whose headers declare `declaredSize` bytes, whatever `compressed` inflates to. */
export function zipWithOneMember(name: string, compressed: Buffer, declaredSize: number): Buffer {
  const file = Buffer.from(name);
  const common = [u16(20), u16(0), u16(8), u16(0), u16(0), u32(0), u32(compressed.length), u32(declaredSize), u16(file.length), u16(0)];
  const local = Buffer.concat([u32(0x04034b50), ...common, file, compressed]);
  const central = Buffer.concat([u32(0x02014b50), u16(20), ...common, u16(0), u16(0), u16(0), u32(0), u32(0), file]);
  const end = Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(1), u16(1), u32(central.length), u32(local.length), u16(0)]);
  return Buffer.concat([local, central, end]);
}

/** `bytes` of zeros, deflated without ever holding them (about 1 kB per MB). */
export async function deflatedZeros(bytes: number): Promise<Buffer> {
  const deflate = createDeflateRaw({ level: 9 });
  const chunks: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise((resolve, reject) => deflate.on('end', resolve).on('error', reject));
  const block = Buffer.alloc(1024 * 1024);
  for (let written = 0; written < bytes; written += block.length) {
    if (!deflate.write(block.subarray(0, Math.min(block.length, bytes - written)))) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  return Buffer.concat(chunks);
}

/** An NPZ whose member says 128 bytes and inflates to `bytes`. */
export async function npzLyingAboutSize(bytes: number): Promise<Buffer> {
  return zipWithOneMember('x.npy', await deflatedZeros(bytes), 128);
}

/** An honest-looking NPZ whose one member declares (and holds) `bytes`. */
export async function npzDeclaring(bytes: number): Promise<Buffer> {
  return zipWithOneMember('x.npy', await deflatedZeros(bytes), bytes);
}

/** A ~100-byte zip whose zip64 end record claims `entries` members (and a central directory at 0). */
export function zip64ClaimingEntries(entries: number): Buffer {
  const record = Buffer.concat([
    u32(0x06064b50),
    u64(44),
    u16(45),
    u16(45),
    u32(0),
    u32(0),
    u64(entries),
    u64(entries),
    u64(46 * entries),
    u64(0),
  ]);
  const locator = Buffer.concat([u32(0x07064b50), u32(0), u64(0), u32(1)]);
  const end = Buffer.concat([
    u32(0x06054b50),
    u16(0xffff),
    u16(0xffff),
    u16(0xffff),
    u16(0xffff),
    u32(0xffffffff),
    u32(0xffffffff),
    u16(0),
  ]);
  return Buffer.concat([record, locator, end]);
}

/** A JSON tensor nested `depth` lists deep around one number. */
export function deepJson(depth: number): Buffer {
  return Buffer.from(`${'['.repeat(depth)}1${']'.repeat(depth)}`);
}

/** `count` 1×1 JPEGs as a JSON list of base64 strings (~23 kB for 64). */
export async function tinyJpegList(count: number): Promise<Buffer> {
  const jpeg = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#888' } })
    .jpeg()
    .toBuffer();
  return Buffer.from(JSON.stringify({ images: Array.from({ length: count }, () => jpeg.toString('base64')) }));
}

/** A `width`×`height` single-colour PNG: kilobytes on the wire, megapixels to decode. */
export function bigFlatPng(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#4a6' } })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/**
 * A `width × height` JPEG stored as a phone stores a portrait shot: landscape pixels tagged
 * EXIF orientation 6 ("turn 90° clockwise"). A vertical-stripe gradient, so it stays small.
 */
export async function sidewaysPhoto(width: number, height: number): Promise<Buffer> {
  const row = Buffer.alloc(width * 3);
  for (let x = 0; x < width; x++) row.fill(x % 256, x * 3, x * 3 + 3);
  return sharp(row, { raw: { width, height: 1, channels: 3 } })
    .resize(width, height, { kernel: 'nearest' })
    .jpeg({ quality: 80 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

/**
 * An RGB ICC profile named `name` with `tags` tag entries (its description, then unknown
 * ones) whose header declares `declaredTags` of them: a parser that walks the declared count
 * before checking it against the profile's length spins for as long as the count says.
 */
export function iccProfile(name: string, tags: number, declaredTags = tags): Buffer {
  const tableEnd = 132 + 12 * tags;
  const desc = Buffer.concat([Buffer.from('desc\0\0\0\0', 'latin1'), Buffer.alloc(4), Buffer.from(`${name}\0`, 'latin1')]);
  desc.writeUInt32BE(name.length + 1, 8);
  const profile = Buffer.alloc(tableEnd + desc.length);
  profile.writeUInt32BE(profile.length, 0);
  profile.write('mntrRGB XYZ ', 12, 'latin1');
  profile.write('acsp', 36, 'latin1');
  profile.writeUInt32BE(declaredTags, 128);
  profile.write('desc', 132, 'latin1');
  profile.writeUInt32BE(tableEnd, 136);
  profile.writeUInt32BE(desc.length, 140);
  for (let tag = 1; tag < tags; tag++) profile.write('zzzz', 132 + 12 * tag, 'latin1');
  desc.copy(profile, tableEnd);
  return profile;
}

/** `jpeg` with `profile` in one APP2 segment right after its start marker, where cameras put it. */
export function jpegWithIccProfile(jpeg: Buffer, profile: Buffer): Buffer {
  const payload = Buffer.concat([Buffer.from('ICC_PROFILE\0\x01\x01', 'latin1'), profile]);
  const app2 = Buffer.from([0xff, 0xe2, (payload.length + 2) >> 8, (payload.length + 2) & 0xff]);
  return Buffer.concat([jpeg.subarray(0, 2), app2, payload, jpeg.subarray(2)]);
}
