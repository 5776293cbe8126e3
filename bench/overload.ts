import os from 'node:os';
import { parseCli, runCli } from '../image_classification/cli/args';
import { unpackArchive } from '../image_classification/model/model-dir';
import { sample, SHIPPED_ARCHIVE } from '../test/helpers';
import { runLoad, printTable, writeResult } from './load';
import { startServe } from './serve-process';

const USAGE = `usage: npm run overload -- [--connections 256] [--seconds 15]
Starts serve with its defaults, measures it at a normal load (c=4), drives it far past
capacity, then at c=4 again right after: the excess must get fast 503s (not timeouts) and
the server must recover at once. Prints a table; writes bench/results/overload.json.`;

runCli(async () => {
  const { values } = parseCli({ connections: { type: 'string', default: '256' }, seconds: { type: 'string', default: '15' }, help: { type: 'boolean' } }, USAGE);
  const served = await startServe({ SM_MODEL_DIR: await unpackArchive(SHIPPED_ARCHIVE), LOG_LEVEL: 'error' });
  try {
    const image = await sample('paper.jpg');
    await runLoad(served.url, image, { connections: 2, seconds: 2 }); // warm-up
    const phases = [
      { phase: 'before (c=4)', ...(await runLoad(served.url, image, { connections: 4, seconds: 5 })) },
      { phase: `overload (c=${values.connections})`, ...(await runLoad(served.url, image, { connections: Number(values.connections), seconds: Number(values.seconds) })) },
      { phase: 'right after (c=4)', ...(await runLoad(served.url, image, { connections: 4, seconds: 5 })) },
    ];
    console.log(`machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model}; serve defaults; 512×384 JPEG (data/paper.jpg); latencies in ms`);
    printTable(phases.map(({ phase, requests, ok, overloaded, otherErrors, timeouts, rps, p50, p90, p99, max }) => ({ phase, requests, '200': ok, '503': overloaded, other: otherErrors, timeouts, 'ok/s': rps, p50, p90, p99, max })));
    console.log(`written ${await writeResult('overload', { phases })}`);
  } finally {
    served.killAll();
  }
});
