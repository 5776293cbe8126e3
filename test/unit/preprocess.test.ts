import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { ImageTooLargeError, InvalidImageError } from '../../image_classification/errors';
import { modelSpecSchema } from '../../image_classification/model/spec';
import { isSrgbProfile } from '../../image_classification/preprocess/colour-profile';
import { iccProfile, jpegWithIccProfile } from '../../harness/hostile/hostile-bodies';
import { decodeToRgb, planResize } from '../../image_classification/preprocess/image';
import { truncationReason } from '../../image_classification/preprocess/integrity';
import { batchDims, imageTensorLength, tensorLayout, writeImageToBatch } from '../../image_classification/preprocess/tensor';
import { DEFAULT_MAX_IMAGE_PIXELS } from '../../image_classification/preprocess/limits';

const spec = modelSpecSchema.parse({});
const MAX = DEFAULT_MAX_IMAGE_PIXELS;
const pixelAt = (rgb: Buffer, x: number, y: number, size = 224) => [...rgb.subarray((y * size + x) * 3, (y * size + x) * 3 + 3)];

/** A solid-colour image of the given size, encoded. */
const solid = (width: number, height: number, colour: { r: number; g: number; b: number; alpha?: number }, channels: 3 | 4 = 3) =>
  sharp({ create: { width, height, channels, background: colour } });

/** Left half red, right half blue: shows which way an image was turned. */
async function halves(width: number, height: number): Promise<Sharp> {
  const left = await solid(width / 2, height, { r: 255, g: 0, b: 0 })
    .png()
    .toBuffer();
  return solid(width, height, { r: 0, g: 0, b: 255 }).composite([{ input: left, left: 0, top: 0 }]);
}

test('planResize follows torchvision Resize(256) + CenterCrop(224)', () => {
  // 640×480: shorter side 480 → 256, longer int(256·640/480) = 341; crop offsets
  // int(round((341-224)/2)) = 58 (Python rounds 58.5 to the even 58), 16.
  assert.deepEqual(planResize(640, 480, 256, 224), {
    resizedWidth: 341,
    resizedHeight: 256,
    crop: { left: 58, top: 16, width: 224, height: 224 },
  });
  assert.deepEqual(planResize(480, 640, 256, 224), {
    resizedWidth: 256,
    resizedHeight: 341,
    crop: { left: 16, top: 58, width: 224, height: 224 },
  });
  // 1000×500 → 512×256: round(144) = 144; 1006×500 → 515×256: round(145.5) = 146 (up to even).
  assert.equal(planResize(1000, 500, 256, 224).crop.left, 144);
  assert.equal(planResize(1006, 500, 256, 224).crop.left, 146);
  assert.deepEqual(planResize(100, 100, 256, 224).crop, { left: 16, top: 16, width: 224, height: 224 });
});

test('a solid image becomes exactly (pixel/255 - mean)/std in every NCHW plane', async () => {
  const rgb = await decodeToRgb(await solid(300, 200, { r: 200, g: 100, b: 50 }).png().toBuffer(), spec, MAX);
  assert.equal(rgb.length, 224 * 224 * 3);
  const layout = tensorLayout(spec);
  const batch = new Float32Array(2 * imageTensorLength(layout));
  writeImageToBatch(rgb, batch, 1, layout);
  const plane = 224 * 224;
  const expected = [200, 100, 50].map((p, c) => (p / 255 - [0.485, 0.456, 0.406][c]!) / [0.229, 0.224, 0.225][c]!);
  for (let c = 0; c < 3; c++) {
    for (const p of [0, 1000, plane - 1]) assert.ok(Math.abs(batch[plane * 3 + c * plane + p]! - expected[c]!) < 1e-5);
  }
  assert.equal(batch[0], 0, 'slot 0 is left untouched');
  assert.deepEqual(batchDims(layout, 2), [2, 3, 224, 224]);
});

