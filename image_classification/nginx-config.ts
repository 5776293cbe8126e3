import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from './config';
import { NotFoundError, PayloadTooLargeError, RequestTimeoutError, type InferenceError } from './errors';
import { packageRoot, workerSocketPath } from './paths';
import { MODEL_NAME_PATTERN } from './multi-model/names';

export interface NginxSettings {
  readonly runDir: string;
  readonly socketDir: string;
  /** The demo page's files, where nginx's workers can read them (serve copies them to its run dir). */
  readonly webDir: string;
  /** Where serve answers /metrics, when nginx routes it (MODEL_SERVER_METRICS on, no MODEL_SERVER_METRICS_PORT). */
  readonly metricsSocket?: string | undefined;
  /** The file nginx appends its own refusals to, for /metrics (metrics/refusal-log.ts). */
  readonly refusalLog?: string | undefined;
  /** Where serve's model manager answers /models (SAGEMAKER_MULTI_MODEL). */
  readonly managerSocket?: string | undefined;
  /**
   * Workers whose socket answers (pm2 slots). The others are `down` in the upstream, so nginx
   * sends nothing to a worker that is still loading, and logs no refused connect for it.
   * Unset: every worker is up.
   */
  readonly readyWorkers?: ReadonlySet<number>;
  /**
   * Shutting down: the public server listens on a socket in the run dir that nobody uses, so a
   * reload with this config closes the port while the requests already in nginx finish.
   */
  readonly draining?: boolean;
  /** Listen on IPv6 too (the host has it; public-port.ts). */
  readonly ipv6?: boolean;
}

/** The demo page's files in this package; serve copies them into its run dir for nginx. */
export const WEB_SOURCE_DIR = path.join(packageRoot(), 'web');

interface NginxError {
  /** The statuses nginx produces that map to this answer (494: a header too large, sent as 400). */
  readonly from: readonly number[];
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly retryAfter?: boolean;
}

/** nginx's answer for a status the workers also send: the same code and message. */
function fromError(from: readonly number[], error: InferenceError): NginxError {
  return { from, status: error.status, code: error.code, message: error.message };
}

/** The routes a client is pointed to: a multi-model endpoint has no /invocations. */
function routes(config: Config): string {
  return config.multiModel ? 'GET /ping, GET or POST /models, or POST /models/{name}/invoke' : 'GET /ping or POST /invocations';
}

/**
 * Every status nginx itself can answer with, as the JSON error body the workers use. Without
 * these, nginx sends an HTML page (405 for TRACE, 501 for an unknown Transfer-Encoding, …).
 */
function nginxErrors(config: Config): NginxError[] {
  return [
    { from: [400, 494], status: 400, code: 'bad_request', message: 'malformed HTTP request' },
    { from: [403], status: 403, code: 'forbidden', message: 'this file cannot be read' },
    fromError([404], new NotFoundError(`no such route; use ${routes(config)}`)),
    { from: [405], status: 405, code: 'method_not_allowed', message: `this method is not allowed; use ${routes(config)}` },
    { from: [408], status: 408, code: 'request_timeout', message: 'the request was not received in time' },
    { from: [411], status: 411, code: 'length_required', message: 'a request body needs Content-Length or chunked Transfer-Encoding' },
    fromError([413], new PayloadTooLargeError(config.maxPayloadBytes)),
    { from: [414], status: 414, code: 'uri_too_long', message: 'the request line is too long' },
    {
      from: [429],
      status: 429,
      code: 'too_many_connections',
      message: `this client already has ${config.maxConnectionsPerClient} requests open; retry shortly`,
      retryAfter: true,
    },
    { from: [500], status: 500, code: 'internal_error', message: 'internal server error' },
    { from: [501], status: 501, code: 'not_implemented', message: 'this Transfer-Encoding or method is not supported' },
    { from: [502], status: 502, code: 'bad_gateway', message: 'the worker handling this request failed; retry' },
    { from: [503], status: 503, code: 'overloaded', message: 'the server is at capacity; retry shortly', retryAfter: true },
    fromError([504], new RequestTimeoutError(config.timeoutSeconds)),
    { from: [505], status: 505, code: 'http_version_not_supported', message: 'use HTTP/1.0 or HTTP/1.1' },
  ];
}

