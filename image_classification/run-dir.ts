import { chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processIdentity } from './proc-stat';

/**
 * serve's run directory: one per run in TMPDIR, holding all the run writes (nginx's
 * configuration and temp files, the workers' sockets and log FIFOs, pm2's home, the unpacked
 * model). serve removes it as it stops. One whose serve was killed with SIGKILL is removed by
 * the next serve to start under the same TMPDIR, once the process that made it is gone.
 */
const PREFIX = 'serve-';
/** The process that made the dir: its pid and start time, so a reused pid is not taken for it. */
const OWNER_FILE = 'serve.owner';

export function makeRunDir(tmpDir = os.tmpdir()): string {
  const dir = mkdtempSync(path.join(tmpDir, PREFIX));
  // nginx's workers may run as another user: they must reach the sockets in here.
  chmodSync(dir, 0o755);
  const owner = processIdentity(process.pid);
  if (owner) writeFileSync(path.join(dir, OWNER_FILE), owner);
  return dir;
}

/**
 * Removes the run dirs in `tmpDir` that this user's serves left when killed: those whose owner
 * file names a process that no longer runs. A dir without one (being made, or not serve's) is
 * left alone, as is everything where /proc cannot tell. Returns the names removed.
 */
export function removeStaleRunDirs(tmpDir = os.tmpdir()): string[] {
  if (!processIdentity(process.pid)) return [];
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const name of readdirSync(tmpDir).filter((entry) => entry.startsWith(PREFIX))) {
    const dir = path.join(tmpDir, name);
    try {
      const stat = lstatSync(dir);
      if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) continue;
      const owner = readFileSync(path.join(dir, OWNER_FILE), 'utf8');
      if (processIdentity(Number(owner.split(' ')[0])) === owner) continue;
      rmSync(dir, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // no owner file, or gone meanwhile
    }
  }
  return removed;
}
