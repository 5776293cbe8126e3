import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { modelSpecSchema } from '../../image_classification/model/spec';
import { decodeToRgb } from '../../image_classification/preprocess/image';
import { DEFAULT_MAX_IMAGE_PIXELS } from '../../image_classification/preprocess/limits';
import { sidewaysPhoto } from '../../harness/hostile/hostile-bodies';

// Its own file, so its own process: libvips' memory high-water mark below counts only this test.

test('a sideways-stored (EXIF-oriented) 24 MP JPEG is decoded like an upright one, not turned upright at full size first', async () => {
  const spec = modelSpecSchema.parse({ resize_shorter_side: 384, crop_size: 384 });
  // A portrait phone photo as the camera stores it: landscape pixels, EXIF 6 ("turn 90° clockwise").
  const jpeg = await sidewaysPhoto(5664, 4248);
  const before = sharp.cache().memory.high;
  const rgb = await decodeToRgb(jpeg, spec, DEFAULT_MAX_IMAGE_PIXELS);
  assert.equal(rgb.length, 384 * 384 * 3);
  // Turning it upright first holds the whole 24 MP image, 72 MB, in libvips' memory; decoding
  // it sideways with JPEG shrink-on-load and turning the small result needs a few MB.
  const high = sharp.cache().memory.high;
  assert.ok(high < 30, `libvips held up to ${high} MB (before the decode: ${before} MB)`);
});

test('a thin EXIF-oriented strip, enlarged to the model size, is cropped as stored: the whole resized strip is never held', async () => {
  const spec = modelSpecSchema.parse({ resize_shorter_side: 384, crop_size: 384 });
  // 800×8 stored, 8×800 upright: resized to 384×38,400 (44 MB of RGB) if it were oriented after the resize.
  const strip = await sharp({ create: { width: 800, height: 8, channels: 3, background: '#4a6' } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer();
  const rgb = await decodeToRgb(strip, spec, DEFAULT_MAX_IMAGE_PIXELS);
  assert.equal(rgb.length, 384 * 384 * 3);
  const high = sharp.cache().memory.high;
  assert.ok(high < 30, `libvips held up to ${high} MB`);
});
