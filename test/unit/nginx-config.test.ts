import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readNginxTemplate, renderNginxConfig } from '../../image_classification/nginx-config';
import { existsSync } from 'node:fs';
import { skipWithoutInstalled, testConfig } from '../../harness/helpers';

const NGINX = '/usr/sbin/nginx';

async function rendered(env: Record<string, string> = {}, metrics = false) {
  const runDir = await mkdtemp(path.join(os.tmpdir(), 'nginx-conf-'));
  const paths = metrics ? { refusalLog: path.join(runDir, 'refusals.log'), metricsSocket: path.join(runDir, 'metrics.sock') } : {};
  return {
    runDir,
    conf: renderNginxConfig(await readNginxTemplate(), testConfig(env), {
      runDir,
      socketDir: runDir,
      webDir: path.join(runDir, 'web'),
      ...paths,
    }),
  };
}

test('every status nginx answers itself has a JSON error page, in both servers that answer', async () => {
  const { conf } = await rendered();
  for (const status of [400, 403, 404, 405, 408, 411, 413, 414, 429, 500, 501, 502, 503, 504, 505]) {
    const page = new RegExp(
      `location = /__error/${status} \\{ internal; (add_header Retry-After 1 always; )?add_header X-Request-Id \\$answer_request_id always; add_header X-Content-Type-Options nosniff always; return ${status} '(\\{.*\\})'; \\}`,
    );
    const match = page.exec(conf);
    assert.ok(match, `no JSON page for ${status}`);
    assert.equal(typeof JSON.parse(match[2]!.replaceAll("\\'", "'")).error.code, 'string');
    assert.equal(
      conf.match(new RegExp(`error_page [\\d ]*\\b${status}\\b[\\d ]* /__error/`, 'g'))?.length,
      2,
      `${status} in the public and the admission server`,
    );
  }
});

test('slots are counted in the admission server, per-client limits in the public one (0 turns them off)', async () => {
  const { conf } = await rendered({ SAGEMAKER_MODEL_SERVER_WORKERS: '3', MODEL_SERVER_MAX_QUEUE: '5' });
  assert.match(conf, /limit_conn invocations 15;/);
  assert.match(conf, /limit_conn per_client 512;/);
  assert.match(conf, /proxy_next_upstream_tries 4;/, 'every worker, then the backup');
  assert.doesNotMatch((await rendered({ MODEL_SERVER_MAX_CONNECTIONS_PER_CLIENT: '0' })).conf, /limit_conn per_client/);
});

test('the demo page: three exact locations under a CSP of self, none with MODEL_SERVER_DEMO_PAGE=false or on a multi-model endpoint', async () => {
  const { conf, runDir } = await rendered();
  // From serve's run dir, which nginx's user can always read (a checkout may be private).
  for (const uri of ['/', '/demo/app.js', '/demo/app.css'])
    assert.ok(conf.includes(`location = ${uri} { root ${path.join(runDir, 'web')}; try_files`), uri);
  assert.match(conf, /Content-Security-Policy "default-src 'self';/);
  const off = (await rendered({ MODEL_SERVER_DEMO_PAGE: 'false' })).conf;
  assert.doesNotMatch(off, /location = \/ |\/web;/);
  // Its form posts to /invocations, which a multi-model endpoint answers 404.
  assert.doesNotMatch((await rendered({ SAGEMAKER_MULTI_MODEL: 'true' })).conf, /location = \/ |\/web;/);
});

test('the rendered configuration is valid for nginx -t', { skip: skipWithoutInstalled('nginx', () => existsSync(NGINX)) }, async () => {
  for (const metrics of [false, true]) {
    const { runDir, conf } = await rendered({}, metrics);
    const file = path.join(runDir, 'nginx.conf');
    await writeFile(file, conf);
    execFileSync(NGINX, ['-t', '-c', file, '-p', runDir, '-e', 'stderr'], { stdio: 'pipe' });
  }
});

test("with metrics: /metrics goes to serve's socket; only nginx's own refusals are logged, one word each", async () => {
  const { conf, runDir } = await rendered({}, true);
  const log = path.join(runDir, 'refusals.log');
  assert.ok(conf.includes(`proxy_pass http://unix:${path.join(runDir, 'metrics.sock')};`));
  const logged = [...conf.matchAll(/access_log (\S+) (\w+);/g)].map(([, file, format]) => [file, format]);
  assert.deepEqual(logged, [
    [log, 'refused_per_client'],
    [log, 'refused_overloaded'],
    [log, 'refused_unavailable'],
  ]);
  assert.match(conf, /location = \/__error\/429 \{ internal; access_log \S+ refused_per_client; /, "the public server's limit_conn page");
  assert.doesNotMatch((await rendered()).conf, /access_log \/|location = \/metrics/);
});

test('a multi-model endpoint routes /models to serve, /models/{name}/invoke through admission (valid for nginx -t); a single-model one neither', async () => {
  const runDir = await mkdtemp(path.join(os.tmpdir(), 'nginx-conf-'));
  const settings = { runDir, socketDir: runDir, webDir: path.join(runDir, 'web'), managerSocket: path.join(runDir, 'models.sock') };
  const multi = renderNginxConfig(await readNginxTemplate(), testConfig({ SAGEMAKER_MULTI_MODEL: 'true' }), settings);
  assert.match(multi, new RegExp(`location = /models \\{ proxy_pass http://unix:${settings.managerSocket};`));
  assert.match(multi, /location ~ "\^\/models\/\[\^\/\]\+\$" \{ proxy_pass/);
  assert.match(
    multi,
    /location ~ "\^\/\(invocations\|endpoints\/\[A-Za-z0-9-\]\{1,63\}\/invocations\|models\/\[A-Za-z0-9\]\[A-Za-z0-9._-\]\{0,255\}\/invoke\)\$"/,
  );
  const single = renderNginxConfig(await readNginxTemplate(), testConfig(), settings);
  assert.doesNotMatch(single, /location = \/models|models\/\[A-Za-z0-9\]/);
  assert.match(single, /location = \/execution-parameters/);
  if (!skipWithoutInstalled('nginx', () => existsSync(NGINX))) {
    await writeFile(path.join(runDir, 'nginx.conf'), multi);
    execFileSync(NGINX, ['-t', '-c', path.join(runDir, 'nginx.conf'), '-p', runDir, '-e', 'stderr'], { stdio: 'pipe' });
  }
});
