/**
 * @module
 * Loads the SciPy / Evidently reference cases vendored under `test/fixtures/drift` (see its README) for the tests.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type RefValue = number | 'NaN' | 'Infinity' | '-Infinity';

export interface NumericCase {
  name: string;
  inputs: { reference: number[]; current: number[] };
  results: Record<string, unknown> & {
    keel: Record<string, { statistic: RefValue; pValue?: RefValue; path?: string }>;
  };
}

export interface CategoricalCase {
  name: string;
  inputs: { reference_counts: Record<string, number>; current_counts: Record<string, number> };
  results: Record<string, unknown> & {
    keel: Record<string, { statistic: RefValue; pValue?: RefValue } | string[]>;
  };
}

export interface ReferenceFile {
  numeric_cases: NumericCase[];
  categorical_cases: CategoricalCase[];
}

const path = fileURLToPath(new URL('../fixtures/drift/drift_reference.json', import.meta.url));

/** The parsed reference file. */
export const reference: ReferenceFile = JSON.parse(readFileSync(path, 'utf8')) as ReferenceFile;

/** A reference number ('Infinity' and friends decoded). */
export function num(v: RefValue): number {
  if (v === 'NaN') return Number.NaN;
  if (v === 'Infinity') return Number.POSITIVE_INFINITY;
  if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
  return v;
}

/** Expands category counts into label arrays (order does not matter). */
export function expand(counts: Record<string, number>): string[] {
  const out: string[] = [];
  for (const key of Object.keys(counts).sort())
    for (let i = 0; i < (counts[key] as number); i++) out.push(key);
  return out;
}

/** |actual - expected| <= rel |expected|, or <= abs near zero. */
export function closeness(actual: number, expected: number): number {
  if (actual === expected) return 0;
  return Math.abs(actual - expected) / Math.abs(expected);
}