/** What every answer of nginx's own carries, as the workers' answers do (helmet, the request id). */
const ANSWER_HEADERS = 'add_header X-Request-Id $answer_request_id always; add_header X-Content-Type-Options nosniff always;';

/** The backup's answer when no worker takes a request (nginx.conf, `/__unavailable`). */
const UNAVAILABLE = {
  status: 503,
  code: 'unavailable',
  message: 'no worker is ready yet (the model is loading or a worker is restarting); retry shortly',
};

/** An error answer of nginx's own: its status and the JSON body the workers would send. */
function errorAnswer({ status, code, message }: Pick<NginxError, 'status' | 'code' | 'message'>): string {
  return `return ${status} '${JSON.stringify({ error: { code, message } }).replaceAll("'", "\\'")}';`;
}

/**
 * error_page directives and their internal locations. Internal URIs rather than named
 * locations: a request nginx rejected while parsing it (bad URI, huge header) cannot enter
 * a named location.
 */
function errorPages(config: Config, logged?: { status: number; line: string }): string {
  return nginxErrors(config)
    .flatMap((error) => {
      const { from, status, retryAfter } = error;
      const header = `${retryAfter ? 'add_header Retry-After 1 always; ' : ''}${ANSWER_HEADERS} `;
      const log = logged?.status === status ? `${logged.line} ` : '';
      return [
        `    error_page ${from.join(' ')} /__error/${status};`,
        `    location = /__error/${status} { internal; ${log}${header}${errorAnswer(error)} }`,
      ];
    })
    .join('\n');
}

/** `access_log` lines for nginx's refusals (one word each, counted by serve), where metrics are on. */
function refusalLogLine(settings: NginxSettings, reason: 'overloaded' | 'per_client' | 'unavailable'): string {
  return settings.refusalLog ? `access_log ${settings.refusalLog} refused_${reason};` : '';
}

/** GET /metrics, answered by serve on its socket (the whole container's metrics). */
function metricsLocation(settings: NginxSettings): string {
  if (!settings.metricsSocket) return '';
  return [
    '    location = /metrics {',
    '      if ($request_method != GET) { return 405; }',
    `      proxy_pass http://unix:${settings.metricsSocket};`,
    '      proxy_read_timeout 10s;',
    '    }',
  ].join('\n');
}

/** The invocation paths: a multi-model endpoint adds one per model name (multi-model/names.ts). */
function invocationPaths(config: Config): string {
  const paths = ['invocations', 'endpoints/[A-Za-z0-9-]{1,63}/invocations'];
  if (config.multiModel) paths.push(`models/${MODEL_NAME_PATTERN}/invoke`);
  return paths.join('|');
}

/**
 * Load, list, get and unload (multi-model endpoints) go to serve's model manager; a load
 * may take as long as MODEL_SERVER_LOAD_TIMEOUT in every worker, one after another.
 */
function modelManagement(config: Config, settings: NginxSettings): string {
  if (!config.multiModel || !settings.managerSocket) return '';
  const proxy = `proxy_pass http://unix:${settings.managerSocket}; proxy_read_timeout ${config.loadTimeoutSeconds * 2 + 30}s;`;
  return [`    location = /models { ${proxy} }`, `    location ~ "^/models/[^/]+$" { ${proxy} }`].join('\n');
}

/** Only the page's own files, scripts and styles; the photo preview is a blob: URL the page makes. */
const DEMO_CSP = "default-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const DEMO_FILES = [
  { uri: '/', file: 'index.html', type: 'text/html' },
  { uri: '/demo/app.js', file: 'app.js', type: 'text/javascript' },
  { uri: '/demo/app.css', file: 'app.css', type: 'text/css' },
];

