import { readFile } from 'node:fs/promises';

/**
 * A process's memory in MB: RSS, and PSS (shared pages such as the node binary and the
 * ONNX Runtime library divided among the processes that map them: what a worker really adds).
 */
export async function memoryMb(pid: number): Promise<{ rss: number; pss: number }> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name: string) => Math.round(Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0) / 1024);
  return { rss: field('Rss'), pss: field('Pss') };
}
