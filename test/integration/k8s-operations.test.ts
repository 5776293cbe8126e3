import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../image_classification/config';
import { manifests, type Manifest } from '../../harness/k8s';
import { restrictedViolations, type Container, type PodSpec } from '../../harness/pod-security';

/**
 * What an operator checks before applying deploy/k8s: every pod passes the Pod Security
 * "restricted" profile, and the pods survive a rollout, a drain and a zone: two replicas at
 * least, a disruption budget, a zone spread, probes that match how the server starts, and a
 * grace period that covers serve's drain. The figures they are checked against come from the
 * server's own settings (config.ts), not from the manifests.
 */

type Probe = {
  httpGet?: { path: string; port: number | string };
  tcpSocket?: { port: number | string };
  exec?: unknown;
  periodSeconds: number;
  timeoutSeconds?: number;
  failureThreshold: number;
};
type ServerContainer = Container & {
  env: { name: string; value: string }[];
  resources?: { limits?: { cpu?: string } };
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
};
type Pod = PodSpec & {
  containers: ServerContainer[];
  terminationGracePeriodSeconds?: number;
  serviceAccountName?: string;
  topologySpreadConstraints?: { topologyKey: string; maxSkew: number; labelSelector: { matchLabels: Record<string, string> } }[];
  volumes: { name: string }[];
};
type LabeledPod = { name: string; pod: Pod; labels: Record<string, string>; annotations: Record<string, string>; minReplicas: number };

/** The two pod templates: the Deployment's, and the one KServe builds from the InferenceService's predictor. */
async function pods(): Promise<{ all: Manifest[]; pods: LabeledPod[] }> {
  const all = (await manifests()).map(({ manifest }) => manifest);
  const one = (kind: string) => all.find((m) => m.kind === kind) as Manifest & { spec: unknown };
  const deployment = one('Deployment').spec as {
    replicas?: number;
    template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: Pod };
  };
  const hpa = one('HorizontalPodAutoscaler').spec as { minReplicas: number };
  const isvc = one('InferenceService');
  const predictor = (isvc.spec as { predictor: Pod & { minReplicas: number; annotations: Record<string, string> } }).predictor;
  return {
    all,
    pods: [
      {
        name: 'Deployment',
        pod: deployment.template.spec,
        labels: deployment.template.metadata.labels,
        annotations: deployment.template.metadata.annotations,
        minReplicas: Math.min(deployment.replicas ?? Infinity, hpa.minReplicas),
      },
      {
        name: 'InferenceService',
        pod: predictor,
        // What KServe puts on the predictor's pods.
        labels: { 'serving.kserve.io/inferenceservice': isvc.metadata.name, component: 'predictor' },
        annotations: predictor.annotations,
        minReplicas: predictor.minReplicas,
      },
    ],
  };
}

const server = (pod: Pod) => pod.containers[0]!;
/** The server's settings as these manifests configure it: its own defaults, overridden by the container's env. */
const serverConfig = (pod: Pod) => loadConfig(Object.fromEntries(server(pod).env.map(({ name, value }) => [name, value])), 2);
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

test('every pod passes the Pod Security "restricted" profile: non-root uid/gid 1000, RuntimeDefault seccomp, no privilege, read-only roots', async () => {
  for (const { name, pod } of (await pods()).pods) {
    assert.deepEqual(restrictedViolations(pod), [], name);
    assert.deepEqual(
      { ...pod.securityContext, seccompProfile: pod.securityContext?.seccompProfile?.type },
      { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: 'RuntimeDefault' },
      name,
    );
    assert.equal(pod.automountServiceAccountToken, false, `${name}: no Kubernetes API token in the pod`);
    for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
      const where = `${name} ${container.name}`;
      assert.equal(container.securityContext?.readOnlyRootFilesystem, true, where);
      assert.deepEqual(container.securityContext?.capabilities, { drop: ['ALL'] }, where);
      // The only writable paths are emptyDirs with a size limit; /tmp is where serve writes (os.tmpdir()).
      const writable = (container.volumeMounts ?? []).filter((mount) => !mount.readOnly);
      for (const mount of writable) {
        const volume = pod.volumes.find((v) => v.name === mount.name) as { emptyDir?: { sizeLimit?: string } } | undefined;
        assert.ok(volume?.emptyDir?.sizeLimit, `${where}: ${mount.mountPath} is not a size-limited emptyDir`);
      }
    }
    assert.ok(
      server(pod).volumeMounts?.some((mount) => mount.mountPath === '/tmp' && !mount.readOnly),
      `${name}: the server has a writable /tmp`,
    );
  }
});

