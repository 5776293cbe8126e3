import { BadRequestError } from '../errors';
import { inputKindOf } from './content-types';
import { decodeCsv } from './csv';
import { spendImages } from './image-budget';
import { decodeJsonImages, parseJsonBody, type DecodedInput } from './image-input';
import { fromNested, isFiniteFloat32, type NdArray } from './ndarray';
import { decodeNpy } from './npy';
import { decodeNpz } from './npz';

/**
 * What the built-in input decoder makes of a body: encoded images to preprocess, or tensors
 * that already are the model's input (by name; '' when the format carries no name).
 */
export type DecodedBody =
  ({ readonly kind: 'images' } & DecodedInput) | { readonly kind: 'tensors'; readonly tensors: ReadonlyMap<string, NdArray> };

const unnamed = (tensor: NdArray): DecodedBody => ({ kind: 'tensors', tensors: new Map([['', tensor]]) });

/** True for a number or (nested) lists whose first leaf is a number: a tensor, not images. */
function looksNumeric(value: unknown): boolean {
  let leaf = value;
  while (Array.isArray(leaf)) leaf = leaf[0];
  return typeof leaf === 'number';
}

/** JSON tensors: nested lists, `{"inputs": <nested>}`, `{"inputs": {"<name>": <nested>}}`, or numeric `{"instances": …}`. */
function decodeJson(body: Buffer): DecodedBody {
  const parsed = parseJsonBody(body);
  if (looksNumeric(parsed)) return unnamed(fromNested(parsed));
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    const { inputs, instances } = parsed as Record<string, unknown>;
    if (inputs !== undefined && looksNumeric(inputs)) return unnamed(fromNested(inputs, 'inputs'));
    if (typeof inputs === 'object' && inputs !== null && !Array.isArray(inputs)) {
      const named = Object.entries(inputs).map(([name, value]) => [name, fromNested(value, `inputs.${name}`)] as const);
      if (named.length === 0) throw new BadRequestError('"inputs" names no tensor', 'invalid_json');
      return { kind: 'tensors', tensors: new Map(named) };
    }
    if (instances !== undefined && looksNumeric(instances)) return unnamed(fromNested(instances, 'instances'));
  }
  return { kind: 'images', ...decodeJsonImages(parsed) };
}

/** NaN, ±Infinity and values past float32's range are refused in NPY and NPZ tensors as in JSON and CSV. */
function finite(tensor: NdArray, where: string): NdArray {
  const { data } = tensor;
  if (data instanceof Float32Array || data instanceof Float64Array) {
    for (let i = 0; i < data.length; i++) {
      if (!isFiniteFloat32(data[i]!))
        throw new BadRequestError(`${where} holds ${data[i]} at flat index ${i}; values must be finite float32 numbers`, 'invalid_tensor');
    }
  }
  return tensor;
}

/** Every decoder's first check: an empty body is a client's mistake, whatever its type. */
export function requireBody(body: Buffer): void {
  if (body.length === 0) throw new BadRequestError('the request body is empty', 'empty_body');
}

/** The built-in inputFn: decode a body by its Content-Type; its images count against the request's budget. */
export async function decodeBody(body: Buffer, contentType: string): Promise<DecodedBody> {
  const decoded = await decodeByType(body, contentType);
  if (decoded.kind === 'images') spendImages(decoded.images.length);
  return decoded;
}

async function decodeByType(body: Buffer, contentType: string): Promise<DecodedBody> {
  requireBody(body);
  switch (inputKindOf(contentType)) {
    case 'json':
      return decodeJson(body);
    case 'csv':
      return unnamed(decodeCsv(body));
    case 'npy':
      return unnamed(finite(decodeNpy(body), 'the NPY tensor'));
    case 'npz': {
      const tensors = await decodeNpz(body);
      for (const [name, tensor] of tensors) finite(tensor, `NPZ member ${name}`);
      return { kind: 'tensors', tensors };
    }
    default:
      return { kind: 'images', images: [body], isList: false };
  }
}
