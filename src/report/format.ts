/**
 * @module
 * How numbers, times and sizes read in reports and UI pages: deterministic (no locale, UTC),
 * short, and honest about NaN and infinities.
 */

/** A number in at most 4 significant digits; exponent form when very large or small. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '∞';
  if (value === Number.NEGATIVE_INFINITY) return '−∞';
  if (Number.isInteger(value) && Math.abs(value) < 1e9) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-3)) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

/** A p-value: exponent form below 0.0001, else 4 decimals. */
export function formatPValue(value: number): string {
  if (!Number.isFinite(value)) return formatNumber(value);
  if (value !== 0 && value < 1e-4) return value.toExponential(2);
  return value.toFixed(4);
}

/** A share as a percentage with one decimal. */
export function formatPercent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** A duration in milliseconds: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${pad(Math.floor(s % 60))} s`;
  return `${Math.floor(m / 60)} h ${pad(m % 60)} min`;
}

/** An ISO-8601 time (or epoch milliseconds) as `2026-03-01 14:05:09 UTC`. */
export function formatTime(time: string | number): string {
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return String(time);
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A byte count: `512 B`, `1.5 KiB`, `3.2 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** The first 12 hex characters of a digest, for display (the full digest goes in a title). */
export function shortDigest(digest: string): string {
  return digest.startsWith('sha256:') ? digest.slice(7, 19) : digest.slice(0, 12);
}

/** How long a run took (`running` while it runs). */
export function formatRunDuration(run: {
  startTime: string;
  endTime?: string;
  status: string;
}): string {
  const ms = elapsedMs(run.startTime, run.endTime);
  return ms === undefined ? (run.status === 'running' ? 'running' : '—') : formatDuration(ms);
}

/** Milliseconds between two ISO-8601 times, or undefined when either is missing. */
export function elapsedMs(start: string, end: string | undefined): number | undefined {
  if (end === undefined) return undefined;
  const ms = Date.parse(end) - Date.parse(start);
  return Number.isFinite(ms) ? ms : undefined;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