test('mobilenet scaling, BGR order and NHWC layout on a 2×2 image', () => {
  const tiny = modelSpecSchema.parse({
    resize_shorter_side: 2,
    crop_size: 2,
    rescale_factor: 1,
    mean: [128, 128, 128],
    std: [128, 128, 128],
    channel_order: 'BGR',
    layout: 'NHWC',
  });
  const layout = tensorLayout(tiny);
  const rgb = Uint8Array.from([0, 128, 255, 64, 64, 64, 255, 0, 0, 0, 0, 255]);
  const out = new Float32Array(12);
  writeImageToBatch(rgb, out, 0, layout);
  // pixel 0 = (r 0, g 128, b 255) → BGR (255, 128, 0) → (v-128)/128
  assert.deepEqual([...out.subarray(0, 3)], [127 / 128, 0, -1]);
  assert.deepEqual([...out.subarray(6, 9)], [-1, -1, 127 / 128]);
  assert.deepEqual(batchDims(layout, 1), [1, 2, 2, 3]);
});

test('the centre crop keeps the middle: left half red, right half blue', async () => {
  const rgb = await decodeToRgb(await (await halves(512, 256)).png().toBuffer(), spec, MAX);
  assert.deepEqual(pixelAt(rgb, 5, 100), [255, 0, 0]);
  assert.deepEqual(pixelAt(rgb, 218, 100), [0, 0, 255]);
});

test('EXIF orientation is honoured before resizing', async () => {
  // Stored landscape (red left, blue right) with orientation 6 = "rotate 90° clockwise to view":
  // upright it is portrait with red on top.
  const jpeg = await (await halves(512, 256)).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
  const rgb = await decodeToRgb(jpeg, spec, MAX);
  const [top, bottom] = [pixelAt(rgb, 112, 5), pixelAt(rgb, 112, 218)];
  assert.ok(top[0]! > 200 && top[2]! < 60, `top should be red, got ${top}`);
  assert.ok(bottom[2]! > 200 && bottom[0]! < 60, `bottom should be blue, got ${bottom}`);
});

/** Four coloured quadrants (red, green / blue, white): shows any turn or mirror. */
async function quadrants(width: number, height: number): Promise<Buffer> {
  const [w, h] = [width / 2, height / 2];
  const tile = (r: number, g: number, b: number) => solid(w, h, { r, g, b }).png().toBuffer();
  return solid(width, height, { r: 0, g: 0, b: 0 })
    .composite([
      { input: await tile(255, 0, 0), left: 0, top: 0 },
      { input: await tile(0, 255, 0), left: w, top: 0 },
      { input: await tile(0, 0, 255), left: 0, top: h },
      { input: await tile(255, 255, 255), left: w, top: h },
    ])
    .png()
    .toBuffer();
}

test('every EXIF orientation is turned upright before the centre crop', async () => {
  // Upright: a 768×512 landscape of quadrants. For each orientation, the pixels a camera would
  // store (the upright image put through that orientation's inverse), tagged with it.
  const upright = await quadrants(768, 512);
  const turn = async (image: Buffer, angle: number, mirror: boolean) => {
    const turned = await sharp(image).rotate(angle).png().toBuffer();
    return mirror ? sharp(turned).flop().png().toBuffer() : turned;
  };
  const stored: Record<number, Promise<Buffer>> = {
    1: Promise.resolve(upright),
    2: turn(upright, 0, true),
    3: turn(upright, 180, false),
    4: turn(await turn(upright, 180, false), 0, true),
    5: turn(upright, 90, true),
    6: turn(upright, 270, false),
    7: turn(upright, 270, true),
    8: turn(upright, 90, false),
  };
  for (const [orientation, pixels] of Object.entries(stored)) {
    const jpeg = await sharp(await pixels)
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: Number(orientation) })
      .toBuffer();
    const rgb = await decodeToRgb(jpeg, spec, MAX);
    // Resized to 336×224 and cropped to the middle 224: each quadrant still fills a corner.
    const corners = [pixelAt(rgb, 20, 20), pixelAt(rgb, 203, 20), pixelAt(rgb, 20, 203), pixelAt(rgb, 203, 203)];
    const expected = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [255, 255, 255],
    ];
    corners.forEach((got, i) =>
      assert.ok(
        got.every((v, c) => Math.abs(v - expected[i]![c]!) < 40),
        `orientation ${orientation}, corner ${i}: got ${got}`,
      ),
    );
  }
});

