import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../src/artifacts/types.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { digestOf } from '../../src/core/digest.js';
import { IntegrityError } from '../../src/core/errors.js';
import { createKeel, type Keel } from '../../src/keel.js';
import { checkArtifactPath } from '../../src/mlflow/artifact-paths.js';
import { createMlflowHandler } from '../../src/mlflow/handler.js';
import { mlflowExperimentId } from '../../src/mlflow/mapping.js';
import { serve, type TestServer } from '../ui/server.js';

/** A store that answers `get`/`stream` of the digests in `tampered` with other bytes. */
function tamperable(inner: ArtifactStore, tampered: Set<string>): ArtifactStore {
  const evil = new TextEncoder().encode('evil bytes');
  return {
    ...inner,
    put: (body, opts) => inner.put(body, opts),
    stat: (d) => inner.stat(d),
    has: (d) => inner.has(d),
    list: (o) => inner.list(o),
    delete: (d) => inner.delete(d),
    async get(digest) {
      if (!tampered.has(digest)) return inner.get(digest);
      const { verifyBytes } = await import('../../src/artifacts/verify.js');
      return verifyBytes(digest, evil, 'test get');
    },
    stream(digest) {
      if (!tampered.has(digest)) return inner.stream(digest);
      // what a damaged disk gives: bytes, then the digest check failing at the end
      return (async function* () {
        yield new Uint8Array(1024 * 1024);
        throw new IntegrityError(`[keel] ${digest} does not match its bytes`);
      })();
    },
  };
}

let keel: Keel;
let server: TestServer;
let runId: string;
let root: string;
const tampered = new Set<string>();

beforeAll(async () => {
  const backend = memoryBackend();
  keel = createKeel({
    backend: { ...backend, artifacts: tamperable(backend.artifacts, tampered) },
  });
  server = await serve(createMlflowHandler({ keel }));
  const run = await keel.tracker.startRun({ experiment: 'arts' });
  runId = run.id;
  root = `/api/2.0/mlflow-artifacts/artifacts/${mlflowExperimentId('arts')}/${runId}/artifacts`;
});
afterAll(async () => {
  await server?.close();
  await keel?.close();
});

const put = (path: string, body: string, type = 'text/plain') =>
  server.get(path, { method: 'PUT', body, headers: { 'content-type': type } });
