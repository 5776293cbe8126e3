import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import Ajv, { type AnySchema } from 'ajv';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Service, ServiceAccount } from 'kubernetes-models/v1';
import { ROOT } from '../../harness/helpers';
import { manifests, type Manifest } from '../../harness/k8s';

/**
 * deploy/k8s against the Kubernetes schemas: the core kinds with kubernetes-models' validators
 * (the API's OpenAPI schemas), the KServe InferenceService with ajv against the schema of
 * KServe's CRD (test/fixtures, its source named inside), checked as the API server does with
 * strict field validation: an unknown field is an error. Then what ties them together.
 */

const CORE_VALIDATORS: Record<string, (manifest: unknown) => void> = {
  'apps/v1/Deployment': (m) => new Deployment(m as never).validate(),
  'v1/Service': (m) => new Service(m as never).validate(),
  'v1/ServiceAccount': (m) => new ServiceAccount(m as never).validate(),
  'autoscaling/v2/HorizontalPodAutoscaler': (m) => new HorizontalPodAutoscaler(m as never).validate(),
  'policy/v1/PodDisruptionBudget': (m) => new PodDisruptionBudget(m as never).validate(),
  'networking.k8s.io/v1/NetworkPolicy': (m) => new NetworkPolicy(m as never).validate(),
};

/** Structural CRD schemas prune unknown fields; strict validation refuses them: so does this. */
function refuseUnknownFields(schema: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [
      key,
      key === 'properties'
        ? Object.fromEntries(
            Object.entries(value as Record<string, Record<string, unknown>>).map(([name, sub]) => [name, refuseUnknownFields(sub)]),
          )
        : key === 'items' || key === 'additionalProperties'
          ? typeof value === 'object' && value !== null
            ? refuseUnknownFields(value as Record<string, unknown>)
            : value
          : value,
    ]),
  );
  if (copy.properties && !copy['x-kubernetes-preserve-unknown-fields'] && copy.additionalProperties === undefined)
    copy.additionalProperties = false;
  return copy;
}

async function inferenceServiceValidator() {
  const crd = JSON.parse(
    await readFile(path.join(ROOT, 'test', 'fixtures', 'kserve-inferenceservice-v1beta1.schema.json'), 'utf8'),
  ) as Record<string, unknown>;
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  return ajv.compile(refuseUnknownFields(crd) as AnySchema);
}

test('every manifest is valid against its schema: core kinds by kubernetes-models, the InferenceService by its CRD', async () => {
  const validateInferenceService = await inferenceServiceValidator();
  const all = await manifests();
  assert.deepEqual(all.map(({ manifest }) => manifest.kind).sort(), [
    'Deployment',
    'HorizontalPodAutoscaler',
    'InferenceService',
    'NetworkPolicy',
    'NetworkPolicy',
    'PodDisruptionBudget',
    'PodDisruptionBudget',
    'Service',
    'ServiceAccount',
  ]);
  for (const { file, manifest } of all) {
    if (manifest.kind === 'InferenceService') {
      assert.equal(manifest.apiVersion, 'serving.kserve.io/v1beta1');
      assert.ok(validateInferenceService(manifest), `${file}: ${JSON.stringify(validateInferenceService.errors)}`);
    } else {
      const validate = CORE_VALIDATORS[`${manifest.apiVersion}/${manifest.kind}`];
      assert.ok(validate, `${file}: no validator for ${manifest.apiVersion} ${manifest.kind}`);
      assert.doesNotThrow(() => validate(manifest), file);
    }
  }
});

test('the validators refuse what kubectl would: a misspelt KServe field, a wrongly typed port', async () => {
  const validateInferenceService = await inferenceServiceValidator();
  const all = await manifests();
  const isvc = structuredClone(all.find(({ manifest }) => manifest.kind === 'InferenceService')!.manifest) as {
    spec: { predictor: Record<string, unknown> };
  };
  isvc.spec.predictor.minReplica = 1;
  assert.equal(validateInferenceService(isvc), false);
  assert.match(JSON.stringify(validateInferenceService.errors), /minReplica/);
  const deployment = structuredClone(all.find(({ manifest }) => manifest.kind === 'Deployment')!.manifest) as {
    spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } };
  };
  deployment.spec.template.spec.containers[0]!.ports[0]!.containerPort = '8080';
  assert.throws(() => CORE_VALIDATORS['apps/v1/Deployment']!(deployment), /containerPort must be integer/);
});

test('the pieces fit: port 8080 with readiness on /ping, selectors, scale target, service account, env names the server reads', async () => {
  const all = (await manifests()).map(({ manifest }) => manifest);
  const byKind = (kind: string): unknown => all.find((manifest) => manifest.kind === kind);
  type Container = {
    ports: { containerPort: number; name: string }[];
    readinessProbe: { httpGet: { path: string; port: number | string } };
    env: { name: string }[];
  };
  const deployment = byKind('Deployment') as {
    spec: {
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[]; serviceAccountName: string } };
    };
  };
  const isvc = byKind('InferenceService') as { spec: { predictor: { containers: Container[]; serviceAccountName: string } } };
  const config = await readFile(path.join(ROOT, 'image_classification', 'config.ts'), 'utf8');
  const serverContainers = [deployment.spec.template.spec.containers[0]!, isvc.spec.predictor.containers[0]!];
  for (const container of serverContainers) {
    const port = container.ports[0]!;
    assert.equal(port.containerPort, 8080);
    assert.equal(container.readinessProbe.httpGet.path, '/ping');
    assert.ok([8080, port.name].includes(container.readinessProbe.httpGet.port));
    // STORAGE_URI is KServe's (its storage initializer reads it); every other name is the server's.
    for (const { name } of container.env.filter(({ name }) => name !== 'STORAGE_URI'))
      assert.ok(config.includes(`'${name}'`), `the server reads no ${name}`);
  }
  assert.equal(
    (isvc.spec.predictor.containers[0]!.env.find(({ name }) => name === 'SM_MODEL_DIR') as { value?: string }).value,
    '/mnt/models',
  );
  const service = byKind('Service') as { spec: { selector: Record<string, string> } };
  assert.deepEqual(service.spec.selector, deployment.spec.template.metadata.labels);
  assert.deepEqual(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels);
  const hpa = byKind('HorizontalPodAutoscaler') as { spec: { scaleTargetRef: { kind: string; name: string } } };
  assert.deepEqual(hpa.spec.scaleTargetRef, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    name: (byKind('Deployment') as Manifest).metadata.name,
  });
  const account = (byKind('ServiceAccount') as Manifest).metadata.name;
  assert.equal(deployment.spec.template.spec.serviceAccountName, account);
  assert.equal(isvc.spec.predictor.serviceAccountName, account);
});
