import os from 'node:os';
import { parseCli, runCli } from '../image_classification/cli/args';
import { unpackArchive } from '../image_classification/model/model-dir';
import { SHIPPED_ARCHIVE } from '../harness/env';
import { formatResult, runHostileCase, type HostileCase, type HostileResult } from '../harness/hostile/hostile';
import { buildHostileCases, HOSTILE_SERVE_ENV } from '../harness/hostile/hostile-cases';
import { hostileModelsRoot } from '../harness/hostile/hostile-models';
import { buildMultiModelCases, multiModelServeEnv } from '../harness/hostile/multi-model-cases';
import { writeResult } from './load';
import { startServe, workerSockets, type Served } from '../harness/serve-process';

const USAGE = `usage: npm run hostile
Starts serve with its defaults (request timeout 5 s) and sends each hostile request of the
robustness suite once: prints its status, time to answer, the slowest /ping of a worker while
it ran, and worker RSS before, at peak and after. Then the same for the multi-model cases
(hostile models and batch bodies), against a multi-model serve (request timeout 10 s).
Writes bench/results/hostile.json.`;

async function runAll(served: Served, cases: readonly HostileCase[]): Promise<HostileResult[]> {
  const sockets = workerSockets(served);
  const results = [];
  for (const c of cases) {
    const result = await runHostileCase(served, sockets, c);
    console.log(formatResult(result) + (result.problem ? `  PROBLEM: ${result.problem}` : ''));
    results.push(result);
  }
  return results;
}

runCli(async () => {
  parseCli({ help: { type: 'boolean' } }, USAGE);
  console.log(`machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model}; serve defaults (2 workers)`);
  const served = await startServe({ SM_MODEL_DIR: await unpackArchive(SHIPPED_ARCHIVE), LOG_LEVEL: 'error', ...HOSTILE_SERVE_ENV });
  let results: HostileResult[];
  try {
    console.log('single model, SAGEMAKER_MODEL_SERVER_TIMEOUT=5');
    results = await runAll(served, await buildHostileCases());
  } finally {
    served.killAll();
  }
  const models = await hostileModelsRoot();
  const multi = await startServe({ ...multiModelServeEnv(models.root), LOG_LEVEL: 'error' });
  let multiModel: HostileResult[];
  try {
    console.log('multi-model endpoint, SAGEMAKER_MODEL_SERVER_TIMEOUT=10');
    multiModel = await runAll(multi, await buildMultiModelCases(models));
  } finally {
    multi.killAll();
    await models.remove();
  }
  console.log(`written ${await writeResult('hostile', { results, multiModel })}`);
});
