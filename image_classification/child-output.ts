import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from './logger';

/**
 * serve's children write to its stdout: the workers' pino lines (relayed by pm2), pm2's own
 * lifecycle lines ("App [model-server:0] exited with code [1]") and nginx's error log. Only the
 * first are JSON. Every line is relayed here: a JSON object line as it is, any other line as a
 * JSON log entry of serve's, with the level its writer gave it, so that a log query (CloudWatch
 * Logs Insights, Loki) sees one format.
 */

type Level = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface ParsedLine {
  readonly level: Level;
  readonly msg: string;
}

/** A line longer than this (a native library's dump) is cut: logs hold messages, not data. */
export const MAX_RELAYED_CHARS = 4096;

// Colour codes (ONNX Runtime colours its warnings) mean nothing in a JSON string.
// eslint-disable-next-line no-control-regex
const ANSI_COLOURS = /\u001b\[[0-9;]*m/g;

const NGINX_LEVELS: Record<string, Level> = {
  emerg: 'fatal',
  alert: 'fatal',
  crit: 'error',
  error: 'error',
  warn: 'warn',
  notice: 'info',
  info: 'info',
  debug: 'debug',
};

/** nginx's error log: `2026/12/03 03:04:30 [warn] 1234#0: *5 the message`. */
export function parseNginxLine(line: string): ParsedLine {
  const match = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*)$/s.exec(line);
  return match ? { level: NGINX_LEVELS[match[1]!] ?? 'warn', msg: match[2]! } : { level: 'warn', msg: line };
}

const PM2_LEVELS: Record<string, Level> = { info: 'info', log: 'info', warn: 'warn', error: 'error' };

/**
 * pm2-runtime's output: its own lines (`2026-12-03T03:04:30: PM2 log: App [x] online`) and
 * whatever a worker wrote that was not a JSON line (a native library's warning on stderr).
 */
export function parsePm2Line(line: string, fallback: Level): ParsedLine {
  const match = /^\S+: PM2 (info|log|warn|error): (.*)$/s.exec(line);
  if (!match) return { level: fallback, msg: line };
  const msg = match[2]!;
  // pm2 logs a worker's exit as plain info whatever the cause; a crash must show at LOG_LEVEL=warn.
  const exit = /exited with code \[(\d+)\] via signal \[(\w+)\]/.exec(msg);
  const crashed = exit !== null && (exit[1] !== '0' || !['SIGINT', 'SIGTERM'].includes(exit[2]!));
  return { level: crashed ? 'warn' : PM2_LEVELS[match[1]!]!, msg };
}

/** Relays a child's stream line by line onto serve's stdout until it ends. */
export function relayLines(stream: Readable, logger: Logger, parse: (line: string) => ParsedLine, out: Writable = process.stdout): void {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', (raw) => {
    const line = raw.replace(ANSI_COLOURS, '').trimEnd();
    if (line.length === 0) return;
    if (line.startsWith('{') && line.endsWith('}')) {
      out.write(`${line}\n`);
      return;
    }
    const { level, msg } = parse(line);
    logger[level](msg.length > MAX_RELAYED_CHARS ? `${msg.slice(0, MAX_RELAYED_CHARS)}…` : msg);
  });
}
