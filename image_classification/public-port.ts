import net from 'node:net';

/** What `serve` finds on its public port before it starts anything. */
export interface PublicPort {
  /** Nothing listens on it (IPv4, and IPv6 where the host has it). */
  readonly free: boolean;
  /** The host has IPv6, so nginx listens on it too: on an IPv6-only Kubernetes cluster the probes and the Service reach the pod there. */
  readonly ipv6: boolean;
}

/** The error binding `host:port` meets, or undefined when it binds. */
function bindError(port: number, host: string): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error));
    probe.listen({ port, host, exclusive: true, ipv6Only: host === '::' }, () => probe.close(() => resolve(undefined)));
  });
}

/**
 * nginx would refuse a taken port too, but only after the workers had started loading the
 * model. Any other error (a port below 1024 without the right) is nginx's to report; an IPv6
 * bind that fails for any other reason (a kernel without IPv6) means IPv4 only.
 */
export async function probePublicPort(port: number): Promise<PublicPort> {
  if ((await bindError(port, '0.0.0.0'))?.code === 'EADDRINUSE') return { free: false, ipv6: false };
  const ipv6 = await bindError(port, '::');
  return { free: ipv6?.code !== 'EADDRINUSE', ipv6: ipv6 === undefined || ipv6.code === 'EADDRINUSE' };
}
