import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { hasCommand, ROOT } from '../../harness/helpers';

const run = promisify(execFile);
const script = path.join(ROOT, 'build_and_push.sh');
const hasShellcheck = hasCommand('shellcheck');

test('build_and_push.sh --dry-run prints the whole ECR sequence', async () => {
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
    `# ${registry}/image-classification:v1 (engine: docker, gpu: false)`,
    '+ aws ecr describe-repositories --region eu-west-1 --repository-names image-classification',
    '+ aws ecr create-repository --region eu-west-1 --repository-name image-classification',
    `+ aws ecr get-login-password --region eu-west-1 | docker login --username AWS --password-stdin ${registry}`,
    '+ docker build -t image-classification:v1 .',
    `+ docker tag image-classification:v1 ${registry}/image-classification:v1`,
    `+ docker push ${registry}/image-classification:v1`,
    `${registry}/image-classification:v1`,
  ]);
});

test('build_and_push.sh --gpu asks AWS for account and region and builds the CUDA variant', async () => {
  const env = { ...process.env, AWS_REGION: '', AWS_DEFAULT_REGION: '', AWS_ACCOUNT_ID: '' };
  const { stdout, stderr } = await run('bash', [script, '--dry-run', '--gpu', '--engine', 'buildah', 'image-classification'], { env });
  assert.match(stderr, /\+ aws configure get region/);
  assert.match(stderr, /\+ aws sts get-caller-identity --query Account --output text/);
  assert.match(
    stdout,
    /\+ buildah bud --pull --build-arg RUNTIME_BASE=nvidia\/cuda:\S+ --build-arg ORT_NODE_INSTALL=cuda12 -t image-classification:gpu \./,
  );
  assert.match(stdout, /\+ buildah push \d{12}\.dkr\.ecr\.us-east-1\.amazonaws\.com\/image-classification:gpu/);
});

test('build_and_push.sh refuses bad usage', async () => {
  await assert.rejects(run('bash', [script, '--dry-run']), /usage|IMAGE/);
  await assert.rejects(run('bash', [script, '--bogus', 'x']), /unknown option/);
});

test(
  'the shell scripts are shellcheck-clean',
  { skip: !hasShellcheck && !process.env.CI && 'shellcheck not installed (CI installs it)' },
  async () => {
    await run('shellcheck', ['build_and_push.sh', 'serve', '.ci/run', 'scripts/test-container.sh'], { cwd: ROOT });
  },
);
