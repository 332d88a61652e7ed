import { describe, expect, it } from 'vitest';
import {
  elapsedMs,
  formatBytes,
  formatDuration,
  formatNumber,
  formatPValue,
  formatTime,
  shortDigest,
} from '../../src/report/format.js';

describe('report formatting', () => {
  it('numbers: integers as they are, 4 significant digits, exponents at the extremes, NaN and ∞ named', () => {
    expect([42, 0.123456, 1234.5678, 1e-7, 2.5e9, Number.NaN, -Infinity].map(formatNumber)).toEqual(
      ['42', '0.1235', '1235', '1.00e-7', '2.50e+9', 'NaN', '−∞'],
    );
    expect([0.5, 0.00001234, 0].map(formatPValue)).toEqual(['0.5000', '1.23e-5', '0.0000']);
  });

  it('durations, times, sizes and digests read the same in every locale', () => {
    expect([850, 12_340, 245_000, 7_380_000, -1].map(formatDuration)).toEqual([
      '850 ms',
      '12.3 s',
      '4 min 05 s',
      '2 h 03 min',
      '—',
    ]);
    expect(formatTime('2026-03-01T14:05:09.123Z')).toBe('2026-03-01 14:05:09 UTC');
    expect(formatTime('not a time')).toBe('not a time');
    expect([512, 1536, 3.5 * 1024 ** 2].map(formatBytes)).toEqual(['512 B', '1.5 KiB', '3.5 MiB']);
    expect(shortDigest(`sha256:${'a1'.repeat(32)}`)).toBe('a1a1a1a1a1a1');
    expect(elapsedMs('2026-03-01T00:00:00Z', '2026-03-01T00:00:02Z')).toBe(2000);
    expect(elapsedMs('2026-03-01T00:00:00Z', undefined)).toBeUndefined();
  });
});
