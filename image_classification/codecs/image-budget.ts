import { AsyncLocalStorage } from 'node:async_hooks';
import { TooManyImagesInRecordsError } from '../errors';

/**
 * The images one request may still decode, across everything it carries: a batch-transform
 * body runs each record through the pipeline on its own, and each record may hold a list of
 * images, so the per-request cap is kept here, in the request's async context, not per record.
 * Outside a budget (a plain invocation) nothing is counted: the list cap applies there.
 */
const budget = new AsyncLocalStorage<{ left: number; readonly limit: number }>();

export function withImageBudget<T>(limit: number, run: () => Promise<T>): Promise<T> {
  return budget.run({ left: limit, limit }, run);
}

/** Count `images` against the current budget; past it, the request is refused as a whole. */
export function spendImages(images: number): void {
  const current = budget.getStore();
  if (!current) return;
  current.left -= images;
  if (current.left < 0) throw new TooManyImagesInRecordsError(current.limit);
}