test('the restricted check refuses what admission would: root, a kept capability, no seccomp, a hostPath', async () => {
  const { pod } = (await pods()).pods[0]!;
  const broken = (change: (copy: Pod) => void) => {
    const copy = structuredClone(pod);
    change(copy);
    return restrictedViolations(copy);
  };
  assert.match(broken((p) => (p.securityContext!.runAsUser = 0)).join(), /uid 0/);
  assert.match(broken((p) => delete server(p).securityContext!.capabilities).join(), /drop ALL/);
  assert.match(
    broken((p) => {
      delete p.securityContext!.seccompProfile;
      for (const c of [...p.initContainers!, ...p.containers]) delete c.securityContext!.seccompProfile;
    }).join(),
    /seccomp/,
  );
  assert.match(broken((p) => p.volumes.push({ name: 'host', hostPath: { path: '/' } } as never)).join(), /type hostPath/);
  assert.match(broken((p) => (p.initContainers![0]!.securityContext!.allowPrivilegeEscalation = true)).join(), /fetch-model/);
});

test('probes: startup covers the load timeout, readiness follows /ping, liveness cannot fail on a loading or busy server', async () => {
  for (const { name, pod } of (await pods()).pods) {
    const container = server(pod);
    const config = serverConfig(pod);
    const startup = container.startupProbe!;
    assert.equal(startup.httpGet?.path, '/ping', name);
    assert.ok(
      startup.periodSeconds * startup.failureThreshold >= config.loadTimeoutSeconds + 20,
      `${name}: startup allows ${startup.periodSeconds * startup.failureThreshold} s, the model load ${config.loadTimeoutSeconds} s`,
    );
    assert.equal(container.readinessProbe?.httpGet?.path, '/ping', name);
    // nginx gives each worker 5 s to answer /ping, then asks the next: the probe waits for a stuck
    // worker to time out and another to answer, so one stuck worker does not take the pod out.
    const readinessTimeout = container.readinessProbe?.timeoutSeconds ?? 1;
    assert.ok(readinessTimeout >= 5 * config.workers, `${name}: readiness timeout ${readinessTimeout} s, ${config.workers} workers`);
    // /ping is 503 while loading and waits on a worker's event loop: liveness must not ask it.
    const liveness = container.livenessProbe!;
    assert.equal(liveness.httpGet, undefined, `${name}: liveness must not depend on the workers`);
    assert.ok(liveness.tcpSocket, name);
    const port = container.ports!.find((p) => p.containerPort === config.port)!;
    assert.ok([port.containerPort, port.name].includes(liveness.tcpSocket.port), `${name}: liveness on the serving port`);
  }
});

test("CPU: the workers and their ONNX Runtime threads fit the pod's CPU limit on a node of any size, none spinning", async () => {
  for (const { name, pod } of (await pods()).pods) {
    const env = Object.fromEntries(server(pod).env.map(({ name: key, value }) => [key, value]));
    // Node may report the node's cores rather than the pod's quota (cgroup v1): a 64-core node.
    const config = loadConfig(env, 64);
    const cpuLimit = Number(server(pod).resources?.limits?.cpu);
    assert.ok(cpuLimit >= 1, `${name}: a whole-CPU limit`);
    assert.ok(config.workers * config.ortIntraOpThreads <= cpuLimit, `${name}: ${config.workers} × ${config.ortIntraOpThreads} threads`);
    assert.equal(config.ortAllowSpinning, false, name);
  }
});

test("shutdown: preStop keeps serving while the pod leaves rotation, and the grace period covers serve's drain", async () => {
  for (const { name, pod } of (await pods()).pods) {
    const preStop = server(pod).lifecycle?.preStop;
    const command = preStop?.exec?.command ?? [];
    assert.equal(command[0], 'sleep', `${name}: preStop sleeps (the image has sleep; test-container.sh checks)`);
    const preStopSeconds = Number(command[1]);
    assert.ok(preStopSeconds >= 5, name);
    // serve on SIGTERM: nginx drains for up to SAGEMAKER_MODEL_SERVER_TIMEOUT + 5 s, then the workers stop (serve.ts).
    const drain = serverConfig(pod).timeoutSeconds + 5;
    const grace = pod.terminationGracePeriodSeconds ?? 30;
    assert.ok(grace >= 75, `${name}: grace ${grace} s`);
    assert.ok(grace >= preStopSeconds + drain + 10, `${name}: grace ${grace} s < preStop ${preStopSeconds} s + drain ${drain} s + 10 s`);
  }
});

test('redundancy: two replicas at least, a disruption budget and a zone spread that select the pods', async () => {
  const { all, pods: templates } = await pods();
  const budgets = all.filter((m) => m.kind === 'PodDisruptionBudget') as (Manifest & {
    spec: { maxUnavailable?: number; minAvailable?: number; selector: { matchLabels: Record<string, string> } };
  })[];
  for (const { name, pod, labels, minReplicas } of templates) {
    assert.ok(minReplicas >= 2, `${name}: at least 2 replicas, has ${minReplicas}`);
    const budget = budgets.find((b) => matches(b.spec.selector.matchLabels, labels));
    assert.ok(budget, `${name}: no PodDisruptionBudget selects its pods`);
    // Allows one eviction at a time, and never all of the minimum.
    const allowed = budget.spec.maxUnavailable ?? minReplicas - budget.spec.minAvailable!;
    assert.ok(allowed >= 1 && allowed < minReplicas, `${name}: budget allows ${allowed} of ${minReplicas}`);
    const zone = pod.topologySpreadConstraints?.find((c) => c.topologyKey === 'topology.kubernetes.io/zone');
    assert.ok(zone, `${name}: no zone spread`);
    assert.equal(zone.maxSkew, 1);
    assert.ok(matches(zone.labelSelector.matchLabels, labels), `${name}: the zone spread selects other pods`);
  }
  const deployment = all.find((m) => m.kind === 'Deployment') as {
    spec: { replicas?: number; strategy: { rollingUpdate: { maxUnavailable: number } } };
  };
  assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0, 'a rollout never removes a ready pod first');
  // The HPA owns the count: a `replicas` in the manifest would reset it at every `kubectl apply`.
  assert.equal(deployment.spec.replicas, undefined, 'the Deployment leaves its replica count to the HPA');
});

