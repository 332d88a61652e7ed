/**
 * copyBackend into S3: an fs store populated through createKeel, copied into fs metadata +
 * S3 artifacts (a real S3-protocol server on 127.0.0.1), reads back the same, and copies
 * back out again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyBackend } from '../../src/backends/copy.js';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { createFsMetadataStore } from '../../src/backends/fs/metadata-store.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { createS3ArtifactStore } from '../../src/backends/s3/artifact-store.js';
import { collect } from '../../src/testing/assert.js';
import { tempRoot } from '../fs/helpers.js';
import { BUCKET, type S3TestServer, startS3Server } from '../s3/server.js';
import { populate, view } from './copy-fixture.js';

let server: S3TestServer;

beforeAll(async () => {
  server = await startS3Server();
});

afterAll(async () => {
  await server?.close();
});

describe('copyBackend with S3 artifacts', () => {
  it('fs -> fs metadata + S3 artifacts -> memory: the same searches, versions, aliases, audit, lineage and bytes', async () => {
    const source = fsBackend({ root: tempRoot() });
    const populated = await populate(source);
    const target = {
      metadata: createFsMetadataStore({ root: tempRoot() }),
      artifacts: createS3ArtifactStore({ client: server.client(), bucket: BUCKET, prefix: 'copy' }),
    };
    const report = await copyBackend(source, target);
    expect(report.artifacts.copied).toBe((await collect(source.artifacts.list())).length);
    const expected = await view(source, populated);
    expect(await view(target, populated)).toEqual(expected);
    const back = memoryBackend();
    await copyBackend(target, back);
    expect(await view(back, populated)).toEqual(expected);
  });
});
