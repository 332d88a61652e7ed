import { describe, expect, it } from 'vitest';
import { matchesFilter } from '../../src/tracking/filter/evaluate.js';
import { parseFilter } from '../../src/tracking/filter/parser.js';
import { printFilter } from '../../src/tracking/filter/print.js';
import { compareSortValues, parseOrderBy, sortValues } from '../../src/tracking/order.js';
import type { Run } from '../../src/tracking/types.js';

function runWith(id: string, parentRunId?: string, auc?: number): Run {
  const run: Run = {
    id,
    experiment: 'e',
    status: 'completed',
    startTime: '2026-01-01T00:00:00.000Z',
    params: {},
    tags: {},
    metrics: auc === undefined ? {} : { auc: { key: 'auc', value: auc, step: 0, timestamp: 0 } },
    inputs: [],
    outputs: [],
  };
  if (parentRunId !== undefined) run.parentRunId = parentRunId;
  return run;
}

describe('parent_run_id in filters', () => {
  const child = runWith('child', 'parent');
  const top = runWith('parent');

  it('parses bare and prefixed to the same field, and prints it back', () => {
    const bare = parseFilter("parent_run_id = 'parent'");
    expect(bare).toEqual(parseFilter("attributes.parent_run_id = 'parent'"));
    expect(bare).toEqual({
      type: 'comparison',
      field: { kind: 'attributes', key: 'parent_run_id' },
      op: '=',
      value: 'parent',
    });
    expect(printFilter(bare!)).toBe("attributes.parent_run_id = 'parent'");
    expect(parseFilter("status = 'completed' and name like 'a%'")).toEqual(
      parseFilter("attributes.status = 'completed' and attributes.name like 'a%'"),
    );
  });

  it('matches children only; a run without a parent matches no clause', () => {
    for (const filter of [
      "parent_run_id = 'parent'",
      "parent_run_id like 'par%'",
      "parent_run_id in ('x', 'parent')",
    ]) {
      expect(matchesFilter(parseFilter(filter), child)).toBe(true);
      expect(matchesFilter(parseFilter(filter), top)).toBe(false);
    }
    expect(matchesFilter(parseFilter("parent_run_id != 'x'"), top)).toBe(false);
  });

  it('is a string attribute (numbers refused) and bare names stay case-sensitive', () => {
    expect(() => parseFilter('parent_run_id = 1')).toThrow(/a quoted string for parent_run_id/);
    expect(() => parseFilter("PARENT_RUN_ID = 'x'")).toThrow(/expected a field/);
    expect(() => parseFilter("parent = 'x'")).toThrow(/expected a field/);
  });

  it('orders by parent_run_id, bare or prefixed', () => {
    expect(parseOrderBy(['parent_run_id desc'])).toEqual(
      parseOrderBy(['attributes.parent_run_id desc']),
    );
  });
});

describe('NaN in orderBy', () => {
  const values = [0, Number.NaN, Number.NEGATIVE_INFINITY, 1000, undefined, -1000, Infinity];
  const runs = values.map((auc, i) => runWith(`r${i}`, undefined, auc));

  function ordered(entry: string): (number | undefined)[] {
    const keys = parseOrderBy([entry]);
    return runs
      .map((run) => ({ run, values: sortValues(run, keys) }))
      .sort((a, b) => compareSortValues(a.values, b.values, keys))
      .map(({ run }) => run.metrics.auc?.value);
  }

  it('desc gives inf, 1000, 0, -1000, -inf, NaN, missing (MLflow order)', () => {
    expect(ordered('metrics.auc desc')).toEqual([
      Infinity,
      1000,
      0,
      -1000,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
      undefined,
    ]);
  });

  it('asc gives -inf, ..., inf, NaN, missing', () => {
    expect(ordered('metrics.auc')).toEqual([
      Number.NEGATIVE_INFINITY,
      -1000,
      0,
      1000,
      Infinity,
      Number.NaN,
      undefined,
    ]);
  });
});
