import http from 'node:http';

/** Answers between serve and its workers are small; a larger one is a bug, not something to buffer. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export interface SocketAnswer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * One JSON request over a unix socket (serve's model manager ⇄ the workers), with a time
 * limit: rejects when the socket refuses (a worker still starting), times out, or answers
 * something that is not JSON.
 */
export function requestJson(socketPath: string, method: string, path: string, body: unknown, timeoutMs: number): Promise<SocketAnswer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      { socketPath, method, path, timeout: timeoutMs, headers: payload ? { 'Content-Type': 'application/json' } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MAX_ANSWER_BYTES) req.destroy(new Error(`answer over ${MAX_ANSWER_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
          } catch (error) {
            reject(error as Error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
