import { rm } from 'node:fs/promises';
import { parseCli, runCli } from '../image_classification/cli/args';
import { unpackArchive } from '../image_classification/model/model-dir';
import { SHIPPED_ARCHIVE } from '../harness/env';
import { workerPids } from '../harness/serve-process';
import { COMPONENTS, perfAvailable, profileCpu, type CpuProfile } from './cpu-profile';
import { groupPids, processStats } from './process-stats';
import { benchImages } from './images';
import { machineInfo } from './machine';
import { printTable, runLoad, startProduct, warmUp, writeResult } from './load';

const USAGE = `usage: npm run profile -- [--seconds 20] [--concurrency 16] [--baseline DIR]
Serves the shipped model with serve's defaults, loads it with the bench's photos at the given
concurrency, and records every CPU with perf for the middle of the run: the share of the
machine's CPU by component (ONNX Runtime, libvips, V8/JS, libc, kernel by cause, nginx, the
load generator, idle). --baseline DIR profiles another built checkout the same way after
this one (a release to compare with). Writes bench/results/profile.json. Needs perf and root.`;

/** Per answered image, over the whole load run: CPU of the workers and of serve, nginx and pm2 together; the workers' page faults. */
export interface ImageCosts {
  readonly workerCpuMs: number;
  readonly nginxServePm2CpuMs: number;
  readonly workerMinorFaults: number;
}

export interface ProfiledRun {
  readonly label: string;
  readonly imagesPerSecond: number;
  readonly perImage: ImageCosts;
  readonly profile: CpuProfile;
}

/** Serve from `root` (this checkout when undefined) under load while perf records the middle of the run. */
export async function profileServe(
  modelDir: string,
  images: Buffer[],
  options: { seconds: number; connections: number; root?: string | undefined },
): Promise<{ imagesPerSecond: number; perImage: ImageCosts; profile: CpuProfile }> {
  const served = await startProduct(modelDir, {}, options.root);
  try {
    await warmUp(served.url, images);
    const roles = { workers: workerPids(served), loadGenerator: process.pid, supervisors: [served.child.pid!] };
    const group = groupPids(served.child.pid!);
    const [workersBefore, serveBefore] = [processStats(roles.workers), processStats(group)];
    const load = runLoad(served.url, images, { connections: options.connections, seconds: options.seconds });
    // Skip the first and last seconds: connections opening and closing are not the steady state.
    const margin = Math.min(2, options.seconds / 5);
    await new Promise((resolve) => setTimeout(resolve, margin * 1000));
    const profile = await profileCpu(options.seconds - 2 * margin, roles);
    const result = await load;
    const [workersAfter, serveAfter] = [processStats(roles.workers), processStats(group)];
    const per = (value: number) => Math.round((10 * value) / result.ok) / 10;
    const perImage = {
      workerCpuMs: per(workersAfter.cpuMs - workersBefore.cpuMs),
      nginxServePm2CpuMs: per(serveAfter.cpuMs - serveBefore.cpuMs),
      workerMinorFaults: per(workersAfter.minorFaults - workersBefore.minorFaults),
    };
    return { imagesPerSecond: result.rps, perImage, profile };
  } finally {
    served.killAll();
  }
}

export function printProfiles(runs: readonly ProfiledRun[]): void {
  printTable(
    COMPONENTS.map((component) => ({
      component,
      ...Object.fromEntries(runs.map((r) => [`${r.label} %`, r.profile.shares[component].toFixed(1)])),
    })),
  );
  for (const r of runs) {
    console.log(
      `${r.label}: ${r.imagesPerSecond} img/s; per image: workers ${r.perImage.workerCpuMs} ms CPU and ` +
        `${r.perImage.workerMinorFaults} page faults; nginx, serve and pm2 ${r.perImage.nginxServePm2CpuMs} ms CPU (${r.profile.samples} samples)`,
    );
  }
}

if (require.main === module) {
  runCli(async () => {
    const { values } = parseCli(
      {
        seconds: { type: 'string', default: '20' },
        concurrency: { type: 'string', default: '16' },
        baseline: { type: 'string' },
        help: { type: 'boolean' },
      },
      USAGE,
    );
    if (!(await perfAvailable())) throw new Error('perf is not installed (Debian: apt-get install linux-perf)');
    const modelDir = await unpackArchive(SHIPPED_ARCHIVE);
    const images = (await benchImages()).mixed;
    const options = { seconds: Number(values.seconds), connections: Number(values.concurrency) };
    const machine = await machineInfo();
    console.log(`machine: ${machine.summary}`);
    const runs: ProfiledRun[] = [{ label: 'this tree', ...(await profileServe(modelDir, images, options)) }];
    if (values.baseline) runs.push({ label: 'baseline', ...(await profileServe(modelDir, images, { ...options, root: values.baseline })) });
    printProfiles(runs);
    console.log(await writeResult('profile', { machine, ...options, runs }));
    await rm(modelDir, { recursive: true, force: true });
  });
}
