/**
 * @module
 * Everything the commands print goes through here: JSON for scripts (`--json`), aligned
 * tables and key/value sections for people. Control characters in data (a run named with
 * terminal escape sequences) are shown escaped, never sent to the terminal.
 */

/** Where a command writes its result (stdout) and its notes (stderr). */
export interface Output {
  /** Writes text to stdout. */
  out(text: string): void;
  /** Writes a note to stderr. */
  err(text: string): void;
}

/** The process's stdout and stderr. */
export const processOutput: Output = {
  out: (text) => {
    process.stdout.write(text);
  },
  err: (text) => {
    process.stderr.write(text);
  },
};

// biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** `value` as one printable line: control characters escaped, newlines and tabs shown as `\n`, `\t`. */
export function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'string' ? value : formatValue(value);
  return text
    .replace(/\n/g, '\\n')
    .replace(/\t/g, '\\t')
    .replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A number as people read it: integers whole, others to 6 significant digits. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-4 || abs >= 1e9)
    ? value.toExponential(4)
    : String(Number(value.toPrecision(6)));
}

function formatValue(value: unknown): string {
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'object') return JSON.stringify(value) ?? '';
  return String(value);
}

/** Rows under a header, columns aligned with two spaces; an empty table says `(none)`. */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  if (rows.length === 0) return '(none)\n';
  const cells = [headers.map(cell), ...rows.map((row) => headers.map((_, i) => cell(row[i])))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells
    .map((row) =>
      row
        .map((text, i) => (i === row.length - 1 ? text : text.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

/** `key: value` lines with the keys aligned; entries whose value is undefined are left out. */
export function fields(entries: readonly (readonly [string, unknown])[]): string {
  const shown = entries.filter(([, value]) => value !== undefined);
  const width = Math.max(0, ...shown.map(([key]) => key.length + 1));
  return shown.map(([key, value]) => `${`${key}:`.padEnd(width)}  ${cell(value)}\n`).join('');
}

/** A titled block: the title underlined, then the body. */
export function section(title: string, body: string): string {
  return `\n${title}\n${'-'.repeat(title.length)}\n${body}`;
}

/** `value` as indented JSON with a final newline (typed arrays as arrays). */
export function json(value: unknown): string {
  return `${JSON.stringify(
    value,
    (_, v: unknown) =>
      ArrayBuffer.isView(v) && !(v instanceof DataView)
        ? Array.from(v as unknown as ArrayLike<number>)
        : v,
    2,
  )}\n`;
}

/** Multi-line text with control characters escaped (newlines kept). */
export function printable(text: string): string {
  return text
    .split('\n')
    .map((line) => cell(line))
    .join('\n');
}