/** A PUT whose path is sent byte for byte (fetch would resolve `%2E%2E` segments first). */
function rawPut(path: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(server.origin);
    const req = request({ hostname, port, path, method: 'PUT' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const json = (r: { text: string }) => JSON.parse(r.text) as Record<string, unknown>;

describe('artifacts proxy', () => {
  it('uploads into the store, records the file on the run, lists and downloads it verified', async () => {
    const up = await put(`${root}/model/model.pkl`, 'weights v1', 'application/octet-stream');
    expect(up.status).toBe(200);
    expect(json(up)).toEqual({});
    expect((await put(`${root}/model/MLmodel`, 'flavors: {}')).status).toBe(200);
    expect((await put(`${root}/metrics.txt`, 'acc 0.9')).status).toBe(200);
    // a later upload of a name wins
    expect((await put(`${root}/metrics.txt`, 'acc 0.95')).status).toBe(200);

    const run = await keel.tracker.getRun(runId);
    const digest = await digestOf('weights v1');
    expect(run.outputs).toContainEqual({ digest, name: 'model/model.pkl', kind: 'artifact' });
    expect(new TextDecoder().decode(await keel.artifacts.get(digest))).toBe('weights v1');

    const down = await server.get(`${root}/metrics.txt`);
    expect(down.status).toBe(200);
    expect(down.text).toBe('acc 0.95');
    expect(down.headers.get('content-type')).toBe('text/plain');
    expect(down.headers.get('etag')).toBe(`"${await digestOf('acc 0.95')}"`);

    const top = await server.get(
      `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(root.split('/artifacts/').slice(1).join('/artifacts/'))}`,
    );
    expect(json(top)).toEqual({
      files: [
        { path: 'metrics.txt', is_dir: false, file_size: 8 },
        { path: 'model', is_dir: true },
      ],
    });
    const sub = await server.get(
      `/api/2.0/mlflow-artifacts/artifacts?path=${mlflowExperimentId('arts')}/${runId}/artifacts/model`,
    );
    expect(json(sub)).toEqual({
      files: [
        { path: 'MLmodel', is_dir: false, file_size: 11 },
        { path: 'model.pkl', is_dir: false, file_size: 10 },
      ],
    });

    const listed = await server.get(`/api/2.0/mlflow/artifacts/list?run_id=${runId}&path=model`);
    expect(json(listed)).toEqual({
      root_uri: `mlflow-artifacts:/${mlflowExperimentId('arts')}/${runId}/artifacts`,
      files: [
        { path: 'model/MLmodel', is_dir: false, file_size: 11 },
        { path: 'model/model.pkl', is_dir: false, file_size: 10 },
      ],
    });
    const empty = await server.get(`/api/2.0/mlflow/artifacts/list?run_id=${runId}&path=nothing`);
    expect(json(empty)).toEqual({ root_uri: expect.stringContaining(runId) });
  });

  it('answers a missing file, an unknown run and a wrong experiment with RESOURCE_DOES_NOT_EXIST', async () => {
    for (const path of [
      `${root}/absent.bin`,
      `${root}/model`,
      `/api/2.0/mlflow-artifacts/artifacts/${mlflowExperimentId('arts')}/0123456789abcdefghjkmnpqrs/artifacts/x`,
      `/api/2.0/mlflow-artifacts/artifacts/${mlflowExperimentId('other')}/${runId}/artifacts/metrics.txt`,
    ]) {
      const r = await server.get(path);
      expect(r.status, path).toBe(404);
      expect(json(r).error_code, path).toBe('RESOURCE_DOES_NOT_EXIST');
    }
    const r = await server.get('/api/2.0/mlflow/artifacts/list?run_id=nope');
    expect(r.status).toBe(404);
  });

  it('never sends tampered bytes as a file: a digest mismatch is an error', async () => {
    expect((await put(`${root}/fragile.bin`, 'good bytes')).status).toBe(200);
    tampered.add(await digestOf('good bytes'));
    const r = await server.get(`${root}/fragile.bin`);
    expect(r.status).toBe(500);
    expect(json(r).error_code).toBe('INTERNAL_ERROR');
    expect(r.text).not.toContain('evil');
  });

  it('streams a large file, and cuts the connection when its bytes turn out damaged', async () => {
    const big = new Uint8Array(9 * 1024 * 1024).map((_, i) => i % 251);
    const up = await fetch(`${server.origin}${root}/big.bin`, { method: 'PUT', body: big });
    expect(up.status).toBe(200);
    const down = await fetch(`${server.origin}${root}/big.bin`);
    expect(down.headers.get('content-length')).toBe(String(big.length));
    expect(await digestOf(new Uint8Array(await down.arrayBuffer()))).toBe(await digestOf(big));

    tampered.add(await digestOf(big));
    const bad = await fetch(`${server.origin}${root}/big.bin`);
    expect(bad.status).toBe(200);
    await expect(bad.arrayBuffer()).rejects.toThrow();
  });

  it('refuses unsafe paths before reading anything, in MLflow error shape', async () => {
    const before = (await keel.tracker.getRun(runId)).outputs.length;
    const bad = [
      `${root}/..%2F..%2Fescape.txt`,
      `${root}/a/%2E%2E/b`,
      `${root}/a%00b`,
      `${root}/a%5Cb`,
      `${root}//double`,
      `${root}/${'x'.repeat(1200)}`,
      `${root}/%E0%A4%A`,
      `/api/2.0/mlflow-artifacts/artifacts/elsewhere.txt`,
      `${root}`,
      `${root}/`,
    ];
    for (const path of bad) {
      const r = await rawPut(path, 'nope');
      expect([400, 404], path).toContain(r.status);
      expect(json(r).error_code, path).toMatch(/INVALID_PARAMETER_VALUE|RESOURCE_DOES_NOT_EXIST/);
    }
    for (const query of ['/etc/passwd', '../x', 'a/../../b', 'a\u0000b']) {
      const r = await server.get(
        `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(query)}`,
      );
      expect(r.status, query).toBe(400);
      expect(json(r).error_code).toBe('INVALID_PARAMETER_VALUE');
    }
    expect((await keel.tracker.getRun(runId)).outputs.length).toBe(before);
  });

  it('refuses an upload to an ended run', async () => {
    const run = await keel.tracker.startRun({ experiment: 'arts' });
    await run.end();
    const r = await put(
      `/api/2.0/mlflow-artifacts/artifacts/${mlflowExperimentId('arts')}/${run.id}/artifacts/late.txt`,
      'late',
    );
    expect(r.status).toBe(400);
    expect((await keel.tracker.getRun(run.id)).outputs).toEqual([]);
  });
});

describe('checkArtifactPath', () => {
  it('accepts relative paths and trims one trailing slash', () => {
    expect(checkArtifactPath('model/model.pkl', 'p')).toBe('model/model.pkl');
    expect(checkArtifactPath('model/', 'p')).toBe('model');
    expect(checkArtifactPath('', 'p')).toBe('');
    expect(checkArtifactPath('a..b/.hidden', 'p')).toBe('a..b/.hidden');
  });
  it('refuses climbing, absolute, control characters, backslashes and huge names', () => {
    for (const bad of [
      '..',
      'a/../b',
      '/abs',
      'C:/x',
      'a\u0000b',
      'a\\b',
      './a',
      'a//b',
      'x'.repeat(1001),
    ])
      expect(() => checkArtifactPath(bad, 'p'), bad).toThrow(/invalid p/);
  });
});
