/**
 * Deliberate breaks of the source that the unit and integration tests must catch: each is one
 * exact text replacement in one file, and the test files (under dist/test/) expected to fail.
 */
export interface Mutation {
  readonly id: string;
  readonly what: string;
  readonly file: string;
  readonly find: string;
  readonly replace: string;
  readonly tests: readonly string[];
}

const m = (id: string, what: string, file: string, find: string, replace: string, tests: string[]): Mutation => ({
  id,
  what,
  file: `image_classification/${file}`,
  find,
  replace,
  tests,
});

export const MUTATIONS: readonly Mutation[] = [
  m('timeout-500', 'the 504 timeout answered as 500', 'errors/request.ts', "super(504, 'timeout'", "super(500, 'timeout'", [
    'integration/invocations',
  ]),
  m(
    'accept-fallback',
    'an unacceptable Accept falls back to the default instead of 406',
    'codecs/negotiation.ts',
    'if (!chosen) throw new NotAcceptableError(asked, ordered);',
    'if (!chosen && !defaultType) throw new NotAcceptableError(asked, ordered);\n  if (!chosen) return defaultType;',
    ['integration/invocations', 'unit/negotiation'],
  ),
  m(
    'npy-trailing',
    'NPY bodies with trailing bytes accepted',
    'codecs/npy.ts',
    'if (available !== dataBytes) {',
    'if (available < dataBytes) {',
    ['unit/codecs', 'unit/hostile-codecs'],
  ),
  m(
    'cap-100000',
    'the 64-images-per-request cap raised to 100,000',
    'codecs/limits.ts',
    'MAX_IMAGES_PER_REQUEST = 64;',
    'MAX_IMAGES_PER_REQUEST = 100_000;',
    ['integration/request-limits'],
  ),
  m(
    'auto-inverted',
    '`apply_softmax: "auto"` decided the wrong way round',
    'classifier/predictor.ts',
    "setting === 'auto' ? !isDistribution(scores[0]!) : setting",
    "setting === 'auto' ? isDistribution(scores[0]!) : setting",
    ['integration/softmax'],
  ),
  m(
    'tensor-count-removed',
    'the image-count check on tensor bodies removed',
    'classifier/predictor.ts',
    'if (count > MAX_IMAGES_PER_REQUEST)',
    'if (count > MAX_IMAGES_PER_REQUEST * 1000)',
    ['integration/request-limits'],
  ),
  m(
    'endpoints-500',
    '`/endpoints/…/invocations` errors answered 500 instead of 424',
    'http/runtime-emulation.ts',
    '.status(424)',
    '.status(500)',
    ['integration/runtime-emulation'],
  ),
  m(
    'request-id-20000',
    'request ids echoed up to 20,000 characters',
    'http/request-log.ts',
    '/^[\\x21-\\x7e]{1,200}$/',
    '/^[\\x21-\\x7e]{1,20000}$/',
    ['integration/runtime-emulation'],
  ),
  m(
    'base64-unchecked',
    'base64 image strings not checked before decoding',
    'codecs/image-input.ts',
    'if (payload.length === 0 || !BASE64.test(payload)) {',
    'if (payload.length === 0 || (!BASE64.test(payload) && payload.length < 0)) {',
    ['integration/invocations'],
  ),
  m('npz-members-6400', 'the 64-member NPZ cap raised to 6,400', 'codecs/limits.ts', 'MAX_NPZ_MEMBERS = 64;', 'MAX_NPZ_MEMBERS = 6400;', [
    'unit/npz-limits',
  ]),
  m(
    'argmin',
    "the highest probability's class replaced by the lowest's",
    'classifier/classify.ts',
    'if (probs[i]! > probs[best]!) best = i;',
    'if (probs[i]! < probs[best]!) best = i;',
    ['integration/invocations'],
  ),
  m(
    'labels-check-removed',
    'the labels-vs-outputs check at load removed',
    'classifier/predictor.ts',
    'if (classes !== this.bundle.labels.length) {',
    'if (classes < 0) {',
    ['integration/documented-claims'],
  ),
  m(
    'variant-unchecked',
    'any Target-Variant echoed',
    'http/runtime-emulation.ts',
    'variant && VARIANT_NAME.test(variant) ? variant',
    'variant && (VARIANT_NAME.test(variant) || variant.length > 0) ? variant',
    ['integration/runtime-emulation'],
  ),
  m('inference-id-long', 'inference ids echoed up to 6,300 characters', 'http/runtime-emulation.ts', '{0,63}$/;', '{0,6300}$/;', [
    'integration/runtime-emulation',
  ]),
  m(
    'payload-413-to-400',
    '`payload_too_large` answered 400 instead of 413',
    'errors/request.ts',
    "super(413, 'payload_too_large'",
    "super(400, 'payload_too_large'",
    ['integration/invocations'],
  ),
  m(
    'modelerror-status-lost',
    "a ModelError's `OriginalStatusCode` lost",
    'http/runtime-emulation.ts',
    'OriginalStatusCode: status,',
    'OriginalStatusCode: 500,',
    ['integration/runtime-emulation'],
  ),
  m('spec-not-strict', 'unknown preprocessing.json keys accepted', 'model/spec.ts', '  .strict()\n', '', ['integration/documented-claims']),
  m(
    'input-name-ignored',
    'the tensor named after the model input not preferred',
    'handler/builtin.ts',
    'const named = tensors.get(inputName) ?? (tensors.size === 1',
    'const named = [...tensors.values()][0] ?? (tensors.size === 1',
    ['integration/documented-claims'],
  ),
  m(
    'npy-answer-always-list',
    'an NPY answer for one image shaped as a list',
    'classifier/classifications.ts',
    'this.isList ? [this.rows.length, this.labels.length] : [this.labels.length]',
    '[this.rows.length, this.labels.length]',
    ['integration/documented-claims'],
  ),
  m(
    'softmax-no-max-shift',
    'softmax without subtracting the largest logit',
    'classifier/classify.ts',
    'out[i] = Math.exp(values[i]! - max);',
    'out[i] = Math.exp(values[i]!);',
    ['integration/softmax', 'unit/postprocess'],
  ),
  m(
    'orient-at-full-size',
    'sharp turns an EXIF-oriented photo upright before the crop, at full size',
    'preprocess/image.ts',
    '.timeout({ seconds: Math.ceil(timeoutSeconds) })',
    '.timeout({ seconds: Math.ceil(timeoutSeconds) }).autoOrient()',
    ['unit/orientation-memory'],
  ),
  m(
    'backup-answers-at-once',
    "nginx's backup answers 503 without trying the workers again (an nginx of the configuration before a reload)",
    'nginx-config.ts',
    'ALL_WORKER_SERVERS: workerSlots.map((i) => server(i, false))',
    'ALL_WORKER_SERVERS: workerSlots.map((i) => server(i, true))',
    ['robustness/nginx-backup'],
  ),
  m(
    'crop-half-up',
    "the centre crop's offset rounds halves up (torchvision's round takes them to the even neighbour)",
    'preprocess/image.ts',
    'left: roundHalfToEven((resizedWidth - cropSize) / 2),',
    'left: Math.round((resizedWidth - cropSize) / 2),',
    ['unit/preprocess'],
  ),
  m('worker-outlives-pm2', 'a worker ignores its pm2 going away', 'worker.ts', "else process.once('disconnect', end);", '', ['e2e/serve']),
  m(
    'glibc-workers',
    "serve's workers run on glibc's malloc where jemalloc is installed",
    'worker-env.ts',
    'LD_PRELOAD: [preload',
    'UNUSED_PRELOAD: [preload',
    ['unit/allocator', 'e2e/serve'],
  ),
  m(
    'idle-heap-kept',
    'an idle worker collects its garbage but keeps the freed C heap',
    'memory-trim.ts',
    'if (!memory.release())',
    'if (!memory.allocator)',
    ['e2e/serve'],
  ),
  m(
    'every-profile-skipped',
    'every embedded colour profile is skipped, not only sRGB',
    'preprocess/colour-profile.ts',
    "return profile.colorSpace === 'RGB' && SRGB_PROFILE_NAMES",
    "return profile.colorSpace === 'RGB' || SRGB_PROFILE_NAMES",
    ['unit/preprocess'],
  ),
  m(
    'icc-tags-walked',
    "a colour profile's declared tag count is walked however large",
    'preprocess/colour-profile.ts',
    'icc.readUInt32BE(TAG_COUNT_OFFSET) > MAX_TAGS',
    'icc.readUInt32BE(TAG_COUNT_OFFSET) > MAX_TAGS * 1e8',
    ['unit/preprocess'],
  ),
  m(
    'plain-child-lines',
    "pm2's and nginx's plain-text lines reach stdout as they are",
    'child-output.ts',
    'if (isJsonObject(line)) entry',
    'if (isJsonObject(line) || line.length > 0) entry',
    ['unit/child-output', 'e2e/serve'],
  ),
];
