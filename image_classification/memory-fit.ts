/**
 * Whether the default worker count fits the container's memory limit. Each worker may hold up
 * to WORKER_PEAK_MB (docs/limits.md's worst case: two 16-MP HEIF/AVIF decodes in flight), and
 * serve, pm2 and nginx together about SUPERVISORS_MB (measured: serve 97, pm2 71, nginx's
 * master and a worker 16 MB). A limit below that is not refused, only reported: most requests
 * stay far below the peak.
 */
export const WORKER_PEAK_MB = 800;
export const SUPERVISORS_MB = 200;

const MB = 1024 * 1024;

export interface MemoryShortfall {
  readonly workers: number;
  readonly peakMb: number;
  readonly limitMb: number;
  /** The most workers whose peaks fit the limit (at least 1). */
  readonly fittingWorkers: number;
}

/**
 * `limitBytes`: `process.constrainedMemory()`, the cgroup's memory limit (0, or a number near
 * 2^64 or 2^63, when there is none).
 */
export function memoryShortfall(workers: number, limitBytes: number): MemoryShortfall | undefined {
  if (!(limitBytes > 0) || limitBytes >= 2 ** 53) return undefined;
  const limitMb = Math.floor(limitBytes / MB);
  const peakMb = workers * WORKER_PEAK_MB + SUPERVISORS_MB;
  if (peakMb <= limitMb) return undefined;
  return { workers, peakMb, limitMb, fittingWorkers: Math.max(1, Math.floor((limitMb - SUPERVISORS_MB) / WORKER_PEAK_MB)) };
}
