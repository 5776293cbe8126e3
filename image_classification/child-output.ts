import type { Readable } from 'node:stream';
import split2 from 'split2';
import { createLogger } from './logger';

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

/**
 * nginx warns whenever a body passes client_body_buffer_size and goes to a temp file: by
 * design (it bounds the memory a slow upload holds, nginx.conf), and true of most phone photos.
 */
const BODY_TO_FILE = /^a client request body is buffered to a temporary file/;

/** nginx's error log: `2026/12/03 03:04:30 [warn] 1234#0: *5 the message`. */
export function parseNginxLine(line: string): ParsedLine {
  const match = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*)$/s.exec(line);
  if (!match) return { level: 'warn', msg: line };
  const msg = match[2]!;
  return { level: BODY_TO_FILE.test(msg) ? 'info' : (NGINX_LEVELS[match[1]!] ?? 'warn'), msg };
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
  // pm2 logs everything about its workers as plain info: what is bad news must show at LOG_LEVEL=warn.
  if (/too many unstable restarts/.test(msg)) return { level: 'error', msg };
  const exit = /exited with code \[(\d+)\] via signal \[(\w+)\]/.exec(msg);
  const crashed = exit !== null && (exit[1] !== '0' || !['SIGINT', 'SIGTERM'].includes(exit[2]!));
  // A worker that did not exit on SIGTERM: pm2 retries every 100 ms until its kill timeout.
  const killed = /still alive after .* sending SIGKILL|failed to kill/.test(msg);
  return { level: crashed || killed ? 'warn' : PM2_LEVELS[match[1]!]!, msg };
}

/** Where relayed lines go (serve's stdout sink): `write` says false while it is behind. */
export interface LineSink {
  write(chunk: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

function isJsonObject(line: string): boolean {
  if (!line.startsWith('{')) return false;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/**
 * A line still unfinished past this length is skipped to its end rather than held: the
 * children's own lines are short (nginx caps its error log lines at 2 kB, pino escapes
 * newlines), and no client input reaches them unbounded.
 */
export const MAX_LINE_BYTES = 64 * 1024;

/** An indented line continues the entry before it: a stack trace's frames, a native dump's lines. */
const CONTINUATION = /^\s/;
/** How long a plain line waits for its continuation lines before it is relayed. */
export const CONTINUATION_WAIT_MS = 50;
/**
 * An entry repeated within this long of the one relayed is counted, not relayed again: pm2
 * retries a SIGTERM every 100 ms while a worker does not exit ("failed to kill"), which would
 * be ten lines a second. The count follows as one entry with `repeated`.
 */
export const REPEAT_WINDOW_MS = 10_000;

interface Plain {
  readonly level: Level;
  msg: string;
  readonly at: number;
}

/** A relayed entry, and how often it came again within REPEAT_WINDOW_MS of being relayed. */
interface Recent {
  readonly entry: Plain;
  repeats: number;
  timer?: NodeJS.Timeout;
}

/** Entries remembered for their repeats: a few, since floods come from a few stuck workers. */
const RECENT_ENTRIES = 16;

/**
 * Relays a child's stream line by line into `sink` until it ends: a JSON object line as it is,
 * any other line as a log entry with `bindings` (dropped below `logLevel`), its indented
 * continuation lines joined to it and its repeats counted. Lines end at \n only (a U+2028
 * inside one, which pino leaves unescaped, does not split it). While the sink is behind, the
 * child's stream is paused: the pipe fills and the child waits, instead of serve holding its output.
 */
export function relayLines(
  stream: Readable,
  sink: LineSink,
  logLevel: string,
  bindings: Record<string, unknown>,
  parse: (line: string) => ParsedLine,
): void {
  let entry = '';
  // pino formats the entry (or skips it below LOG_LEVEL); the sink gets it with the relayed lines.
  const logger = createLogger(logLevel, bindings, { write: (formatted: string) => void (entry = formatted) });
  const lines = stream.pipe(split2(/\r?\n/, { maxLength: MAX_LINE_BYTES, skipOverflow: true } as split2.Options));
  const emit = () => {
    const behind = entry !== '' && !sink.write(entry);
    entry = '';
    if (behind && !lines.isPaused()) {
      lines.pause();
      sink.once('drain', () => lines.resume());
    }
  };
  const log = ({ level, msg }: ParsedLine, fields: object = {}) => {
    logger[level](fields, msg.length > MAX_RELAYED_CHARS ? `${msg.slice(0, MAX_RELAYED_CHARS)}…` : msg);
    emit();
  };

  let pending: Plain | undefined;
  let pendingTimer: NodeJS.Timeout | undefined;
  // By level and message: pm2 alternates "pid=N msg=failed to kill" between stuck workers.
  const recent = new Map<string, Recent>();
  const reportRepeats = (key: string) => {
    const seen = recent.get(key);
    if (!seen) return;
    clearTimeout(seen.timer);
    seen.timer = undefined;
    if (seen.repeats > 0) log(seen.entry, { repeated: seen.repeats });
    seen.repeats = 0;
  };
  const flushPending = () => {
    clearTimeout(pendingTimer);
    if (!pending) return;
    const key = `${pending.level} ${pending.msg}`;
    const seen = recent.get(key);
    if (seen && pending.at - seen.entry.at < REPEAT_WINDOW_MS) {
      seen.repeats++;
      seen.timer ??= setTimeout(() => reportRepeats(key), REPEAT_WINDOW_MS - (pending.at - seen.entry.at)).unref();
    } else {
      reportRepeats(key);
      recent.delete(key);
      log(pending);
      recent.set(key, { entry: pending, repeats: 0 });
      if (recent.size > RECENT_ENTRIES) {
        const oldest = recent.keys().next().value!;
        reportRepeats(oldest);
        recent.delete(oldest);
      }
    }
    pending = undefined;
  };

  lines.on('data', (raw: string) => {
    const line = raw.replace(ANSI_COLOURS, '').trimEnd();
    if (line.length === 0) return;
    if (pending && CONTINUATION.test(line)) {
      if (pending.msg.length <= MAX_RELAYED_CHARS) pending.msg += `\n${line}`;
      return;
    }
    flushPending();
    if (isJsonObject(line)) {
      entry = `${line}\n`;
      emit();
      return;
    }
    pending = { ...parse(line), at: Date.now() };
    pendingTimer = setTimeout(flushPending, CONTINUATION_WAIT_MS).unref();
  });
  lines.on('end', () => {
    flushPending();
    for (const key of recent.keys()) reportRepeats(key);
  });
}
