import pino from 'pino';

/** JSON lines to stdout; pm2 and SageMaker (CloudWatch) both collect stdout. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, destination?: pino.DestinationStream): pino.Logger {
  return pino({ level, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

export type Logger = pino.Logger;

/**
 * serve's stdout, shared by its own log and every line it relays from its children, so that
 * they stay in order. Written asynchronously (a slow reader of stdout never blocks serve's
 * event loop, so signals and the model manager are still served), flushed at exit, and
 * bounded: past 16 MB not yet written, lines are dropped rather than held.
 */
export function stdoutSink(): ReturnType<typeof pino.destination> {
  return pino.destination({ dest: 1, sync: false, maxLength: 16 * 2 ** 20 });
}
