import { BadRequestError } from '../errors';
import { checkJsonDepth } from './json-depth';
import { MAX_IMAGES_PER_REQUEST } from './limits';

export interface DecodedInput {
  readonly images: Buffer[];
  /** The client sent a list, so it gets a list back (even of one). */
  readonly isList: boolean;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function decodeBase64(value: unknown, where: string): Buffer {
  if (typeof value !== 'string') throw new BadRequestError(`${where} must be a base64 string`, 'invalid_json');
  const payload = value.replace(/^data:[^,]*;base64,/, '').replace(/\s+/g, '');
  if (payload.length === 0 || !BASE64.test(payload)) {
    throw new BadRequestError(`${where} is not valid base64`, 'invalid_base64');
  }
  return Buffer.from(payload, 'base64');
}

/** TF-Serving style `{"b64": "..."}` instances are accepted besides bare strings. */
function decodeItem(item: unknown, where: string): Buffer {
  if (typeof item === 'object' && item !== null && 'b64' in item) return decodeBase64(item.b64, `${where}.b64`);
  return decodeBase64(item, where);
}

function decodeList(items: unknown[], where: string): DecodedInput {
  if (items.length === 0) throw new BadRequestError(`${where} is an empty list`, 'invalid_json');
  if (items.length > MAX_IMAGES_PER_REQUEST) {
    throw new BadRequestError(`${where} holds ${items.length} images; at most ${MAX_IMAGES_PER_REQUEST} per request`, 'too_many_images');
  }
  return { images: items.map((item, i) => decodeItem(item, `${where}[${i}]`)), isList: true };
}

export function parseJsonBody(body: Buffer): unknown {
  checkJsonDepth(body);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new BadRequestError(`the body is not valid JSON (${(error as Error).message})`, 'invalid_json');
  }
}

/**
 * JSON bodies with images: a base64 string, a list of them, `{"b64": …}`, or an object with `image` (one),
 * `images` or `instances` (a list). Data-URL prefixes are tolerated.
 */
export function decodeJsonImages(parsed: unknown): DecodedInput {
  if (typeof parsed === 'string') return { images: [decodeBase64(parsed, 'body')], isList: false };
  if (Array.isArray(parsed)) return decodeList(parsed, 'body');
  if (typeof parsed === 'object' && parsed !== null) {
    const record = parsed as Record<string, unknown>;
    if ('image' in record) return { images: [decodeItem(record.image, 'image')], isList: false };
    if ('b64' in record) return { images: [decodeItem(record, 'body')], isList: false };
    for (const key of ['images', 'instances']) {
      const value = record[key];
      if (Array.isArray(value)) return decodeList(value, key);
    }
  }
  throw new BadRequestError(
    'JSON bodies must be a base64 string, a list of them, {"image": "<base64>"} / {"images": [...]} / {"instances": [...]}, ' +
      'or a tensor (nested number lists or {"inputs": ...})',
    'invalid_json',
  );
}
