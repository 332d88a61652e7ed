import { describe, expect, it } from 'vitest';
import { scoreBatch } from '../../src/ops/batch.js';
import { createMonitor } from '../../src/ops/monitor/monitor.js';
import { rows } from './data.js';
import { opsKeel, registerVersions } from './helpers.js';

async function setup() {
  const keel = opsKeel();
  await registerVersions(keel, 'churn', 2);
  await keel.registry.setAlias('churn', 'champion', 2);
  return keel;
}

describe('scoreBatch', () => {
  it('scores every row in order, batch by batch, with the pinned version, loading it once', async () => {
    const keel = await setup();
    let loads = 0;
    async function* source() {
      for (let i = 0; i < 2500; i++) yield i;
    }
    const batches = [];
    for await (const batch of scoreBatch({
      keel,
      model: 'churn',
      load: (v) => {
        loads++;
        return async (x: number) => x * 10 + v.version;
      },
      rows: source(),
      batchSize: 1000,
      concurrency: 8,
    })) {
      batches.push(batch);
      // Moving the alias mid-job does not change the version of this job.
      await keel.registry.setAlias('churn', 'champion', 1);
    }
    expect(loads).toBe(1);
    expect(batches.map((b) => [b.index, b.offset, b.rows.length, b.version])).toEqual([
      [0, 0, 1000, 2],
      [1, 1000, 1000, 2],
      [2, 2000, 500, 2],
    ]);
    const outputs = batches.flatMap((b) => b.outputs);
    expect(outputs).toEqual(Array.from({ length: 2500 }, (_, i) => i * 10 + 2));
  });

  it('feeds the monitor, and rejects with the predictor error', async () => {
    const keel = await setup();
    const data = rows(300, 'batch', 1);
    const monitor = createMonitor({
      keel,
      name: 'churn',
      reference: rows(1000, 'ref'),
      checkEvery: 1_000_000,
    });
    for await (const _ of scoreBatch({
      keel,
      model: 'churn',
      load: () => (r: { x: number }) => r.x > 0,
      rows: data,
      batchSize: 128,
      monitor,
    })) {
      // consume
    }
    expect(monitor.stats().predictions).toBe(300);
    expect((await monitor.check()).drifted).toBe(true);
    const failing = scoreBatch({
      keel,
      model: 'churn',
      load: () => (x: number) => {
        if (x === 5) throw new Error('row 5 is bad');
        return x;
      },
      rows: [1, 2, 3, 4, 5, 6],
      batchSize: 2,
    });
    const seen: number[][] = [];
    await expect(
      (async () => {
        for await (const b of failing) seen.push(b.outputs);
      })(),
    ).rejects.toThrow('row 5 is bad');
    expect(seen).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('refuses bad input', async () => {
    const keel = await setup();
    const load = () => (x: number) => x;
    expect(() => scoreBatch({ keel, model: 'churn', load, rows: [1], batchSize: 0 })).toThrow(
      expect.objectContaining({ code: 'KEEL_VALIDATION' }),
    );
    expect(() => scoreBatch({ keel, model: 'churn', load, rows: 5 as never })).toThrow(/iterable/);
    const missing = scoreBatch({ keel, model: 'churn', alias: 'production', load, rows: [1] });
    await expect(missing[Symbol.asyncIterator]().next()).rejects.toThrow(/no alias "production"/);
  });
});
