import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { createApp } from '../../image_classification/http/app';
import { ModelState } from '../../image_classification/http/model-state';
import { loadShippedPredictor, ROOT, sample, silentLogger, testConfig } from '../helpers';

const run = promisify(execFile);

test('npm run build:lambda → lambda.zip whose handler, configured only by env, classifies an S3 image', { timeout: 120_000 }, async () => {
  await run(process.execPath, [path.join(ROOT, 'dist/scripts/build-lambda.js')]);
  const zip = path.join(ROOT, 'lambda/dist/lambda.zip');
  assert.ok(existsSync(zip));
  const listing = await run('python3', ['-c', `import zipfile,sys; print(zipfile.ZipFile(sys.argv[1]).namelist())`, zip]);
  assert.match(listing.stdout, /\['index\.js'\]/);

  const s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: await mkdtemp(path.join(os.tmpdir(), 's3rver-')), configureBuckets: [{ name: 'smoke-test' }] });
  const s3Port = (await s3rver.run()).port;
  const predictor = await loadShippedPredictor();
  const state = new ModelState();
  state.ready(predictor);
  const server = http.createServer(createApp({ config: testConfig(), state, logger: silentLogger }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const s3 = new S3Client({ endpoint: `http://127.0.0.1:${s3Port}`, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    await s3.send(new PutObjectCommand({ Bucket: 'smoke-test', Key: 'paper.jpg', Body: await sample('paper.jpg') }));
    const env = {
      ...process.env,
      BUCKET_NAME: 'smoke-test',
      ENDPOINT_NAME: 'local',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${s3Port}`,
      AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
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
    await predictor.close();
  }
});