test('alpha is flattened onto white; grey, CMYK and 16-bit become 8-bit RGB', async () => {
  const transparent = await solid(64, 64, { r: 0, g: 0, b: 0, alpha: 0 }, 4).png().toBuffer();
  assert.deepEqual(pixelAt(await decodeToRgb(transparent, spec, MAX), 100, 100), [255, 255, 255]);

  const grey = await solid(64, 64, { r: 90, g: 90, b: 90 }).toColourspace('b-w').png().toBuffer();
  assert.equal((await sharp(grey).metadata()).channels, 1);
  assert.deepEqual(pixelAt(await decodeToRgb(grey, spec, MAX), 10, 10), [90, 90, 90]);

  const cmyk = await solid(64, 64, { r: 255, g: 0, b: 0 }).toColourspace('cmyk').jpeg().toBuffer();
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
  const red = pixelAt(await decodeToRgb(cmyk, spec, MAX), 50, 50);
  assert.ok(red[0]! > 200 && red[1]! < 80 && red[2]! < 80, `CMYK red decoded as ${red}`);

  const deep = await solid(64, 64, { r: 10, g: 200, b: 30 }).toColourspace('rgb16').png().toBuffer();
  assert.equal((await sharp(deep).metadata()).depth, 'ushort');
  const px = pixelAt(await decodeToRgb(deep, spec, MAX), 50, 50);
  assert.ok(Math.abs(px[0]! - 10) <= 1 && Math.abs(px[1]! - 200) <= 1 && Math.abs(px[2]! - 30) <= 1, `16-bit decoded as ${px}`);
});

test('an embedded colour profile is applied: Display P3 numbers are converted, sRGB (skipped) ones kept', async () => {
  const colour = { r: 200, g: 100, b: 50 };
  const tagged = (profile: string) => solid(64, 64, colour).png().withIccProfile(profile).toBuffer();
  const [srgb, p3] = await Promise.all([tagged('srgb'), tagged('p3')]);
  assert.equal(isSrgbProfile((await sharp(srgb).metadata()).icc!), true);
  assert.equal(isSrgbProfile((await sharp(p3).metadata()).icc!), false);
  assert.equal(isSrgbProfile(Buffer.from('not an ICC profile')), false);

  assert.deepEqual(pixelAt(await decodeToRgb(srgb, spec, MAX), 50, 50), [200, 100, 50]);
  // withIccProfile stores the colour as P3 numbers; only converting them back gives it again.
  const stored = [...(await sharp(p3, { ignoreIcc: true }).raw().toBuffer()).subarray(0, 3)];
  assert.ok(Math.abs(stored[0]! - 200) + Math.abs(stored[2]! - 50) > 20, `P3 numbers ${stored}`);
  const fromP3 = pixelAt(await decodeToRgb(p3, spec, MAX), 50, 50);
  assert.ok(
    fromP3.every((value, c) => Math.abs(value - [200, 100, 50][c]!) <= 2),
    `Display P3 decoded as ${fromP3}`,
  );
  // The same in 16 bits per channel, where sharp's working space is Display P3 itself.
  for (const profile of ['p3', 'srgb']) {
    const deep = await solid(64, 64, colour).toColourspace('rgb16').png().withIccProfile(profile).toBuffer();
    assert.equal((await sharp(deep).metadata()).space, 'rgb16');
    const px = pixelAt(await decodeToRgb(deep, spec, MAX), 50, 50);
    assert.ok(
      px.every((value, c) => Math.abs(value - [200, 100, 50][c]!) <= 2),
      `16-bit ${profile} decoded as ${px}`,
    );
  }
});

test("a profile's tags are not walked past 100 (its 4-byte count could declare billions): it is left to libvips", async () => {
  assert.equal(isSrgbProfile(iccProfile('sRGB', 100)), true);
  assert.equal(isSrgbProfile(iccProfile('sRGB', 101)), false);
  const jpeg = await solid(64, 64, { r: 200, g: 100, b: 50 }).jpeg().toBuffer();
  const profile = iccProfile('sRGB', 1, 0xffffffff);
  const tagged = jpegWithIccProfile(jpeg, profile);
  assert.equal((await sharp(tagged).metadata()).icc?.length, profile.length);
  // libvips cannot convert with it either: the pixels decode as they are stored.
  const px = pixelAt(await decodeToRgb(tagged, spec, MAX), 50, 50);
  assert.ok(
    px.every((value, c) => Math.abs(value - [200, 100, 50][c]!) <= 3),
    `decoded as ${px}`,
  );
});

