import os from 'node:os';
import { parseCli, runCli } from '../image_classification/cli/args';
import { unpackArchive } from '../image_classification/model/model-dir';
import { sample, SHIPPED_ARCHIVE } from '../harness/env';
import { runLoad, printTable, writeResult } from './load';
import { startServe } from '../harness/serve-process';

const USAGE = `usage: npm run overload -- [--connections 256] [--seconds 15]
Starts serve with its defaults, measures it at a normal load (c=4), drives it far past
capacity, then at c=4 again right after: the excess must get fast 503s (not timeouts) and
the server must recover at once. Prints a table; writes bench/results/overload.json.`;

function startProbe(url: string, image: Buffer, intervalMs: number) {
  const results: { status: number; ms: number }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const res = await fetch(`${url}/invocations`, { method: 'POST', body: image, headers: { 'Content-Type': 'application/x-image' } });
      await res.arrayBuffer();
      results.push({ status: res.status, ms: Math.round(performance.now() - started) });
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return { stop: async () => ((running = false), await loop, results) };
}

runCli(async () => {
  const { values } = parseCli(
    { connections: { type: 'string', default: '256' }, seconds: { type: 'string', default: '15' }, help: { type: 'boolean' } },
    USAGE,
  );
  const served = await startServe({ SM_MODEL_DIR: await unpackArchive(SHIPPED_ARCHIVE), LOG_LEVEL: 'error' });
  try {
    const image = await sample('paper.jpg');
    await runLoad(served.url, image, { connections: 2, seconds: 2 }); // warm-up
    const before = { phase: 'before (c=4)', ...(await runLoad(served.url, image, { connections: 4, seconds: 5 })) };
    // An independent client during the overload, 5 requests/s: how long do the requests that
    // are served take, and how many of its requests are refused?
    const probe = startProbe(served.url, image, 200);
    const overload = {
      phase: `overload (c=${values.connections})`,
      ...(await runLoad(served.url, image, { connections: Number(values.connections), seconds: Number(values.seconds) })),
    };
    const probed = await probe.stop();
    const after = { phase: 'right after (c=4)', ...(await runLoad(served.url, image, { connections: 4, seconds: 5 })) };
    const phases = [before, overload, after];
    console.log(
      `machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model}; serve defaults; 512×384 JPEG (data/paper.jpg); latencies in ms`,
    );
    printTable(
      phases.map(({ phase, requests, ok, overloaded, otherErrors, timeouts, rps, p50, p90, p99, max }) => ({
        phase,
        requests,
        '200': ok,
        '503': overloaded,
        other: otherErrors,
        timeouts,
        'ok/s': rps,
        p50,
        p90,
        p99,
        max,
      })),
    );
    const served200 = probed
      .filter((p) => p.status === 200)
      .map((p) => p.ms)
      .sort((a, b) => a - b);
    const pct = (q: number) => served200[Math.min(served200.length - 1, Math.floor(q * served200.length))] ?? NaN;
    const probeSummary = {
      requests: probed.length,
      served: served200.length,
      refused: probed.filter((p) => p.status === 503).length,
      servedP50: pct(0.5),
      servedP99: pct(0.99),
      servedMax: served200.at(-1),
    };
    console.log(`probe during overload: ${JSON.stringify(probeSummary)}`);
    console.log(`written ${await writeResult('overload', { phases, probe: probeSummary })}`);
  } finally {
    served.killAll();
  }
});
