import { readFile } from 'node:fs/promises';
import os from 'node:os';

/** The CPU features that change ONNX Runtime's int8 speed, and so every ratio the bench reports. */
const FEATURES = ['avx2', 'avx512f', 'avx512_vnni', 'avx_vnni', 'amx_int8'] as const;

export interface MachineInfo {
  readonly cpus: number;
  readonly model: string;
  readonly features: string[];
  readonly memoryGb: number;
  readonly node: string;
  readonly summary: string;
}

export async function machineInfo(): Promise<MachineInfo> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const flags = new Set(/^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.split(/\s+/) ?? []);
  const features = FEATURES.filter((f) => flags.has(f));
  const info = {
    cpus: os.availableParallelism(),
    model: os.cpus()[0]?.model ?? 'unknown',
    features,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
  const summary = `${info.cpus} cores (${info.model}; ${features.join(', ') || 'no AVX2'}), ${info.memoryGb} GB, Node ${info.node}`;
  return { ...info, summary };
}
