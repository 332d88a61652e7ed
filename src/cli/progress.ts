/**
 * @module
 * A progress bar on stderr for long work (copy, gc, drift over large files), drawn only when
 * stderr is a terminal: scripts and CI logs get no carriage-return noise.
 */

/** A running progress bar. */
export interface Progress {
  /** Sets how far the work is: `done` of `total` (a total of 0 or less draws a counter). */
  update(done: number, total: number, detail?: string): void;
  /** Clears the bar. */
  finish(): void;
}

const WIDTH = 24;
const EVERY_MS = 100;

/** A bar labelled `label`, drawn on `stream` when it is a TTY (default: stderr); else a no-op. */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, finish() {} };
  let last = 0;
  let drawn = false;
  return {
    update(done, total, detail) {
      const now = Date.now();
      if (now - last < EVERY_MS && done < total) return;
      last = now;
      drawn = true;
      const line =
        total > 0
          ? `${label} [${bar(done / total)}] ${Math.floor((100 * Math.min(done, total)) / total)}%`
          : `${label} ${done}`;
      const tail = detail ? ` ${detail}` : '';
      const columns = stream.columns || 80;
      stream.write(`\r${`${line}${tail}`.slice(0, columns - 1)}\u001b[K`);
    },
    finish() {
      if (drawn) stream.write('\r\u001b[K');
      drawn = false;
    },
  };
}

function bar(fraction: number): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * WIDTH);
  return '#'.repeat(filled) + '-'.repeat(WIDTH - filled);
}
