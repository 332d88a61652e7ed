/** The MLflow endpoint's HTTP behaviour: routing, base path, MLflow's error shape and statuses, body limits, hostile bodies. */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { isKeelError } from '../../src/core/errors.js';
import { createKeel } from '../../src/keel.js';
import { createMlflowHandler } from '../../src/mlflow.js';
import { thrown } from '../helpers/data.js';
import { type MlflowServer, startMlflow } from './server.js';

let s: MlflowServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

/** Sends raw bytes; resolves with the status and body, or the socket error when the server cut it. */
function rawPost(
  origin: string,
  path: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(origin + path, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('createMlflowHandler', () => {
  it('answers an unknown path with ENDPOINT_NOT_FOUND (404) and a wrong method with 405', async () => {
    s = await startMlflow();
    const unknown = await s.call('POST', '/api/2.0/mlflow/traces/create', {});
    expect(unknown.status).toBe(404);
    expect(unknown.json.error_code).toBe('ENDPOINT_NOT_FOUND');
    expect(typeof unknown.json.message).toBe('string');
    expect((await s.call('GET', '/', {})).json.error_code).toBe('ENDPOINT_NOT_FOUND');
    const res = await fetch(`${s.origin}/api/2.0/mlflow/experiments/create`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(((await res.json()) as { error_code: string }).error_code).toBe('BAD_REQUEST');
  });

  it('serves under a base path, and a path a framework already stripped', async () => {
    s = await startMlflow({ basePath: '/mlflow/' });
    const created = await s.call('POST', '/mlflow/api/2.0/mlflow/experiments/create', {
      name: 'x',
    });
    expect(created.status).toBe(200);
    const stripped = await s.call('GET', '/api/2.0/mlflow/experiments/get-by-name', {
      experiment_name: 'x',
    });
    expect(stripped.status).toBe(200);
  });

  it('reads a base path written without its leading slash as keel/ui does', async () => {
    s = await startMlflow({ basePath: 'mlflow' });
    const created = await s.call('POST', '/mlflow/api/2.0/mlflow/experiments/create', {
      name: 'y',
    });
    expect(created.status).toBe(200);
  });

  it('refuses malformed JSON (400), a body that is not an object (400) and one over the limit (413), writing nothing', async () => {
    s = await startMlflow({ maxBodyBytes: 1024 });
    const path = '/api/2.0/mlflow/experiments/create';
    const malformed = await rawPost(s.origin, path, Buffer.from('{"name": '));
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.text)).toMatchObject({ error_code: 'BAD_REQUEST' });
    for (const body of ['[1,2]', '"name"', 'null', '3']) {
      const r = await rawPost(s.origin, path, Buffer.from(body));
      expect(r.status, body).toBe(400);
      expect(JSON.parse(r.text).error_code).toBe('INVALID_PARAMETER_VALUE');
    }
    const big = Buffer.from(JSON.stringify({ name: 'big', pad: 'x'.repeat(4000) }));
    const declared = await rawPost(s.origin, path, big);
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.text).error_code).toBe('INVALID_PARAMETER_VALUE');
    // no Content-Length: the body is counted as it arrives
    const chunked = await rawPost(s.origin, path, big, { 'Transfer-Encoding': 'chunked' });
    expect(chunked.status).toBe(413);
    const docs: string[] = [];
    for await (const d of s.keel.metadata.list('')) docs.push(d.key);
    expect(docs).toEqual([]);
  });

  it('reads NaN, Infinity and -Infinity written bare (as Python writes them), never inside strings', async () => {
    s = await startMlflow();
    const run = await s.keel.tracker.startRun({ experiment: 'x' });
    const body = `{"run_id": "${run.id}", "metrics": [
      {"key": "a", "value": NaN, "timestamp": 1, "step": 0},
      {"key": "b", "value": -Infinity, "timestamp": 1, "step": 0},
      {"key": "c", "value":Infinity, "timestamp": 1, "step": 0}],
      "tags": [{"key": "t", "value": "NaN, \\"Infinity\\" -Infinity"}]}`;
    const r = await rawPost(s.origin, '/api/2.0/mlflow/runs/log-batch', Buffer.from(body));
    expect(r.status, r.text).toBe(200);
    const stored = await s.keel.tracker.getRun(run.id);
    expect(stored.metrics.a!.value).toBeNaN();
    expect(stored.metrics.b!.value).toBe(Number.NEGATIVE_INFINITY);
    expect(stored.metrics.c!.value).toBe(Number.POSITIVE_INFINITY);
    expect(stored.tags.t).toBe('NaN, "Infinity" -Infinity');
    for (const bad of ['{"a": NaNx}', '{"a": nan}', '{"a": xNaN}', '{"a": "x"NaN}']) {
      const refused = await rawPost(s.origin, '/api/2.0/mlflow/runs/log-batch', Buffer.from(bad));
      expect(refused.status, bad).toBe(400);
      expect(JSON.parse(refused.text).error_code, bad).toBe('BAD_REQUEST');
    }
  });

  it('keeps a __proto__ field an ordinary field (JSON body and query)', async () => {
    s = await startMlflow();
    const body = Buffer.from('{"__proto__": {"name": "polluted"}, "name": "ok"}');
    const r = await rawPost(s.origin, '/api/2.0/mlflow/experiments/create', body);
    expect(r.status).toBe(200);
    expect(({} as Record<string, unknown>).name).toBeUndefined();
    const q = await fetch(
      `${s.origin}/api/2.0/mlflow/experiments/get-by-name?__proto__=x&experiment_name=ok`,
    );
    expect(q.status).toBe(200);
    const onlyProto = await fetch(`${s.origin}/api/2.0/mlflow/experiments/get?__proto__=1`);
    expect(onlyProto.status).toBe(400);
  });

  it('refuses malformed options with ValidationError', () => {
    const keel = createKeel({ backend: memoryBackend() });
    for (const options of [
      undefined,
      {},
      { keel: {} },
      { keel, basePath: 'a b' },
      { keel, maxBodyBytes: 0 },
      { keel, maxBodyBytes: 1.5 },
    ]) {
      const error = thrown(() => createMlflowHandler(options as never));
      expect(isKeelError(error, 'KEEL_VALIDATION'), JSON.stringify(options)).toBe(true);
    }
  });
});
