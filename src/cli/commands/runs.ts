/**
 * @module
 * `keel runs search` (the tracker's filter language, ordered, limited) and `keel runs show`
 * (params, last metrics, artifacts, parent and children, lineage of inputs and outputs).
 */
import type { Command } from 'commander';
import type { LineageRef, Run } from '../../tracking/types.js';
import { type CliContext, withKeel } from '../context.js';
import { fields, formatNumber, json, section, table } from '../output.js';
import { collect, positiveInt } from './options.js';

/** Most children and lineage look-ups `runs show` lists. */
const MAX_LISTED = 100;

/** Registers `keel runs search|show`. */
export function registerRuns(program: Command, ctx: CliContext): void {
  const runs = program.command('runs').description('search runs and show one');

  runs
    .command('search')
    .description('runs matching a filter, e.g. "metrics.auc > 0.8 and params.model = \'xgb\'"')
    .argument('[filter]', "a filter in keel's search language (docs/search.md); empty: every run")
    .option('-e, --experiment <name>', 'only runs of this experiment')
    .option(
      '-o, --order-by <field>',
      'order by "<field> [asc|desc]" (repeat for ties), e.g. "metrics.auc desc"',
      collect,
      [] as string[],
    )
    .option('-n, --limit <n>', 'most runs to print (1 to 10000)', positiveInt, 100)
    .option('--cursor <cursor>', 'continue after the page that printed this cursor')
    .option('--json', 'print JSON: { runs, nextCursor? }')
    .action(async (filter: string | undefined, opts: SearchOptions, command: Command) => {
      const result = await withKeel(command, (keel) =>
        keel.tracker.searchRuns({
          ...(filter ? { filter } : {}),
          ...(opts.experiment ? { experiment: opts.experiment } : {}),
          ...(opts.orderBy.length ? { orderBy: opts.orderBy } : {}),
          limit: opts.limit,
          ...(opts.cursor ? { cursor: opts.cursor } : {}),
        }),
      );
      if (opts.json) {
        ctx.output.out(json(result));
        return;
      }
      ctx.output.out(runsTable(result.runs));
      if (result.nextCursor) {
        ctx.output.err(`more runs match: continue with --cursor ${result.nextCursor}\n`);
      }
      if (result.corrupt?.length) {
        ctx.output.err(
          `${result.corrupt.length} damaged record(s) were skipped; run keel doctor to see them\n`,
        );
      }
    });

  runs
    .command('show')
    .description('one run: params, last metrics, artifacts, children and lineage')
    .argument('<id>', 'the run id')
    .option('--json', 'print JSON: { run, children, lineage }')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const shown = await withKeel(command, async (keel) => {
        const run = await keel.tracker.getRun(id);
        const [children, inputs, outputs] = await Promise.all([
          keel.tracker.searchRuns({
            experiment: run.experiment,
            filter: `attributes.parent_run_id = '${run.id.replaceAll("'", "''")}'`,
            orderBy: ['attributes.start_time asc'],
            limit: MAX_LISTED,
          }),
          lineageOf(run.inputs, (digest) => keel.tracker.lineage(digest), 'producedBy'),
          lineageOf(run.outputs, (digest) => keel.tracker.lineage(digest), 'consumedBy'),
        ]);
        return { run, children: children.runs.map((r) => r.id), lineage: { inputs, outputs } };
      });
      ctx.output.out(opts.json ? json(shown) : showRun(shown));
    });
}

interface SearchOptions {
  experiment?: string;
  orderBy: string[];
  limit: number;
  cursor?: string;
  json?: boolean;
}

/** A lineage reference with the runs on its other side. */
interface LinkedRef extends LineageRef {
  /** For an input: the runs that produced it; for an output: the runs that consumed it. */
  runs: string[];
}

async function lineageOf(
  refs: readonly LineageRef[],
  lineage: (digest: LineageRef['digest']) => Promise<{ producedBy: Run[]; consumedBy: Run[] }>,
  side: 'producedBy' | 'consumedBy',
): Promise<LinkedRef[]> {
  return Promise.all(
    refs.slice(0, MAX_LISTED).map(async (ref) => ({
      ...ref,
      runs: (await lineage(ref.digest))[side].map((r) => r.id),
    })),
  );
}

function runsTable(runs: readonly Run[]): string {
  return table(
    ['ID', 'EXPERIMENT', 'NAME', 'STATUS', 'START', 'METRICS'],
    runs.map((run) => [
      run.id,
      run.experiment,
      run.name,
      run.status,
      run.startTime,
      Object.entries(run.metrics)
        .map(([key, point]) => `${key}=${formatNumber(point.value)}`)
        .join(' '),
    ]),
  );
}

function showRun(shown: {
  run: Run;
  children: string[];
  lineage: { inputs: LinkedRef[]; outputs: LinkedRef[] };
}): string {
  const { run } = shown;
  const artifacts = run.outputs.filter((o) => o.kind === 'artifact');
  const otherOutputs = shown.lineage.outputs.filter((o) => o.kind !== 'artifact');
  return [
    fields([
      ['id', run.id],
      ['experiment', run.experiment],
      ['name', run.name],
      ['status', run.status],
      ['start', run.startTime],
      ['end', run.endTime],
      ['parent', run.parentRunId],
      [
        'error',
        run.error
          ? `${run.error.code ? `${run.error.code}: ` : ''}${run.error.message}`
          : undefined,
      ],
    ]),
    section(
      'Params',
      table(
        ['PARAM', 'VALUE'],
        Object.entries(run.params).map(([k, v]) => [k, v]),
      ),
    ),
    section(
      'Metrics (last value)',
      table(
        ['METRIC', 'VALUE', 'STEP'],
        Object.entries(run.metrics).map(([k, p]) => [k, formatNumber(p.value), p.step]),
      ),
    ),
    section(
      'Artifacts',
      table(
        ['NAME', 'DIGEST'],
        artifacts.map((a) => [a.name, a.digest]),
      ),
    ),
    section(
      'Inputs (produced by)',
      table(
        ['NAME', 'KIND', 'DIGEST', 'PRODUCED BY'],
        shown.lineage.inputs.map((r) => [r.name, r.kind, r.digest, r.runs.join(' ')]),
      ),
    ),
    section(
      'Outputs (consumed by)',
      table(
        ['NAME', 'KIND', 'DIGEST', 'CONSUMED BY'],
        otherOutputs.map((r) => [r.name, r.kind, r.digest, r.runs.join(' ')]),
      ),
    ),
    section(
      'Child runs',
      table(
        ['ID'],
        shown.children.map((id) => [id]),
      ),
    ),
    section(
      'Tags',
      table(
        ['TAG', 'VALUE'],
        Object.entries(run.tags).map(([k, v]) => [k, v]),
      ),
    ),
  ].join('');
}
