import { SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { SafeEmitter } from '../../src/core/events.js';
import { createTelemetry } from '../../src/core/telemetry.js';
import { detectDrift } from '../../src/drift/dataset.js';
import { createDriftService, type DriftEvents } from '../../src/drift/service.js';
import { testTelemetry } from '../helpers/otel.js';

const reference = {
  a: Array.from({ length: 200 }, (_, i) => i % 50),
  c: Array.from({ length: 200 }, (_, i) => (i % 3 ? 'x' : 'y')),
};
const same = {
  a: Array.from({ length: 100 }, (_, i) => (i * 2) % 50),
  c: Array.from({ length: 100 }, (_, i) => (i % 3 ? 'x' : 'y')),
};
const shifted = {
  a: Array.from({ length: 100 }, (_, i) => 40 + (i % 50)),
  c: Array.from({ length: 100 }, () => 'y'),
};

function setup() {
  const otel = testTelemetry();
  const events = new SafeEmitter<DriftEvents>();
  const seen: DriftEvents['drift:detected'][] = [];
  events.on('drift:detected', (e) => seen.push(e));
  const service = createDriftService({
    telemetry: createTelemetry({ tracer: otel.tracer, meter: otel.meter }),
    emit: (event, payload) => events.emit(event, payload),
  });
  return { otel, events, seen, service };
}

describe('createDriftService', () => {
  it('returns detectDrift’s report, inside span keel.drift.detect, and records keel.drift.score', async () => {
    const { otel, seen, service } = setup();
    const report = service.detect(reference, same);
    expect(report).toEqual(detectDrift(reference, same));
    expect(report.drifted).toBe(false);
    expect(seen).toEqual([]);
    const [span] = otel.spans();
    expect(span?.name).toBe('keel.drift.detect');
    expect(span?.attributes).toMatchObject({
      'keel.drift.detected': false,
      'keel.drift.method': ['ks', 'z'],
    });
    const points = (await otel.metrics()).filter((p) => p.name === 'keel.drift.score');
    expect(points.map((p) => p.attributes)).toEqual([
      { 'keel.drift.method': 'ks', 'keel.drift.column': 'a', 'keel.drift.detected': false },
      { 'keel.drift.method': 'z', 'keel.drift.column': 'c', 'keel.drift.detected': false },
    ]);
    expect(points[0]?.value).toMatchObject({ count: 1, sum: report.columns.a?.statistic });
  });

  it('emits drift:detected with the drifted columns when the dataset drifted', () => {
    const { otel, seen, service } = setup();
    const report = service.detect(reference, shifted, { correction: 'bonferroni' });
    expect(report.drifted).toBe(true);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      share: 1,
      driftedColumns: 2,
      columns: ['a', 'c'],
      correction: 'bonferroni',
      report,
    });
    expect(otel.spans()[0]?.attributes['keel.drift.detected']).toBe(true);
  });

  it('a throwing listener never breaks detect', () => {
    const { events, service } = setup();
    events.on('drift:detected', () => {
      throw new Error('listener');
    });
    expect(service.detect(reference, shifted).drifted).toBe(true);
  });

  it('records errors on the span and rethrows them', () => {
    const { otel, service } = setup();
    expect(() => service.detect(reference, same, { method: 'nope' })).toThrow(/unknown method/);
    const [span] = otel.spans();
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('works with no options (global no-op telemetry, no events)', () => {
    expect(createDriftService().detect(reference, shifted).drifted).toBe(true);
  });
});
