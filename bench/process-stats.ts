import { execFileSync } from 'node:child_process';
import { statFields } from '../image_classification/proc-stat';

/** CPU time and minor page faults of a set of processes, from /proc (Linux). */
export interface ProcessStats {
  readonly cpuMs: number;
  readonly minorFaults: number;
}

const TICK_MS = 1000 / 100; // USER_HZ is 100 on Linux

function statOf(pid: number): ProcessStats {
  // From the state on: minflt is the 8th field, utime the 12th, stime the 13th (proc(5)).
  const fields = statFields(pid);
  if (!fields) return { cpuMs: 0, minorFaults: 0 };
  return { cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS, minorFaults: Number(fields[7]) };
}

export function processStats(pids: readonly number[]): ProcessStats {
  return pids.map(statOf).reduce((a, b) => ({ cpuMs: a.cpuMs + b.cpuMs, minorFaults: a.minorFaults + b.minorFaults }), {
    cpuMs: 0,
    minorFaults: 0,
  });
}

/** Every process in a process group (serve's: serve, nginx, pm2, the workers). */
export function groupPids(pgid: number): number[] {
  return execFileSync('ps', ['-e', '-o', 'pid=,pgid='])
    .toString()
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter(([, group]) => group === pgid)
    .map(([pid]) => pid!);
}
