import { readFileSync } from 'node:fs';

/**
 * A process's parent, from /proc (a slim image has no procps), or undefined once it is gone.
 * "pid (comm) state ppid …": the comm may hold spaces, so the fields are read after its
 * closing parenthesis.
 */
export function parentPid(pid: number | string): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * "PID STARTTIME": a process's pid and its start time since boot (clock ticks, /proc's 22nd
 * field), which tell it from a later process given the same pid; undefined once it is gone.
 */
export function processIdentity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return `${pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
  } catch {
    return undefined;
  }
}
