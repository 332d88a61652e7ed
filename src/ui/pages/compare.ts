/**
 * @module
 * `/compare?runs=a,b,c` (or `runs=a&runs=b`, as the runs table's form sends them): the runs'
 * params side by side and their metric curves overlaid, with the report's comparison view.
 */
import { ValidationError } from '../../core/errors.js';
import type { ComparedRun } from '../../report/comparison.js';
import { runComparisonBody } from '../../report/comparison.js';
import type { Page } from '../context.js';

/** Most runs compared at once. */
const MAX_RUNS = 20;
/** Most metrics whose histories are read per run. */
const MAX_METRICS = 30;

/** The comparison of the runs named in `?runs=`. */
export const comparePage: Page = async ({ keel, query, href }) => {
  const ids = [
    ...new Set(
      query
        .getAll('runs')
        .flatMap((v) => v.split(','))
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  if (ids.length === 0 || ids.length > MAX_RUNS) {
    throw new ValidationError(
      `[keel] cannot compare ${ids.length} runs: name 1 to ${MAX_RUNS} run ids in ?runs=a,b,c (select them in an experiment's runs table)`,
    );
  }
  const runs: ComparedRun[] = await Promise.all(
    ids.map(async (id) => {
      const run = await keel.tracker.getRun(id);
      const keys = Object.keys(run.metrics).sort().slice(0, MAX_METRICS);
      const histories = await Promise.all(keys.map((key) => keel.tracker.metricHistory(id, key)));
      return { run, history: Object.fromEntries(keys.map((key, i) => [key, histories[i]!])) };
    }),
  );
  return {
    kind: 'html',
    title: `Compare ${ids.length} runs`,
    crumbs: [['Compare runs']],
    charts: true,
    body: runComparisonBody(runs, {
      title: `Compare ${ids.length} runs`,
      runHref: (id) => href(['runs', id]),
    }),
  };
};
