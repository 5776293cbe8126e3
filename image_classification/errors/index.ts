/**
 * The two coded error hierarchies, at the bottom of every layer: `StartupError` (why a worker
 * cannot serve, shown on /ping) and `InferenceError` (why one request failed, mapped to its
 * HTTP status in one place, `toHttpError`). `models` holds the multi-model API's own answers.
 */
export * from './startup';
export * from './request';
export * from './models';
export { clip } from './clip';
