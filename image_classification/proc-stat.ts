import { readFileSync } from 'node:fs';

/**
 * A process's /proc/PID/stat fields from the state on (proc(5)'s 3rd field is index 0), or
 * undefined once it is gone (a slim image has no procps). "pid (comm) state ppid …": the comm
 * may hold spaces and parentheses, so the fields are read after its last closing parenthesis.
 */
export function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The index in statFields of proc(5)'s 22nd field, the start time (clock ticks since boot). */
export const START_TIME_FIELD = 19;

/** A process's parent, or undefined once it is gone. */
export function parentPid(pid: number | string): number | undefined {
  const fields = statFields(pid);
  return fields && Number(fields[1]);
}

/**
 * "PID STARTTIME": a process's pid and its start time, which tell it from a later process given
 * the same pid; undefined once it is gone.
 */
export function processIdentity(pid: number): string | undefined {
  const fields = statFields(pid);
  return fields && `${pid} ${fields[START_TIME_FIELD]}`;
}
