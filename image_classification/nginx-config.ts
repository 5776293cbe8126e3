import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from './config';
import { packageRoot, workerSocketPath } from './paths';

export interface NginxSettings {
  readonly runDir: string;
  readonly socketDir: string;
}

/** Fill nginx.conf's {{…}} placeholders from the config; an unknown placeholder is a bug. */
export function renderNginxConfig(template: string, config: Config, settings: NginxSettings): string {
  const servers = Array.from(
    { length: config.workers },
    (_, i) => `    server unix:${workerSocketPath(settings.socketDir, String(i))} max_fails=0;`,
  );
  const values: Record<string, string> = {
    RUN_DIR: settings.runDir,
    PORT: String(config.port),
    MAX_BODY_BYTES: String(config.maxPayloadBytes),
    TIMEOUT: String(config.timeoutSeconds),
    CLIENT_TIMEOUT: String(config.clientTimeoutSeconds),
    MAX_IN_PROGRESS: String(config.workers * config.maxQueue),
    TIMEOUT_PLUS_ONE: String(config.timeoutSeconds + 1),
    UPSTREAM_SERVERS: servers.join('\n'),
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