/**
 * The demo page (MODEL_SERVER_DEMO_PAGE): three static files served by nginx itself, exact
 * locations only, so the page answers while the workers load and nothing else is served.
 * Not on a multi-model endpoint: the page posts to /invocations, which serves no model there.
 */
function demoLocations(config: Config, webDir: string): string {
  if (!config.demoPage || config.multiModel) return '';
  const headers = [
    `add_header Content-Security-Policy "${DEMO_CSP}" always;`,
    'add_header X-Content-Type-Options nosniff always;',
    'add_header Cache-Control no-cache always;',
  ].join(' ');
  const files = DEMO_FILES.map(
    ({ uri, file, type }) =>
      `    location = ${uri} { root ${webDir}; try_files /${file} =404; default_type ${type}; charset utf-8; ${headers} }`,
  );
  // Browsers ask for it on every page: no icon, rather than a 404 in the console.
  return [...files, '    location = /favicon.ico { return 204; }'].join('\n');
}

/** Fill nginx.conf's {{…}} placeholders from the config; an unknown placeholder is a bug. */
export function renderNginxConfig(template: string, config: Config, settings: NginxSettings): string {
  const server = (i: number, down: boolean) =>
    `    server unix:${workerSocketPath(settings.socketDir, String(i))} max_fails=0${down ? ' down' : ''};`;
  const workerSlots = Array.from({ length: config.workers }, (_, i) => i);
  const values: Record<string, string> = {
    RUN_DIR: settings.runDir,
    PORT: settings.draining ? `unix:${path.join(settings.runDir, 'drained.sock')}` : String(config.port),
    LISTEN_IPV6: settings.ipv6 && !settings.draining ? `    listen [::]:${config.port} ipv6only=on default_server;` : '',
    MAX_BODY_BYTES: String(config.maxPayloadBytes),
    TIMEOUT: String(config.timeoutSeconds),
    CLIENT_TIMEOUT: String(config.clientTimeoutSeconds),
    MAX_IN_PROGRESS: String(config.workers * config.maxQueue),
    TIMEOUT_PLUS_ONE: String(config.timeoutSeconds + 1),
    TIMEOUT_PLUS_TWO: String(config.timeoutSeconds + 2),
    UPSTREAM_SERVERS: workerSlots.map((i) => server(i, settings.readyWorkers?.has(i) === false)).join('\n'),
    ALL_WORKER_SERVERS: workerSlots.map((i) => server(i, false)).join('\n'),
    WORKER_COUNT: String(config.workers),
    ANSWER_HEADERS,
    BAD_GATEWAY_ANSWER: errorAnswer(nginxErrors(config).find(({ status }) => status === 502)!),
    UNAVAILABLE_ANSWER: errorAnswer(UNAVAILABLE),
    // Every worker once, then the backup.
    UPSTREAM_TRIES: String(config.workers + 1),
    PER_CLIENT_LIMIT: config.maxConnectionsPerClient > 0 ? `      limit_conn per_client ${config.maxConnectionsPerClient};` : '',
    PUBLIC_ERROR_PAGES: errorPages(config, { status: 429, line: refusalLogLine(settings, 'per_client') }),
    ADMISSION_ERROR_PAGES: errorPages(config, { status: 503, line: refusalLogLine(settings, 'overloaded') }),
    UNAVAILABLE_LOG: `      ${refusalLogLine(settings, 'unavailable')}`,
    METRICS_LOCATION: metricsLocation(settings),
    INVOCATION_PATHS: invocationPaths(config),
    MODEL_MANAGEMENT: modelManagement(config, settings),
    DEMO_PAGE: demoLocations(config, settings.webDir),
  };
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`nginx.conf has an unknown placeholder {{${name}}}`);
    return value;
  });
}

export async function readNginxTemplate(): Promise<string> {
  return readFile(path.join(packageRoot(), 'nginx.conf'), 'utf8');
}
