import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCli, runCli } from '../image_classification/cli/args';
import { MUTATIONS, type Mutation } from './mutations';

const USAGE = `usage: npm run mutate -- [--only ID,ID]
Applies each deliberate break of scripts/mutations.ts alone to a scratch copy of the tracked
files, rebuilds it and runs the test files it names: a break is caught when they fail. The
unbroken copy must pass them first. Prints a table; exits 1 if any break survives. Not part of
npm test (about a minute per break).`;

const ROOT = path.resolve(__dirname, '..', '..');

/** The tracked files (with their changes) in a fresh directory, node_modules linked. */
function scratchCopy(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mutate-'));
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT }).toString().split('\0').filter(Boolean);
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    cpSync(path.join(ROOT, file), path.join(dir, file), { verbatimSymlinks: true });
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/** The compiler's complaint, or undefined when the copy builds. */
function build(dir: string): string | undefined {
  const result = spawnSync('npm', ['run', 'build'], { cwd: dir, encoding: 'utf8' });
  return result.status === 0 ? undefined : `${result.stdout}${result.stderr}`;
}

/** Whether every named test file passes in the scratch copy. */
function testsPass(dir: string, tests: readonly string[]): boolean {
  const files = tests.map((test) => `dist/test/${test}.test.js`);
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const inTempDir = path.join(dir, 'scripts', 'in-temp-dir.mjs');
  const command = [inTempDir, process.execPath, '--test', '--test-concurrency=1', ...files];
  return spawnSync(process.execPath, command, { cwd: dir, env, stdio: 'ignore' }).status === 0;
}

function apply(dir: string, mutation: Mutation): () => void {
  const file = path.join(dir, mutation.file);
  const source = readFileSync(file, 'utf8');
  const at = source.indexOf(mutation.find);
  if (at < 0 || source.indexOf(mutation.find, at + 1) >= 0)
    throw new Error(`${mutation.id}: the text to replace is not in ${mutation.file} exactly once`);
  writeFileSync(file, source.slice(0, at) + mutation.replace + source.slice(at + mutation.find.length));
  return () => writeFileSync(file, source);
}

runCli(async () => {
  const { values } = parseCli({ only: { type: 'string' }, help: { type: 'boolean' } }, USAGE);
  const only = values.only?.split(',');
  const mutations = MUTATIONS.filter((mutation) => !only || only.includes(mutation.id));
  const dir = scratchCopy();
  try {
    const failure = build(dir);
    if (failure) throw new Error(`the unbroken copy does not build:\n${failure}`);
    const allTests = [...new Set(mutations.flatMap((mutation) => mutation.tests))];
    if (!testsPass(dir, allTests)) throw new Error(`the unbroken copy fails ${allTests.join(', ')}: fix that first`);
    let caught = 0;
    for (const mutation of mutations) {
      const restore = apply(dir, mutation);
      let outcome: 'caught' | 'SURVIVED' | 'DOES NOT BUILD';
      try {
        // A break the compiler refuses tests nothing: the list needs a break that compiles.
        outcome = build(dir) ? 'DOES NOT BUILD' : testsPass(dir, mutation.tests) ? 'SURVIVED' : 'caught';
      } finally {
        restore();
      }
      if (outcome === 'caught') caught++;
      console.log(`${outcome.padEnd(14)} ${mutation.id}: ${mutation.what}`);
    }
    console.log(`\n${caught} of ${mutations.length} breaks caught`);
    if (caught < mutations.length) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
