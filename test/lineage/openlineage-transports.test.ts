/**
 * The HTTP transport against a local node:http server standing in for Marquez's
 * `POST /api/v1/lineage` (path, headers, body, retries on 503, drops when the server is down),
 * and the file transport (JSON lines, appended).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { ValidationError } from '../../src/core/errors.js';
import { createKeel } from '../../src/keel.js';
import { fileTransport } from '../../src/lineage/openlineage/file-transport.js';
import type { OpenLineageRunEvent } from '../../src/lineage/openlineage/spec.js';
import { httpTransport } from '../../src/lineage/openlineage/transports.js';
import { pipeline } from '../../src/pipeline/builder.js';
import { openLineageProblems } from './openlineage-schema.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: OpenLineageRunEvent;
}

/** A Marquez stand-in: answers `statuses` in turn (then 201) and records every request. */
async function fakeMarquez(statuses: number[] = []) {
  const received: Received[] = [];
  let calls = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const status = statuses[calls++] ?? 201;
      if (status < 300) {
        received.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OpenLineageRunEvent,
        });
      }
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.push(server);
  return { url, received, calls: () => calls, server };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0))
    await new Promise<void>((resolve) => server.close(() => resolve()));
});

const twoSteps = pipeline('etl')
  .step('extract', () => [1, 2, 3])
  .step('load', ['extract'], ({ extract }) => extract.length)
  .build();

describe('httpTransport', () => {
  it('POSTs each event as JSON to <url>/api/v1/lineage with the API key, as Marquez accepts', async () => {
    const marquez = await fakeMarquez();
    const keel = createKeel({
      backend: memoryBackend(),
      openLineage: {
        transport: httpTransport({
          url: marquez.url,
          apiKey: 'secret',
          headers: { 'x-team': 'ml' },
        }),
        namespace: 'prod',
      },
    });
    const result = await twoSteps.run(undefined, { keel, captureEnvironment: false });
    await keel.close();
    expect(result.status).toBe('completed');
    expect(marquez.received).toHaveLength(6);
    for (const request of marquez.received) {
      expect(request.method).toBe('POST');
      expect(request.url).toBe('/api/v1/lineage');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers.authorization).toBe('Bearer secret');
      expect(request.headers['x-team']).toBe('ml');
      expect(openLineageProblems(request.body)).toEqual([]);
      expect(request.body.job.namespace).toBe('prod');
    }
    expect(marquez.received.map((r) => `${r.body.job.name} ${r.body.eventType}`)).toContain(
      'etl.load COMPLETE',
    );
    expect(keel.openLineage!.stats()).toMatchObject({ emitted: 6, sent: 6, dropped: 0 });
  });

  it('retries a 503 and a 429, and sends to a custom endpoint under a base path', async () => {
    const marquez = await fakeMarquez([503, 429]);
    const transport = httpTransport({
      url: `${marquez.url}/collector/`,
      endpoint: '/v1/events',
      minRetryDelayMs: 1,
    });
    const keel = createKeel({ backend: memoryBackend(), openLineage: { transport } });
    const run = await keel.tracker.startRun({ experiment: 'e' });
    await keel.openLineage!.flush(5000);
    expect(marquez.calls()).toBe(3);
    expect(marquez.received.map((r) => r.url)).toEqual(['/collector/v1/events']);
    await run.end();
    await keel.close();
    expect(keel.openLineage!.stats()).toMatchObject({ sent: 2, dropped: 0 });
  });

  it('does not retry a 400: the event is dropped with the status as the reason', async () => {
    const marquez = await fakeMarquez([400]);
    const keel = createKeel({
      backend: memoryBackend(),
      openLineage: { transport: httpTransport({ url: marquez.url, minRetryDelayMs: 1 }) },
    });
    await keel.tracker.startRun({ experiment: 'e' });
    await keel.openLineage!.flush(5000);
    expect(marquez.calls()).toBe(1);
    expect(keel.openLineage!.stats()).toMatchObject({ sent: 0, dropped: 1 });
    expect(keel.openLineage!.stats().lastError).toContain('answered 400');
    await keel.close();
  });

  it('with the server down and the queue full, the pipeline neither fails nor waits; drops are counted', async () => {
    const marquez = await fakeMarquez();
    const url = marquez.url;
    await new Promise<void>((resolve) => marquez.server.close(() => resolve()));
    servers.length = 0;
    const keel = createKeel({
      backend: memoryBackend(),
      openLineage: {
        // a minute before the first retry: a run that waited for it would time the test out
        transport: httpTransport({ url, retries: 3, minRetryDelayMs: 60_000 }),
        queueSize: 1,
        closeTimeoutMs: 50,
      },
    });
    const result = await twoSteps.run(undefined, { keel, captureEnvironment: false });
    expect(result.status).toBe('completed');
    const during = keel.openLineage!.stats();
    expect(during.dropped).toBeGreaterThan(0);
    expect(during.lastError).toBe('queue_full');
    // close() drops the queued event and ends the backoff of the one in flight
    await keel.close();
    expect(await keel.openLineage!.flush(1000)).toBe(true);
    const after = keel.openLineage!.stats();
    expect(after).toMatchObject({ emitted: 6, sent: 0, dropped: 6, pending: 0 });
    expect(after.lastError).toMatch(/^transport_error: /);
  });

  it('refuses bad options with a ValidationError', () => {
    for (const bad of [
      {},
      { url: 'ftp://example.com' },
      { url: 'not a url' },
      { url: 'http://x', retries: -1 },
      { url: 'http://x', timeoutMs: 0 },
      { url: 'http://x', headers: { 'bad header': 'v' } },
      { url: 'http://x', apiKey: '' },
      { url: 'http://x', fetch: 'fetch' },
      JSON.parse('{"url": "http://x", "headers": {"__proto__": "v"}}'),
    ]) {
      expect(() => httpTransport(bad as never), JSON.stringify(bad)).toThrow(ValidationError);
    }
  });
});

describe('fileTransport', () => {
  it('appends one JSON line per event, creating the directory, and keeps what was there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-openlineage-'));
    try {
      const path = join(dir, 'nested', 'lineage.jsonl');
      for (let round = 0; round < 2; round++) {
        const keel = createKeel({
          backend: memoryBackend(),
          openLineage: { transport: fileTransport({ path }) },
        });
        const built = pipeline('p', { input: z.number() })
          .step('s', ({ input }) => input + 1)
          .build();
        await built.run(round, { keel, captureEnvironment: false });
        await keel.close();
      }
      const lines = readFileSync(path, 'utf8').split('\n');
      expect(lines.pop()).toBe('');
      expect(lines).toHaveLength(8);
      for (const line of lines) expect(openLineageProblems(JSON.parse(line))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unwritable path drops events, never fails the run; a bad path is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-openlineage-'));
    try {
      const keel = createKeel({
        backend: memoryBackend(),
        // a directory cannot be opened for appending
        openLineage: { transport: fileTransport({ path: dir }) },
      });
      const run = await keel.tracker.startRun({ experiment: 'e' });
      await run.end();
      await keel.close();
      expect(keel.openLineage!.stats()).toMatchObject({ emitted: 2, sent: 0, dropped: 2 });
      expect(keel.openLineage!.stats().lastError).toContain('cannot open');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const bad of [{}, { path: '' }, { path: 'a\0b' }, { path: 3 }])
      expect(() => fileTransport(bad as never)).toThrow(ValidationError);
  });
});
