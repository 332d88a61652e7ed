import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../src/backends/memory/backend.js';
import { isKeelError } from '../src/core/errors.js';
import { createKeel } from '../src/keel.js';
import { testTelemetry } from './helpers/otel.js';

describe('createKeel', () => {
  it('exposes the stores, the event bus and instruments artifact writes', async () => {
    const otel = testTelemetry();
    const keel = createKeel({ backend: memoryBackend(), tracer: otel.tracer, meter: otel.meter });
    const seen: string[] = [];
    keel.events.on('artifact:put', (meta) => seen.push(meta.digest));
    const meta = await keel.artifacts.put('weights', { mediaType: 'application/octet-stream' });
    expect(await keel.artifacts.get(meta.digest)).toEqual(new TextEncoder().encode('weights'));
    expect(seen).toEqual([meta.digest]);
    const names = otel.spans().map((s) => s.name);
    expect(names).toEqual(['keel.artifacts.put', 'keel.artifacts.get']);
    expect(otel.spans()[0]?.attributes['keel.artifact.digest']).toBe(meta.digest);
    expect(otel.spans()[0]?.attributes['keel.artifact.size']).toBe(7);
    const written = (await otel.metrics()).find((m) => m.name === 'keel.artifacts.bytes_written');
    expect(written?.value).toBe(7);
    await keel.close();
    await keel.close();
  });

  it('records failed operations as error spans', async () => {
    const otel = testTelemetry();
    const keel = createKeel({ backend: memoryBackend(), tracer: otel.tracer });
    await expect(keel.artifacts.get(`sha256:${'1'.repeat(64)}`)).rejects.toMatchObject({
      code: 'KEEL_NOT_FOUND',
    });
    expect(otel.spans()[0]?.status.code).toBe(2);
  });

  it('a throwing event listener never breaks a write', async () => {
    const keel = createKeel({ backend: memoryBackend() });
    keel.events.on('artifact:put', () => {
      throw new Error('listener bug');
    });
    await expect(keel.artifacts.put('x')).resolves.toMatchObject({ size: 1 });
  });

  it('refuses a missing or malformed backend and actor with ValidationError', () => {
    for (const options of [{}, { backend: {} }, { backend: memoryBackend(), actor: { id: '' } }]) {
      let caught: unknown;
      try {
        createKeel(options as never);
      } catch (error) {
        caught = error;
      }
      expect(isKeelError(caught, 'KEEL_VALIDATION')).toBe(true);
    }
  });
});

describe('keel.drift', () => {
  it('detects drift inside a keel.drift.detect span and emits drift:detected on the bus', async () => {
    const otel = testTelemetry();
    const keel = createKeel({ backend: memoryBackend(), tracer: otel.tracer, meter: otel.meter });
    const detected: number[] = [];
    keel.events.on('drift:detected', ({ report }) => detected.push(report.driftedColumns));
    const reference = { x: Array.from({ length: 500 }, (_, i) => (i % 50) / 10) };
    const current = { x: Array.from({ length: 500 }, (_, i) => (i % 50) / 10 + 3) };
    const report = keel.drift.detect(reference, current);
    expect(report.drifted).toBe(true);
    expect(detected).toEqual([1]);
    const span = otel.spans().find((s) => s.name === 'keel.drift.detect');
    expect(span).toBeDefined();
    expect((await otel.metrics()).some((m) => m.name === 'keel.drift.score')).toBe(true);
  });
});
