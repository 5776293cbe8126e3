import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFile, copyFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { ROOT, skipWithout } from '../../harness/helpers';

const run = promisify(execFile);
const script = path.join(ROOT, 'build_and_push.sh');

test('build_and_push.sh --dry-run prints the whole ECR sequence: an immutable, scanned repository and a linux/amd64 build', async () => {
  const { stdout } = await run('bash', [
    script,
    '--dry-run',
    '--region',
    'eu-west-1',
    '--account',
    '111122223333',
    '--engine',
    'docker',
    'image-classification',
    'v1',
  ]);
  const registry = '111122223333.dkr.ecr.eu-west-1.amazonaws.com';
  assert.deepEqual(stdout.trim().split('\n'), [
    `# ${registry}/image-classification:v1 (engine: docker, gpu: false, platform: linux/amd64)`,
    '+ aws ecr describe-repositories --region eu-west-1 --repository-names image-classification',
    '+ aws ecr create-repository --region eu-west-1 --repository-name image-classification --image-tag-mutability IMMUTABLE --image-scanning-configuration scanOnPush=true',
    `+ aws ecr get-login-password --region eu-west-1 | docker login --username AWS --password-stdin ${registry}`,
    '+ docker build --platform linux/amd64 -t image-classification:v1 .',
    `+ docker tag image-classification:v1 ${registry}/image-classification:v1`,
    `+ docker push ${registry}/image-classification:v1`,
    `${registry}/image-classification:v1`,
  ]);
});

/** A git work tree with build_and_push.sh committed in it, so the default tag is a revision this test knows. */
async function committedCopy(): Promise<{ dir: string; revision: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'build-and-push-'));
  await copyFile(script, path.join(dir, 'build_and_push.sh'));
  const git = (...args: string[]) => run('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: dir });
  await git('init', '-q');
  await git('add', '.');
  await git('commit', '-qm', 'x');
  return { dir, revision: (await git('rev-parse', 'HEAD')).stdout.trim() };
}

test('build_and_push.sh tags with the git revision by default, refuses a dirty tree without a TAG, and builds --gpu for linux/amd64', async () => {
  const { dir, revision } = await committedCopy();
  const copy = path.join(dir, 'build_and_push.sh');
  const env = { ...process.env, AWS_REGION: '', AWS_DEFAULT_REGION: '', AWS_ACCOUNT_ID: '' };
  const { stdout, stderr } = await run('bash', [copy, '--dry-run', '--gpu', '--engine', 'buildah', 'image-classification'], { env });
  assert.match(stderr, /\+ aws configure get region/);
  assert.match(stderr, /\+ aws sts get-caller-identity --query Account --output text/);
  const tag = `${revision.slice(0, 12)}-gpu`;
  assert.match(
    stdout,
    new RegExp(
      `\\+ buildah bud --pull --platform linux/amd64 --build-arg RUNTIME_BASE=nvidia/cuda:\\S+ --build-arg ORT_NODE_INSTALL=cuda12 -t image-classification:${tag} \\.`,
    ),
  );
  assert.match(stdout, new RegExp(`\\+ buildah push \\d{12}\\.dkr\\.ecr\\.us-east-1\\.amazonaws\\.com/image-classification:${tag}\\n`));
  await appendFile(copy, '\n');
  await assert.rejects(
    run('bash', [copy, '--dry-run', '--region', 'r', '--account', '1', 'image-classification'], { env }),
    /uncommitted changes/,
  );
  const explicit = await run('bash', [copy, '--dry-run', '--region', 'r', '--account', '1', 'image-classification', 'v2'], { env });
  assert.match(explicit.stdout, /:v2 \(engine/);
});

test('build_and_push.sh refuses bad usage', async () => {
  await assert.rejects(run('bash', [script, '--dry-run']), /usage|IMAGE/);
  await assert.rejects(run('bash', [script, '--bogus', 'x']), /unknown option/);
});

test('the shell scripts are shellcheck-clean', { skip: skipWithout('shellcheck') }, async () => {
  await run('shellcheck', ['build_and_push.sh', 'serve', '.ci/run', 'scripts/test-container.sh'], { cwd: ROOT });
});
