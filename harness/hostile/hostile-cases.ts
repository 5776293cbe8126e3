import net from 'node:net';
import sharp from 'sharp';
import type { Served } from '../serve-process';
import { sample } from '../env';
import { post, rawRequest, type Answer, type HostileCase } from './hostile';
import {
  deepJson,
  deflatedZeros,
  iccProfile,
  jpegWithIccProfile,
  npyManyUnitDims,
  npyRepeatedShapeKey,
  npzLyingAboutSize,
  sidewaysPhoto,
  tinyJpegList,
  zip64ClaimingEntries,
  zipWithOneMember,
} from './hostile-bodies';

/**
 * Hostile request shapes, each small or ordinary on the wire, that could freeze a worker, grow
 * it by gigabytes, lock out traffic or answer with something other than JSON if a bound were
 * missing. Run by the hostile suite and by `npm run hostile`, against
 * a serve started with HOSTILE_SERVE_ENV.
 */

/** A short request timeout, so the decode-heavy case ends in seconds; everything else is the default. */
export const HOSTILE_SERVE_ENV = { SAGEMAKER_MODEL_SERVER_TIMEOUT: '5' } as const;

const GIB = 1024 * 1024 * 1024;

const portOf = (served: Served) => Number(new URL(served.url).port);

/** A connection that sends its headers and one byte of a 100 kB body, then nothing. */
function stalledUpload(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\nx');
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

async function whileUploadsStall(served: Served, count: number, request: () => Promise<Answer>): Promise<Answer> {
  const sockets = await Promise.all(Array.from({ length: count }, () => stalledUpload(portOf(served))));
  try {
    await new Promise((r) => setTimeout(r, 500));
    return await request();
  } finally {
    for (const socket of sockets) socket.destroy();
  }
}

/** `count` copies of one image as a JSON list of base64 strings. */
function jsonList(image: Buffer, count: number): Buffer {
  return Buffer.from(JSON.stringify({ images: Array.from({ length: count }, () => image.toString('base64')) }));
}

export async function buildHostileCases(): Promise<HostileCase[]> {
  const jpeg = await sample('paper.jpg');
  const tinyJpegs = await tinyJpegList(64);
  // One colour, under 1 kB each: 64 MP (over the AVIF cap), and 16 MP (at it; ~0.5 s of decoding).
  const flatAvif = (side: number) =>
    sharp({ create: { width: side, height: side, channels: 3, background: '#4a6' } })
      .avif()
      .toBuffer();
  const [hugeAvif, avif] = await Promise.all([flatAvif(8000), flatAvif(4000)]);
  const sidewaysJpeg = await sidewaysPhoto(9216, 6912);
  const sidewaysStrip = await sharp({ create: { width: 1200, height: 1, channels: 3, background: '#888' } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer();
  // 20 MP, 16-bit RGBA, interlaced: decoded whole (160 MB), so refused by the 16 MP cap from its header.
  const interlacedPng = await sharp({
    create: { width: 5000, height: 4000, channels: 4, background: { r: 120, g: 30, b: 200, alpha: 0.5 } },
  })
    .toColourspace('rgb16')
    .png({ progressive: true, compressionLevel: 1 })
    .toBuffer();
  const iccBomb = jpegWithIccProfile(jpeg, iccProfile('sRGB', 1, 0xffffffff));
  const lyingNpz = await npzLyingAboutSize(GIB);
  const declaringNpz = zipWithOneMember('x.npy', await deflatedZeros(1024 * 1024), GIB);
  const csvRow = Buffer.from(`${Array.from({ length: 3_000_000 }, () => '0').join(',')}\n`);
  const jsonNumbers = Buffer.from(`[${Array.from({ length: 3_000_000 }, () => '0').join(',')}]`);
  const longCell = Buffer.from(`1,${'x'.repeat(5 * 1024 * 1024)}\n`);
  const request = (head: string, body: Buffer = jpeg) => Buffer.concat([Buffer.from(head.replace('{length}', String(body.length))), body]);
  const bulky = 'b'.repeat(12_000);

  const cases: HostileCase[] = [
    {
      name: `64 1×1 JPEGs in ${Math.round(tinyJpegs.length / 1024)} kB of JSON`,
      expect: [200],
      run: (s) => post(s, tinyJpegs, 'application/json'),
    },
    { name: 'the same again (memory must not grow)', expect: [200], run: (s) => post(s, tinyJpegs, 'application/json') },
    { name: 'a 64-MP AVIF (847 B; 1.1 GB to decode)', expect: [400], code: 'image_too_large', run: (s) => post(s, hugeAvif, 'image/avif') },
    {
      name: `a 64-MP JPEG stored sideways, EXIF orientation 6 (${Math.round(sidewaysJpeg.length / 1024)} kB)`,
      expect: [200],
      run: (s) => post(s, sidewaysJpeg, 'image/jpeg'),
    },
    {
      name: `a ${sidewaysStrip.length}-byte 1200×1 JPEG stored sideways (1×1200 upright; 384×460,800 resized)`,
      expect: [200],
      run: (s) => post(s, sidewaysStrip, 'image/jpeg'),
    },
    {
      name: `a 20-MP 16-bit interlaced PNG (${Math.round(interlacedPng.length / 1024)} kB)`,
      expect: [400],
      code: 'image_too_large',
      run: (s) => post(s, interlacedPng, 'image/png'),
    },
    {
      name: `a photo whose colour profile declares 4,294,967,295 tags (${Math.round(iccBomb.length / 1024)} kB)`,
      expect: [200],
      run: (s) => post(s, iccBomb, 'image/jpeg'),
    },
    {
      name: `64 × 16-MP AVIFs in ${Math.round(jsonList(avif, 64).length / 1024)} kB (timeout 5 s)`,
      expect: [504],
      code: 'timeout',
      run: (s) => post(s, jsonList(avif, 64), 'application/json'),
    },
    {
      name: 'NPZ: zip64 record claims 10 M members',
      expect: [400],
      code: 'invalid_npz',
      run: (s) => post(s, zip64ClaimingEntries(10_000_000), 'application/x-npz'),
    },
    {
      name: `NPZ: member says 128 B, inflates to 1 GiB (${Math.round(lyingNpz.length / 1024)} kB)`,
      expect: [400],
      code: 'invalid_npz',
      run: (s) => post(s, lyingNpz, 'application/x-npz'),
    },
    { name: 'NPZ: member declares 1 GiB', expect: [400], code: 'tensor_too_large', run: (s) => post(s, declaringNpz, 'application/x-npz') },
    {
      name: "NPY: 320 kB header of 'shape': (",
      expect: [400],
      code: 'invalid_npy',
      run: (s) => post(s, npyRepeatedShapeKey(320_000), 'application/x-npy'),
    },
    {
      name: "NPY: 10 kB header of 'shape': (",
      expect: [400],
      code: 'invalid_npy',
      run: (s) => post(s, npyRepeatedShapeKey(9_900), 'application/x-npy'),
    },
    {
      name: 'NPY: Fortran order, 96,000 dims of 1',
      expect: [400],
      code: 'invalid_npy',
      run: (s) => post(s, npyManyUnitDims(96_000), 'application/x-npy'),
    },
    {
      name: 'JSON tensor nested 5,000 deep',
      expect: [400],
      code: 'invalid_json',
      run: (s) => post(s, deepJson(5000), 'application/json'),
    },
    { name: 'JSON: 3 M numbers (6 MB)', expect: [400], code: 'wrong_shape', run: (s) => post(s, jsonNumbers, 'application/json') },
    { name: 'CSV: one row of 3 M numbers (6 MB)', expect: [400], code: 'wrong_shape', run: (s) => post(s, csvRow, 'text/csv') },
    { name: 'CSV: a 5 MB cell (not echoed back)', expect: [400], code: 'invalid_csv', run: (s) => post(s, longCell, 'text/csv') },
    {
      name: '70 uploads stalled after 1 byte, then a photo',
      expect: [200],
      run: (s) => whileUploadsStall(s, 70, () => post(s, jpeg, 'image/jpeg')),
    },
    { name: 'X-Request-Id of 15 kB', expect: [200], run: (s) => post(s, jpeg, 'image/jpeg', { 'X-Request-Id': 'r'.repeat(15_000) }) },
    {
      name: 'Inference-Id and Target-Variant of 10 kB (endpoint path)',
      expect: [200],
      run: (s) =>
        post(
          s,
          jpeg,
          'image/jpeg',
          { 'X-Amzn-SageMaker-Inference-Id': 'i'.repeat(10_000), 'X-Amzn-SageMaker-Target-Variant': 'v'.repeat(10_000) },
          '/endpoints/demo/invocations',
        ),
    },
    {
      name: '36 kB of headers in all',
      expect: [200],
      run: (s) => post(s, jpeg, 'image/jpeg', { 'X-A': bulky, 'X-B': bulky, 'X-C': bulky }),
    },
    {
      name: 'a control character in a header',
      expect: [400],
      code: 'bad_request',
      run: (s) =>
        rawRequest(
          portOf(s),
          request(
            'POST /invocations HTTP/1.1\r\nHost: x\r\nX-Odd: a\u0001b\r\nContent-Type: image/jpeg\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n',
          ),
        ),
    },
    {
      name: 'HTTP/1.0 without Host',
      expect: [200],
      run: (s) =>
        rawRequest(portOf(s), request('POST /invocations HTTP/1.0\r\nContent-Type: image/jpeg\r\nContent-Length: {length}\r\n\r\n')),
    },
    {
      name: 'TRACE',
      expect: [405],
      code: 'method_not_allowed',
      run: (s) => rawRequest(portOf(s), 'TRACE /invocations HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    },
    {
      name: 'Transfer-Encoding: gzip, chunked',
      expect: [501],
      code: 'not_implemented',
      run: (s) =>
        rawRequest(
          portOf(s),
          'POST /invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n',
        ),
    },
    {
      name: 'HTTP/2.0 request line',
      expect: [505, 400],
      run: (s) => rawRequest(portOf(s), 'GET /ping HTTP/2.0\r\nHost: x\r\nConnection: close\r\n\r\n'),
    },
  ];
  return cases;
}
