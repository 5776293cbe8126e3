import os from 'node:os';
import { parseCli, runCli } from '../image_classification/cli/args';
import { unpackArchive } from '../image_classification/model/model-dir';
import { SHIPPED_ARCHIVE } from '../harness/env';
import { formatResult, runHostileCase } from '../harness/hostile/hostile';
import { buildHostileCases, HOSTILE_SERVE_ENV } from '../harness/hostile/hostile-cases';
import { writeResult } from './load';
import { startServe, workerSockets } from '../harness/serve-process';

const USAGE = `usage: npm run hostile
Starts serve with its defaults (request timeout 5 s) and sends each hostile request of the
robustness suite once: prints its status, time to answer, the slowest /ping of a worker while
it ran, and worker RSS before, at peak and after. Writes bench/results/hostile.json.`;

runCli(async () => {
  parseCli({ help: { type: 'boolean' } }, USAGE);
  const served = await startServe({ SM_MODEL_DIR: await unpackArchive(SHIPPED_ARCHIVE), LOG_LEVEL: 'error', ...HOSTILE_SERVE_ENV });
  try {
    const sockets = workerSockets(served);
    console.log(`machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model}; serve defaults (2 workers), SAGEMAKER_MODEL_SERVER_TIMEOUT=5`);
    const results = [];
    for (const c of await buildHostileCases()) {
      const result = await runHostileCase(served, sockets, c);
      console.log(formatResult(result) + (result.problem ? `  PROBLEM: ${result.problem}` : ''));
      results.push(result);
    }
    console.log(`written ${await writeResult('hostile', { results })}`);
  } finally {
    served.killAll();
  }
});
