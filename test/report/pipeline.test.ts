import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { isKeelError } from '../../src/core/errors.js';
import { createKeel } from '../../src/keel.js';
import { pipeline } from '../../src/pipeline/builder.js';
import { renderPipelineRun } from '../../src/report.js';
import { thrown } from '../helpers/data.js';
import { IMG_NAME, pipelineResult, pipelineSteps } from './fixtures.js';
import { expectNoInjectedMarkup, externalReferences } from './helpers.js';

/** The DAG's edges as drawn: one arrow per dependency. */
const arrows = (page: string): number => (page.match(/marker-end="url\(#arrow\)"/g) ?? []).length;

describe('renderPipelineRun', () => {
  const result = pipelineResult();
  const page = renderPipelineRun(result, { steps: pipelineSteps });

  it('draws the DAG with each step’s status, duration and cache decision', () => {
    expect(arrows(page)).toBe(pipelineSteps.reduce((n, s) => n + s.deps.length, 0));
    expect(page).toContain('cached · 12 ms');
    expect(page).toContain('failed · 1 min 00 s · 3 tries');
    expect(page).toContain('skipped · 0 ms');
    expect(page).toMatch(/<th scope="row">model<\/th><td>checked, &lt;img/);
  });

  it('without the steps, reads dependencies from the cache key parts', () => {
    const out = renderPipelineRun(result);
    // the uncached step (explain 'off') and the skipped one have no key parts
    expect(arrows(out)).toBe(2);
  });

  it('escapes hostile step names and errors; loads nothing', () => {
    expectNoInjectedMarkup(page);
    expect(page).toContain(
      `<title>${IMG_NAME.replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')}`,
    );
    expect(externalReferences(page)).toEqual([]);
  });

  it('renders a real run, and the result a failed run carries', async () => {
    const keel = createKeel({ backend: memoryBackend() });
    const p = pipeline('demo', { input: z.object({ n: z.number() }) })
      .step('a', ({ input }) => input.n + 1)
      .step('b', ['a'], ({ a }) => a * 2, { cache: true })
      .step('c', ['a', 'b'], () => {
        throw new Error('boom');
      })
      .build();
    const error = await p.run({ n: 1 }, { keel }).catch((e: unknown) => e);
    const failed = (error as { result: Parameters<typeof renderPipelineRun>[0] }).result;
    const out = renderPipelineRun(failed, { steps: p.steps });
    expect(arrows(out)).toBe(3);
    expect(out).toContain('boom');
    await keel.close();
  });

  it('refuses what is not a pipeline result', () => {
    expect(
      isKeelError(
        thrown(() => renderPipelineRun({ steps: 1 } as never)),
        'KEEL_VALIDATION',
      ),
    ).toBe(true);
  });
});
