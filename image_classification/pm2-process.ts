import type { ChildProcess } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnTiedToServe } from './child-lifetime';
import type { Config } from './config';
import type { StartupFailure } from './errors';
import type { ModelSource } from './model/model-dir';
import { PACKAGE_NAME, packageRoot } from './paths';
import { MODEL_FAILURE_ENV, MODEL_SOURCE_ENV, SOCKET_DIR_ENV, WORKER_NODE_ARGS, workerRuntimeEnv } from './worker-env';

/** serve's pm2: the workers as a pm2-runtime app, their environment, and pm2's own settings. */

function pm2RuntimeBin(): string {
  return path.join(path.dirname(require.resolve('pm2/package.json')), 'bin', 'pm2-runtime');
}

/**
 * NODE_PATH for the workers, so a handler module anywhere (a model dir's `code/`) can
 * `require('sagemaker-image-classification')` and this package's own dependencies (sharp,
 * onnxruntime-node) without bundling them.
 */
function handlerNodePath(runDir: string): string {
  const modules = path.join(runDir, 'node_modules');
  mkdirSync(modules);
  symlinkSync(packageRoot(), path.join(modules, PACKAGE_NAME), 'dir');
  return [modules, path.join(packageRoot(), 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
}

/**
 * A PM2_HOME for this run, with pm2's host metrics (CPU, memory, network, `df` every 30 s, for
 * `pm2 ls`, which nobody runs here) switched off: they are start-up and background CPU taken
 * from the workers.
 */
function ownPm2Home(runDir: string): string {
  const home = path.join(runDir, 'pm2');
  mkdirSync(home);
  writeFileSync(path.join(home, 'module_conf.json'), JSON.stringify({ pm2: { sysmonit: 'false' } }));
  return home;
}

/**
 * The model directory serve hands its workers and where it came from, or why serve could not
 * make one (the workers report it on /ping); undefined on a multi-model endpoint, whose workers
 * take their models from serve's registry.
 */
export type WorkersModel = { readonly dir: string; readonly source?: ModelSource | undefined } | { readonly failure: StartupFailure };

function modelEnv(model: WorkersModel | undefined): Record<string, string> {
  if (!model) return {};
  if ('failure' in model) return { [MODEL_FAILURE_ENV]: JSON.stringify(model.failure) };
  return { SM_MODEL_DIR: model.dir, ...(model.source ? { [MODEL_SOURCE_ENV]: model.source } : {}) };
}

function ecosystem(config: Config, model: WorkersModel | undefined, runDir: string): object {
  return {
    apps: [
      {
        name: 'model-server',
        script: path.join(__dirname, 'worker.js'),
        // Fork mode: each worker owns its socket and nginx balances by in-flight requests,
        // with no extra hop through pm2's cluster master.
        exec_mode: 'fork',
        node_args: WORKER_NODE_ARGS,
        instances: config.workers,
        instance_var: 'NODE_APP_INSTANCE',
        kill_timeout: (config.timeoutSeconds + 5) * 1000,
        exp_backoff_restart_delay: 100,
        merge_logs: true,
        // pm2's agent (@pm2/io) would wrap every HTTP request and timer for its own dashboard,
        // source maps would be read and parsed for every module a worker loads, and vizion
        // would look for a git checkout around the script: all start-up time or per-request
        // CPU for nothing this server reports (it has its own metrics and JSON logs).
        pmx: false,
        vizion: false,
        disable_source_map_support: true,
        env: {
          ...modelEnv(model),
          [SOCKET_DIR_ENV]: runDir,
          NODE_PATH: handlerNodePath(runDir),
          ...workerRuntimeEnv(process.env, config.mallocPreload),
        },
      },
    ],
  };
}

/**
 * pm2-runtime running `config.workers` workers on `model`, with its stdout and
 * stderr piped to serve (which relays them as JSON log lines).
 */
export function spawnWorkers(config: Config, model: WorkersModel | undefined, runDir: string): ChildProcess {
  const ecosystemFile = path.join(runDir, 'ecosystem.json');
  writeFileSync(ecosystemFile, JSON.stringify(ecosystem(config, model, runDir)));
  return spawnTiedToServe(process.execPath, [pm2RuntimeBin(), 'start', ecosystemFile], {
    stdio: ['inherit', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PM2_HOME: process.env.PM2_HOME ?? ownPm2Home(runDir),
      // pm2's daemon would otherwise ask version.pm2.io once a day whether it is up to date.
      PM2_DISABLE_VERSION_CHECK: 'true',
    },
  });
}
