import pino from 'pino';

/** JSON lines to stdout; pm2 and SageMaker (CloudWatch) both collect stdout. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): pino.Logger {
  return pino({ level, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime });
}

export type Logger = pino.Logger;
