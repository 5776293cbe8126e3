import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** CPU time and minor page faults of a set of processes, from /proc (Linux). */
export interface ProcessStats {
  readonly cpuMs: number;
  readonly minorFaults: number;
}

const TICK_MS = 1000 / 100; // USER_HZ is 100 on Linux

function statOf(pid: number): ProcessStats {
  try {
    // Fields after "(comm) ": state is 1st, minflt 8th, utime 12th, stime 13th (proc(5)).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return { cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS, minorFaults: Number(fields[7]) };
  } catch {
    return { cpuMs: 0, minorFaults: 0 };
  }
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