test('network: a NetworkPolicy selects every pod and lets in only its serving and metrics ports, out only DNS, HTTPS and the Pod Identity agent', async () => {
  type Rule = { ports?: { port: number | string; protocol?: string }[]; to?: { ipBlock?: { cidr: string } }[] };
  type Policy = Manifest & {
    spec: { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress?: Rule[]; egress?: Rule[] };
  };
  const { all, pods: templates } = await pods();
  const policies = all.filter((m) => m.kind === 'NetworkPolicy') as Policy[];
  // A rule without ports lets every port through; one without `to`, to every address.
  const portsOf = (rules: Rule[] = []) =>
    rules
      .flatMap((rule) =>
        (rule.ports ?? [{ port: 'every port' }]).map(
          (p) =>
            `${p.protocol ?? 'TCP'}/${p.port}${rule.to ? ` to ${rule.to.map((peer) => peer.ipBlock?.cidr ?? 'a selector').join(' ')}` : ''}`,
        ),
      )
      .sort();
  for (const { name, pod, labels } of templates) {
    const policy = policies.find((p) => matches(p.spec.podSelector.matchLabels, labels));
    assert.ok(policy, `${name}: no NetworkPolicy selects its pods`);
    assert.deepEqual([...policy.spec.policyTypes].sort(), ['Egress', 'Ingress'], `${name}: both directions restricted`);
    const config = serverConfig(pod);
    assert.deepEqual(portsOf(policy.spec.ingress), [`TCP/${config.port}`, `TCP/${config.metricsPort}`].sort(), name);
    // DNS, HTTPS (S3, STS), and EKS Pod Identity's agent on the node.
    assert.deepEqual(portsOf(policy.spec.egress), ['TCP/443', 'TCP/53', 'TCP/80 to 169.254.170.23/32 fd00:ec2::23/128', 'UDP/53'], name);
  }
});

test('credentials, metrics and images: IRSA to the model fetcher only, /metrics on its own port, explicit image tags', async () => {
  const { all, pods: templates } = await pods();
  for (const { name, pod, annotations } of templates) {
    const container = server(pod);
    // The pod identity webhook injects a role's credentials into every container not named here.
    assert.deepEqual(annotations['eks.amazonaws.com/skip-containers']?.split(','), [container.name], name);
    // The AWS CLI caches those credentials under HOME: on a volume the server does not mount.
    for (const fetcher of pod.initContainers ?? []) {
      const home = (fetcher as ServerContainer).env?.find((e) => e.name === 'HOME')?.value ?? '/root';
      const homeVolume = fetcher.volumeMounts?.find((m) => home === m.mountPath || home.startsWith(`${m.mountPath}/`))?.name;
      const serverVolumes = (container.volumeMounts ?? []).map((m) => m.name);
      assert.ok(homeVolume && !serverVolumes.includes(homeVolume), `${name} ${fetcher.name}: HOME ${home} is not on a volume of its own`);
    }
    const config = serverConfig(pod);
    assert.ok(config.metricsPort && config.metricsPort !== config.port, `${name}: /metrics on the serving port`);
    // KServe's custom predictor declares its one serving port; the Deployment names the metrics port too.
    if (name === 'Deployment') assert.ok(container.ports!.some((p) => p.name === 'metrics' && p.containerPort === config.metricsPort));
    assert.equal(annotations['prometheus.io/port'], String(config.metricsPort), name);
    assert.equal(config.demoPage, false, `${name}: the demo page is off`);
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      const tag = /:([\w][\w.-]{0,127})$/.exec(c.image ?? '')?.[1];
      assert.ok(tag && tag !== 'latest', `${name} ${c.name}: image ${c.image} has no explicit tag`);
    }
  }
  const service = all.find((m) => m.kind === 'Service') as { spec: { ports: { port: number; targetPort: string }[] } };
  assert.deepEqual(
    service.spec.ports.map((p) => p.targetPort),
    ['http'],
    'the Service exposes the serving port only',
  );
  const account = all.find((m) => m.kind === 'ServiceAccount') as { automountServiceAccountToken?: boolean };
  assert.equal(account.automountServiceAccountToken, false);
});
