/**
 * The Pod Security Standards' "restricted" profile (which includes "baseline"), as the
 * PodSecurity admission controller checks a pod spec, written from the standard's tables
 * (kubernetes.io/docs/concepts/security/pod-security-standards) rather than from our manifests.
 * Returns each violation as a sentence; an empty list means the pod would be admitted.
 */

interface SecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  procMount?: string;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type: string };
  seLinuxOptions?: { type?: string; user?: string; role?: string };
  appArmorProfile?: { type: string };
}

export interface Container {
  name: string;
  image?: string;
  securityContext?: SecurityContext;
  ports?: { containerPort: number; hostPort?: number; name?: string }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

export interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  automountServiceAccountToken?: boolean;
  securityContext?: SecurityContext & { fsGroup?: number; runAsGroup?: number; sysctls?: { name: string }[] };
  containers: Container[];
  initContainers?: Container[];
  volumes?: Record<string, unknown>[];
}

const RESTRICTED_VOLUME_TYPES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
];
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const SECCOMP_ALLOWED = new Set(['RuntimeDefault', 'Localhost']);

export function restrictedViolations(pod: PodSpec): string[] {
  const problems: string[] = [];
  const podContext = pod.securityContext ?? {};
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) if (pod[field]) problems.push(`${field} is set`);
  for (const volume of pod.volumes ?? []) {
    const type = Object.keys(volume).find((key) => key !== 'name');
    if (!type || !RESTRICTED_VOLUME_TYPES.includes(type)) problems.push(`volume ${String(volume.name)} is of type ${type}`);
  }
  for (const sysctl of podContext.sysctls ?? []) if (!SAFE_SYSCTLS.has(sysctl.name)) problems.push(`sysctl ${sysctl.name}`);
  if (podContext.runAsUser === 0) problems.push('the pod runs as uid 0');
  if (podContext.seccompProfile && !SECCOMP_ALLOWED.has(podContext.seccompProfile.type))
    problems.push(`pod seccomp ${podContext.seccompProfile.type}`);
  for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
    const c = container.securityContext ?? {};
    const where = `container ${container.name}`;
    if (c.privileged) problems.push(`${where} is privileged`);
    if (c.procMount && c.procMount !== 'Default') problems.push(`${where} procMount ${c.procMount}`);
    if (container.ports?.some((port) => port.hostPort)) problems.push(`${where} has a hostPort`);
    if (c.allowPrivilegeEscalation !== false) problems.push(`${where} does not set allowPrivilegeEscalation: false`);
    if ((c.runAsNonRoot ?? podContext.runAsNonRoot) !== true) problems.push(`${where} does not set runAsNonRoot: true`);
    if (c.runAsUser === 0) problems.push(`${where} runs as uid 0`);
    const seccomp = c.seccompProfile?.type ?? podContext.seccompProfile?.type;
    if (!seccomp || !SECCOMP_ALLOWED.has(seccomp)) problems.push(`${where} has no RuntimeDefault or Localhost seccomp profile`);
    if (!c.capabilities?.drop?.includes('ALL')) problems.push(`${where} does not drop ALL capabilities`);
    for (const added of c.capabilities?.add ?? []) if (added !== 'NET_BIND_SERVICE') problems.push(`${where} adds ${added}`);
  }
  return problems;
}
