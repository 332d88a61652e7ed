/** Serves a UI handler on 127.0.0.1 for tests; `get` fetches a path under it. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running test server. */
export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  get(
    path: string,
    init?: RequestInit,
  ): Promise<{ status: number; headers: Headers; text: string }>;
  close(): Promise<void>;
}

/**
 * Listens on an ephemeral loopback port. `mount` turns the handler into what a framework
 * would call it with (the default calls it as `node:http` does).
 */
export async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  mount: (req: IncomingMessage, res: ServerResponse) => void = handler,
): Promise<TestServer> {
  const server = createServer(mount);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    async get(path, init) {
      const res = await fetch(origin + path, { redirect: 'manual', ...init });
      return { status: res.status, headers: res.headers, text: await res.text() };
    },
    close: () =>
      new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