test('bad images are refused with typed errors, huge ones before decoding', async () => {
  await assert.rejects(decodeToRgb(Buffer.alloc(0), spec, MAX), InvalidImageError);
  await assert.rejects(decodeToRgb(Buffer.from('definitely not an image'), spec, MAX), InvalidImageError);
  const jpeg = await solid(300, 300, { r: 1, g: 2, b: 3 }).jpeg().toBuffer();
  await assert.rejects(decodeToRgb(jpeg.subarray(0, jpeg.length / 2), spec, MAX), InvalidImageError);
  await assert.rejects(decodeToRgb(jpeg, spec, 300 * 300 - 1), ImageTooLargeError);
});

test("a strip whose resized longer side would pass libvips' limit is refused before decoding; a long one is served", async () => {
  const strip = (width: number, height: number) => solid(width, height, { r: 9, g: 9, b: 9 }).png().toBuffer();
  // Shorter side 1 → 256: 50,000 → 12,800,000.
  await assert.rejects(decodeToRgb(await strip(50_000, 1), spec, MAX), (error: Error) => {
    assert.ok(error instanceof InvalidImageError);
    assert.match(error.message, /50000×1 pixels: resized for the model, its longer side would pass 10000000 pixels/);
    return true;
  });
  assert.equal((await decodeToRgb(await strip(4000, 1), spec, MAX)).length, 224 * 224 * 3);
});

test('progressive JPEG, interlaced PNG and GIF decode whole frames: the 16 MP cap of HEIF and AVIF applies', async () => {
  const flat = () => solid(5000, 4000, { r: 40, g: 80, b: 120 });
  const refused = async (image: Buffer, kind: string) =>
    assert.rejects(decodeToRgb(image, spec, MAX), (error: Error) => {
      assert.ok(error instanceof ImageTooLargeError, `${kind}: ${error.message}`);
      assert.match(error.message, new RegExp(`the ${kind} image is 5000×4000 pixels; at most 16000000`));
      return true;
    });
  await refused(await flat().jpeg({ progressive: true }).toBuffer(), 'progressive jpeg');
  await refused(await flat().png({ progressive: true, compressionLevel: 1 }).toBuffer(), 'interlaced png');
  await refused(await flat().gif().toBuffer(), 'gif');
  // The same pixels, baseline and non-interlaced: decoded in strips, so the 64 MP cap.
  assert.equal((await decodeToRgb(await flat().jpeg().toBuffer(), spec, MAX)).length, 224 * 224 * 3);
  assert.equal((await decodeToRgb(await flat().png({ compressionLevel: 1 }).toBuffer(), spec, MAX)).length, 224 * 224 * 3);
});

test('truncation is caught even when the missing tail lies outside the crop', async () => {
  const jpeg = await solid(300, 200, { r: 9, g: 9, b: 9 }).jpeg().toBuffer();
  const png = await solid(300, 200, { r: 9, g: 9, b: 9 }).png().toBuffer();
  const webp = await solid(300, 200, { r: 9, g: 9, b: 9 }).webp().toBuffer();
  for (const [format, image] of [
    ['jpeg', jpeg],
    ['png', png],
    ['webp', webp],
  ] as const) {
    assert.equal(truncationReason(image, format), undefined, `${format} complete`);
    assert.match(truncationReason(image.subarray(0, image.length - 3), format) ?? '', /./, `${format} missing 3 bytes`);
  }
  assert.equal(truncationReason(Buffer.concat([jpeg, Buffer.from('trailer')]), 'jpeg'), undefined, 'data after EOI is allowed');
  await assert.rejects(decodeToRgb(jpeg.subarray(0, jpeg.length - 2), spec, MAX), /truncated/);
});

test('preprocessing.json whose scaling overflows float32 is refused; extreme but finite scaling is kept', () => {
  for (const overflowing of [{ std: [1e-300, 1, 1] }, { rescale_factor: 1e308 }, { mean: [-1e39, 0, 0], std: [1, 1, 1] }]) {
    const parsed = modelSpecSchema.safeParse(overflowing);
    assert.equal(parsed.success, false, JSON.stringify(overflowing));
    assert.match(parsed.error!.issues.map((issue) => issue.message).join(), /finite float32/);
  }
  assert.ok(modelSpecSchema.safeParse({ rescale_factor: 1e30, mean: [0, 0, 0], std: [1, 1, 1] }).success);
});
