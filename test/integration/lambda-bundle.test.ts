import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ModelState } from '../../image_classification/http/model-state';
import { listenApp, loadShippedPipeline, ROOT, S3RVER_CREDENTIALS, sample, startS3rver } from '../../harness/helpers';

const run = promisify(execFile);

test('npm run build:lambda → lambda.zip whose handler, configured only by env, classifies an S3 image', { timeout: 120_000 }, async () => {
  await run(process.execPath, [path.join(ROOT, 'dist/scripts/build-lambda.js')]);
  const zip = path.join(ROOT, 'lambda/dist/lambda.zip');
  assert.ok(existsSync(zip));
  const listing = await run('python3', ['-c', `import zipfile,sys; print(zipfile.ZipFile(sys.argv[1]).namelist())`, zip]);
  assert.match(listing.stdout, /\['index\.js'\]/);

  const { s3rver, endpoint: s3Endpoint } = await startS3rver('smoke-test');
  const pipeline = await loadShippedPipeline();
  const state = new ModelState();
  state.ready(pipeline);
  const { server, url } = await listenApp(state);
  try {
    const s3 = new S3Client({ endpoint: s3Endpoint, forcePathStyle: true, region: 'us-east-1', credentials: S3RVER_CREDENTIALS });
    await s3.send(new PutObjectCommand({ Bucket: 'smoke-test', Key: 'paper.jpg', Body: await sample('paper.jpg') }));
    const env = {
      ...process.env,
      BUCKET_NAME: 'smoke-test',
      ENDPOINT_NAME: 'local',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: s3Endpoint,
      AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: url,
      S3_FORCE_PATH_STYLE: 'true',
      NODE_NO_WARNINGS: '1',
    };
    const script = `require(${JSON.stringify(path.join(ROOT, 'lambda/dist/index.js'))}).handler({"paper image": "paper.jpg"}).then((r) => process.stdout.write("RESULT " + JSON.stringify(r)))`;
    const { stdout } = await run(process.execPath, ['-e', script], { env });
    const result = JSON.parse(stdout.slice(stdout.indexOf('RESULT ') + 7));
    assert.equal(result.class, 'paper', stdout);
    assert.equal(result.endpoint, 'local');
  } finally {
    server.close();
    await s3rver.close();
    await pipeline.close();
  }
});
