/** The progress bar draws on a terminal only, and clears its line when done. */
import { describe, expect, it } from 'vitest';
import { progressBar } from '../../src/cli/progress.js';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const stream = {
    isTTY,
    columns: 60,
    text: '',
    write(chunk: string) {
      stream.text += chunk;
      return true;
    },
  };
  return stream as unknown as NodeJS.WriteStream & { text: string };
}

describe('progressBar', () => {
  it('draws a bar with a percentage on a TTY, at most one line wide, and clears it', () => {
    const tty = fakeStream(true);
    const bar = progressBar('reading big.parquet', tty);
    bar.update(50, 200);
    expect(tty.text).toBe(`\rreading big.parquet [${'#'.repeat(6)}${'-'.repeat(18)}] 25%\u001b[K`);
    bar.update(200, 200, 'done'); // the last update always draws
    expect(tty.text).toContain('100% done');
    const long = fakeStream(true);
    progressBar('x'.repeat(200), long).update(1, 2);
    expect(long.text.replace('\r', '').replace('\u001b[K', '').length).toBeLessThan(60);
    bar.finish();
    expect(tty.text.endsWith('\r\u001b[K')).toBe(true);
  });

  it('counts without a total', () => {
    const tty = fakeStream(true);
    progressBar('copying', tty).update(7, 0, 'artifacts');
    expect(tty.text).toContain('copying 7 artifacts');
  });

  it('writes nothing when the stream is not a terminal (scripts, CI logs)', () => {
    const pipe = fakeStream(false);
    const bar = progressBar('reading', pipe);
    bar.update(1, 2);
    bar.finish();
    expect(pipe.text).toBe('');
  });
});
