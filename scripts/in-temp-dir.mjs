// Runs a command with TMPDIR set to a fresh directory and removes that directory when the command
// ends, however it ends (but by SIGKILL to this process), with any process of the run still in
// it. The tests and benches start servers (each with its run dir), unpack the shipped model
// (11 MB a copy) and write archives, all under os.tmpdir(): without this, every `npm test`
// would leave hundreds of megabytes in /tmp.
//   node scripts/in-temp-dir.mjs COMMAND [ARG…]
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/in-temp-dir.mjs COMMAND [ARG…]');
  process.exit(2);
}
const root = mkdtempSync(path.join(os.tmpdir(), 'image-classification-'));
// nginx's workers run as `nobody` under root: they must be able to reach the sockets below it.
chmodSync(root, 0o755);
const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, TMPDIR: root } });
// A terminal's Ctrl-C reaches the child too (same process group); a signal sent to this process
// alone is passed on. Either way this process waits for the child, then cleans up.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
/**
 * Processes of this run still there (a server a test left, or one whose test process a Ctrl-C
 * ended first): TMPDIR is the run's directory, or a file in it is open or named in their command
 * line. Only this run's: its directory's name is unique.
 */
function leftOver() {
  const read = (file) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  const openFiles = (pid) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      return [];
    }
  };
  const inRun = (text) => text.includes(`${root}/`);
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid) && Number(pid) !== process.pid)
    .filter(
      (pid) =>
        read(`/proc/${pid}/environ`).split('\0').includes(`TMPDIR=${root}`) ||
        inRun(read(`/proc/${pid}/cmdline`)) ||
        openFiles(pid).some(inRun),
    )
    .map(Number);
}

const finish = (code) => {
  for (const pid of leftOver()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  rmSync(root, { recursive: true, force: true });
  process.exit(code);
};
child.on('error', (error) => {
  console.error(`${command}: ${error.message}`);
  finish(127);
});
child.on('exit', (code, signal) => finish(code ?? 128 + (os.constants.signals[signal] ?? 0)));
