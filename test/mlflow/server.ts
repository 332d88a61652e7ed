/** Serves createMlflowHandler over a memory-backed keel on 127.0.0.1 for tests; `call` sends one REST request. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { createKeel, type Keel } from '../../src/keel.js';
import { createMlflowHandler, type MlflowHandlerOptions } from '../../src/mlflow.js';

/** A running endpoint and the keel behind it. */
export interface MlflowServer {
  keel: Keel;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Sends `body` as JSON (POST) or as a query (GET); returns the status and the parsed reply. */
  call(
    method: string,
    path: string,
    body?: Record<string, unknown>,
  ): Promise<{ status: number; json: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** Starts an endpoint on an ephemeral loopback port. */
export async function startMlflow(
  options: Omit<MlflowHandlerOptions, 'keel'> = {},
  keel: Keel = createKeel({ backend: memoryBackend() }),
): Promise<MlflowServer> {
  const server = createServer(createMlflowHandler({ keel, ...options }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    keel,
    origin,
    async call(method, path, body) {
      let url = origin + path;
      const init: RequestInit = { method };
      if (method === 'GET' && body) {
        const q = new URLSearchParams();
        for (const [k, v] of Object.entries(body))
          for (const item of Array.isArray(v) ? v : [v]) q.append(k, String(item));
        url += `?${q}`;
      } else if (body) {
        init.body = JSON.stringify(body);
        init.headers = { 'Content-Type': 'application/json' };
      }
      const res = await fetch(url, init);
      const text = await res.text();
      return {
        status: res.status,
        json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
      };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((e) => (e ? reject(e) : resolve())),
      );
      await keel.close();
    },
  };
}
