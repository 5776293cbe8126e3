/**
 * A deadline: `expired` rejects with `error()` after `seconds` unless `clear()` comes first.
 * The timer is not unref'd, so a deadline also keeps the event loop alive until it is met.
 */
export function deadline(seconds: number, error: () => Error): { expired: Promise<never>; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), seconds * 1000);
  });
  return { expired, clear: () => clearTimeout(timer) };
}
