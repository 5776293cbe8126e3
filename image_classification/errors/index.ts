/**
 * The two coded error hierarchies, at the bottom of every layer: `StartupError` (why a worker
 * cannot serve, shown on /ping) and `InferenceError` (why one request failed, mapped to its
 * HTTP status in one place, `toHttpError`).
 */
export * from './startup';
export * from './request';
export { clip } from './clip';
