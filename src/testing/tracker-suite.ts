/**
 * @module
 * The Tracker conformance suite: the tracker's semantics (run lifecycle, params, metrics,
 * search, lineage, concurrency, bad input) checked over any pair of storage adapters.
 */
import type { Backend } from '../backends/backend.js';
import type { Digest } from '../core/digest.js';
import { ErrorCodes, isKeelError } from '../core/errors.js';
import { createTracker, type TrackerOptions } from '../tracking/tracker.js';
import type { Run, Tracker } from '../tracking/types.js';
import { check, checkEqual, checkRejects } from './assert.js';
import { ManualClock } from './manual-clock.js';
import { registerSuite, type SuiteCase, type SuiteOptions } from './runner.js';

/** Options of {@link describeTracker}. */
export type TrackerSuiteOptions = SuiteOptions<Backend>;

/**
 * Registers the Tracker conformance tests over the backend `factory` returns (fresh and
 * empty for every test; its `close()` is called after each). A `Keel` from `createKeel`
 * works as well, since it carries `metadata` and `artifacts`.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { describeTracker } from 'keel/testing';
 * describeTracker('my-backend', () => myBackend(), { runner: { describe, it } });
 * ```
 *
 * @throws {ValidationError} when a `skip` entry has no reason, or no runner is given and neither
 *   runner globals nor vitest are found. A failing case fails its test (an `Error` whose message
 *   starts with `conformance:` and names the input and the rule); it does not throw here.
 */
export function describeTracker(
  name: string,
  factory: () => Backend | Promise<Backend>,
  options: TrackerSuiteOptions = {},
): void {
  registerSuite(`Tracker conformance: ${name}`, factory, trackerCases, {
    ...options,
    dispose: (backend) => backend.close?.(),
  });
}

type Extra = Omit<TrackerOptions, 'metadata' | 'artifacts'>;

function make(backend: Backend, extra: Extra = {}): Tracker {
  return createTracker({
    metadata: backend.metadata,
    artifacts: backend.artifacts,
    flushIntervalMs: 0,
    ...extra,
  });
}

function ids(runs: readonly Run[]): string[] {
  return runs.map((run) => run.id);
}

async function checkThrows(fn: () => unknown, code: string, what: string): Promise<void> {
  await checkRejects(async () => fn(), code, what);
}

const DIGEST = `sha256:${'ab'.repeat(32)}` as Digest;

const trackerCases: SuiteCase<Backend>[] = [
  [
    'startRun creates the experiment implicitly and getRun returns the run',
    async (backend) => {
      const tracker = make(backend);
      const handle = await tracker.startRun({
        experiment: 'churn',
        name: 'baseline',
        params: { lr: 0.01, layers: 3, optimizer: 'adam', warm: true },
        tags: { team: 'ml' },
      });
      const run = await tracker.getRun(handle.id);
      checkEqual(run.status, 'running', 'status');
      checkEqual(run.experiment, 'churn', 'experiment');
      checkEqual(run.name, 'baseline', 'name');
      checkEqual(
        run.params,
        { lr: 0.01, layers: 3, optimizer: 'adam', warm: true },
        'params keep JSON types',
      );
      checkEqual(run.tags, { team: 'ml' }, 'tags');
      checkEqual(run.metrics, {}, 'metrics');
      check(!Number.isNaN(Date.parse(run.startTime)), 'startTime is ISO-8601');
      const experiments = await tracker.listExperiments();
      checkEqual(
        experiments.map((e) => e.name),
        ['churn'],
        'experiments',
      );
      checkEqual(await tracker.getExperiment('churn'), experiments[0], 'getExperiment by name');
      await checkThrows(
        () => tracker.getExperiment('none'),
        ErrorCodes.notFound,
        'unknown experiment',
      );
      await checkThrows(
        () => tracker.getExperiment(''),
        ErrorCodes.validation,
        'invalid experiment name',
      );
    },
  ],
  [
    'runs started at once in a new experiment create it once',
    async (backend) => {
      const a = make(backend);
      const b = make(backend);
      await Promise.all([
        a.startRun({ experiment: 'race' }),
        b.startRun({ experiment: 'race' }),
        a.startRun({ experiment: 'race' }),
        b.startRun({ experiment: 'race' }),
      ]);
      checkEqual((await a.listExperiments()).length, 1, 'one experiment');
      checkEqual((await b.searchRuns({ experiment: 'race' })).runs.length, 4, 'four runs');
    },
  ],
  [
    'end() finishes the run once; every later write is ConflictError',
    async (backend) => {
      const tracker = make(backend);
      const handle = await tracker.startRun({ experiment: 'lifecycle', params: { a: 1 } });
      handle.logMetric('loss', 0.5);
      const ended = await handle.end();
      checkEqual(ended.status, 'completed', 'status');
      check(typeof ended.endTime === 'string', 'endTime set');
      checkEqual(ended.metrics.loss?.value, 0.5, 'end flushed the buffer');
      const again = await handle.end('failed');
      checkEqual(again, ended, 'end is idempotent');
      await checkRejects(() => handle.logParams({ b: 2 }), ErrorCodes.conflict, 'logParams');
      await checkRejects(() => handle.setTags({ t: 'x' }), ErrorCodes.conflict, 'setTags');
      await checkThrows(() => handle.logMetric('loss', 1), ErrorCodes.conflict, 'logMetric');
      await checkThrows(() => handle.logMetrics({ loss: 1 }), ErrorCodes.conflict, 'logMetrics');
      await checkRejects(
        () => handle.logInput({ digest: DIGEST }),
        ErrorCodes.conflict,
        'logInput',
      );
      await checkRejects(
        () => handle.logOutput({ digest: DIGEST }),
        ErrorCodes.conflict,
        'logOutput',
      );
      await checkRejects(() => handle.logArtifact('x'), ErrorCodes.conflict, 'logArtifact');
      const other = await make(backend)
        .resumeRun(handle.id)
        .catch((e: unknown) => e);
      check(isKeelError(other, ErrorCodes.conflict), 'resumeRun of an ended run is ConflictError');
      checkEqual((await tracker.getRun(handle.id)).status, 'completed', 'stored status');
    },
  ],
  [
    "end('failed', error) stores the error's message and code",
    async (backend) => {
      const tracker = make(backend);
      const handle = await tracker.startRun({ experiment: 'failures' });
      const error = Object.assign(new Error('CUDA out of memory'), { code: 'E_OOM' });
      const run = await handle.end('failed', error);
      checkEqual(run.status, 'failed', 'status');
      checkEqual(run.error, { message: 'CUDA out of memory', code: 'E_OOM' }, 'error');
      checkEqual((await tracker.getRun(handle.id)).error, run.error, 'stored error');
      const killed = await tracker.startRun({ experiment: 'failures' });
      checkEqual((await killed.end('killed')).status, 'killed', 'killed');
      const bad = await tracker.startRun({ experiment: 'failures' });
      await checkRejects(() => bad.end('running' as never), ErrorCodes.validation, 'end(running)');
    },
  ],
  [
    'parentRunId must name an existing run',
    async (backend) => {
      const tracker = make(backend);
      const parent = await tracker.startRun({ experiment: 'nested' });
      const child = await tracker.startRun({ experiment: 'nested', parentRunId: parent.id });
      checkEqual((await tracker.getRun(child.id)).parentRunId, parent.id, 'parentRunId');
      await checkRejects(
        () => tracker.startRun({ experiment: 'nested', parentRunId: '01arz3ndektsv4rrffq69g5fav' }),
        ErrorCodes.notFound,
        'unknown parent',
      );
      checkEqual(
        (await tracker.searchRuns({ experiment: 'nested' })).runs.length,
        2,
        'nothing else written',
      );
    },
  ],
  [
    'params are immutable: the same value again is fine, another value is ConflictError',
    async (backend) => {
      const tracker = make(backend);
      const handle = await tracker.startRun({ experiment: 'params', params: { lr: 0.1 } });
      await handle.logParams({ lr: 0.1, epochs: 10 });
      await checkRejects(
        () => handle.logParams({ lr: 0.2, batch: 32 }),
        ErrorCodes.conflict,
        'changed param',
      );
      await checkRejects(
        () => handle.logParams({ epochs: '10' }),
        ErrorCodes.conflict,
        'same text, other type',
      );
      checkEqual(
        (await tracker.getRun(handle.id)).params,
        { lr: 0.1, epochs: 10 },
        'nothing of the refused call written',
      );
      await handle.logParams({ toString: 'x', valueOf: 1 });
      checkEqual(
        (await tracker.getRun(handle.id)).params.toString,
        'x',
        'keys named like Object members',
      );
    },
  ],
  [
    'tags are mutable strings',
    async (backend) => {
      const tracker = make(backend);
      const handle = await tracker.startRun({ experiment: 'tags', tags: { stage: 'dev' } });
      await handle.setTags({ stage: 'prod', owner: 'ana' });
      checkEqual((await tracker.getRun(handle.id)).tags, { stage: 'prod', owner: 'ana' }, 'tags');
      await checkRejects(
        () => handle.setTags({ n: 1 as unknown as string }),
        ErrorCodes.validation,
        'non-string tag',
      );
    },
  ],
  [
    'metrics keep NaN and infinities; Run.metrics is the latest point per key',
    async (backend) => {
      const tracker = make(backend);
      const handle = await tracker.startRun({ experiment: 'metrics' });
      handle.logMetric('loss', Number.NaN, { step: 0, timestamp: 1000 });
      handle.logMetric('loss', Number.POSITIVE_INFINITY, { step: 2, timestamp: 1000 });
      handle.logMetric('loss', 0.25, { step: 1, timestamp: 5000 });
      handle.logMetric('loss', Number.NEGATIVE_INFINITY, { step: 2, timestamp: 1500 });
      handle.logMetric('loss', 0.5, { step: 2, timestamp: 1200 });
      handle.logMetrics({ acc: 0.9, f1: Number.NaN }, { step: 3, timestamp: 2000 });
      await handle.flush();
      const run = await tracker.getRun(handle.id);
      checkEqual(
        run.metrics.loss,
        { key: 'loss', value: Number.NEGATIVE_INFINITY, step: 2, timestamp: 1500 },
        'latest loss',
      );
      checkEqual(run.metrics.f1?.value, Number.NaN, 'NaN kept');
      checkEqual(run.metrics.acc, { key: 'acc', value: 0.9, step: 3, timestamp: 2000 }, 'acc');
      const history = await tracker.metricHistory(handle.id, 'loss');
      checkEqual(
        history.map((p) => [p.value, p.step, p.timestamp]),
        [
          [Number.NaN, 0, 1000],
          [0.25, 1, 5000],
          [Number.POSITIVE_INFINITY, 2, 1000],
          [0.5, 2, 1200],
          [Number.NEGATIVE_INFINITY, 2, 1500],
        ],
        'history ordered by step, then timestamp',
      );
      handle.logMetric('loss', -1, { step: 1, timestamp: 9000 });
      await handle.flush();
      checkEqual(
        (await tracker.getRun(handle.id)).metrics.loss?.step,
        2,
        'a lower step never replaces the latest',
      );
      checkEqual(await tracker.metricHistory(handle.id, 'nothing'), [], 'unknown key');
    },
  ],
  [
    'a step left out is one more than the last step logged for that key',
    async (backend) => {
      const tracker = make(backend);
      const handle = await tracker.startRun({ experiment: 'steps' });
      handle.logMetric('loss', 3);
      handle.logMetric('loss', 2);
      handle.logMetric('acc', 0.1);
      handle.logMetric('loss', 1, { step: 10 });
      handle.logMetric('loss', 0);
      await handle.flush();
      checkEqual(
        (await tracker.metricHistory(handle.id, 'loss')).map((p) => p.step),
        [0, 1, 10, 11],
        'loss steps',
      );
      checkEqual(
        (await tracker.metricHistory(handle.id, 'acc')).map((p) => p.step),
        [0],
        'acc steps',
      );
    },
  ],
  [
    'buffered metrics are written by size, and a batch is visible only after a flush',
    async (backend) => {
      const tracker = make(backend, { flushSize: 10 });
      const handle = await tracker.startRun({ experiment: 'buffer' });
      for (let i = 0; i < 25; i++) handle.logMetric('x', i);
      await handle.flush();
      checkEqual((await tracker.metricHistory(handle.id, 'x')).length, 25, 'all points');
      handle.logMetric('x', 99);
      checkEqual(
        (await tracker.getRun(handle.id)).metrics.x?.value,
        24,
        'unflushed point not visible',
      );
      await handle.flush();
      checkEqual((await tracker.getRun(handle.id)).metrics.x?.value, 99, 'visible after flush');
    },
  ],
  [
    'bad input is refused with typed errors and nothing is written',
    async (backend) => {
      const tracker = make(backend);
      const v = ErrorCodes.validation;
      await checkRejects(() => tracker.startRun({ experiment: '' }), v, 'empty experiment');
      await checkRejects(
        () => tracker.startRun({ experiment: 'x'.repeat(257) }),
        v,
        'long experiment',
      );
      await checkRejects(
        () => tracker.startRun({ experiment: 'e', params: { ['k'.repeat(251)]: 1 } }),
        v,
        'long param key',
      );
      await checkRejects(
        () => tracker.startRun({ experiment: 'e', params: { p: 'x'.repeat(6001) } }),
        v,
        'long param value',
      );
      await checkRejects(
        () => tracker.startRun({ experiment: 'e', params: JSON.parse('{"__proto__": 1}') }),
        v,
        '__proto__ param',
      );
      await checkRejects(
        () => tracker.startRun({ experiment: 'e', tags: JSON.parse('{"__proto__": "x"}') }),
        v,
        '__proto__ tag',
      );
      await checkRejects(
        () => tracker.startRun({ experiment: 'e', params: { p: Number.NaN } }),
        v,
        'NaN param',
      );
      checkEqual(await tracker.listExperiments(), [], 'no experiment written');
      checkEqual((await tracker.searchRuns()).runs, [], 'no run written');

      const handle = await tracker.startRun({ experiment: 'e' });
      await checkThrows(() => handle.logMetric('', 1), v, 'empty metric key');
      await checkThrows(() => handle.logMetric('k'.repeat(251), 1), v, 'long metric key');
      await checkThrows(() => handle.logMetric('__proto__', 1), v, '__proto__ metric');
      await checkThrows(
        () => handle.logMetric('loss', '1' as unknown as number),
        v,
        'string value',
      );
      await checkThrows(() => handle.logMetric('loss', 1, { step: -1 }), v, 'negative step');
      await checkThrows(() => handle.logMetric('loss', 1, { step: 1.5 }), v, 'fractional step');
      await checkThrows(
        () => handle.logMetric('loss', 1, { timestamp: Number.NaN }),
        v,
        'NaN timestamp',
      );
      await checkThrows(
        () => handle.logMetrics({ ok: 1, bad: null as unknown as number }),
        v,
        'one bad value',
      );
      await checkThrows(
        () => handle.logMetrics(JSON.parse('{"__proto__": 1}')),
        v,
        '__proto__ in logMetrics',
      );
      await checkRejects(
        () => handle.logParams({ p: { nested: 1 } as unknown as string }),
        v,
        'object param',
      );
      await checkRejects(
        () => handle.logInput({ digest: 'sha256:nope' as Digest }),
        v,
        'malformed digest',
      );
      await handle.flush();
      checkEqual((await tracker.getRun(handle.id)).metrics, {}, 'no metric buffered');
      checkEqual(await tracker.metricHistory(handle.id, 'ok'), [], 'logMetrics is all or nothing');

      const nf = ErrorCodes.notFound;
      await checkRejects(() => tracker.getRun('does-not-exist'), nf, 'getRun');
      await checkRejects(
        () => tracker.getRun('01arz3ndektsv4rrffq69g5fav'),
        nf,
        'getRun well-formed',
      );
      await checkRejects(() => tracker.getRun('../../etc/passwd'), nf, 'getRun path');
      await checkRejects(
        () => tracker.metricHistory('01arz3ndektsv4rrffq69g5fav', 'x'),
        nf,
        'metricHistory',
      );
      await checkRejects(() => tracker.resumeRun('01arz3ndektsv4rrffq69g5fav'), nf, 'resumeRun');
      await checkRejects(() => tracker.getRun(42 as unknown as string), v, 'getRun number');
      await checkRejects(() => tracker.lineage('sha256:zz' as Digest), v, 'lineage digest');
    },
  ],
  [
    'searchRuns filters with the documented language',
    async (backend) => {
      const clock = new ManualClock();
      const tracker = make(backend, { clock });
      const specs = [
        {
          name: 'a',
          params: { opt: 'adam', lr: 0.1 },
          tags: { team: 'vision' },
          acc: 0.91,
          status: 'completed',
        },
        {
          name: 'b',
          params: { opt: 'sgd', lr: 0.01 },
          tags: { team: 'nlp' },
          acc: 0.85,
          status: 'failed',
        },
        {
          name: 'c',
          params: { opt: 'Adam', lr: '0.1' },
          tags: { team: 'vision', 'x.y': 'dotted' },
          acc: Number.NaN,
          status: 'running',
        },
        { name: 'd run', params: { opt: 'adamw' }, tags: {}, acc: undefined, status: 'completed' },
      ] as const;
      const byName: Record<string, string> = {};
      for (const spec of specs) {
        clock.advance(1000);
        const handle = await tracker.startRun({
          experiment: 'search',
          name: spec.name,
          params: spec.params,
          tags: spec.tags,
        });
        byName[spec.name] = handle.id;
        if (spec.acc !== undefined) handle.logMetric('acc', spec.acc);
        handle.logMetric('val loss', 1);
        await handle.flush();
        if (spec.status !== 'running') await handle.end(spec.status);
      }
      await tracker.startRun({ experiment: 'elsewhere', name: 'a' });
      const names = async (filter: string): Promise<string[]> =>
        (
          await tracker.searchRuns({ experiment: 'search', filter, orderBy: ['attributes.name'] })
        ).runs.map((r) => r.name ?? '');
      checkEqual(await names('metrics.acc > 0.9'), ['a'], '>');
      checkEqual(
        await names('metrics.acc <= 0.91'),
        ['a', 'b'],
        '<= (NaN and missing never match)',
      );
      checkEqual(
        await names('metrics.acc != 0.85'),
        ['a', 'c'],
        '!= holds for NaN, not for missing',
      );
      checkEqual(await names("params.opt = 'adam'"), ['a'], 'string =');
      checkEqual(await names("params.opt like 'adam%'"), ['a', 'd run'], 'like is case-sensitive');
      checkEqual(await names("params.opt ILIKE 'ADAM_'"), ['d run'], 'ilike with _');
      checkEqual(await names("params.opt ilike 'adam'"), ['a', 'c'], 'ilike whole string');
      checkEqual(
        await names('params.lr = 0.1'),
        ['a', 'c'],
        'numeric literal matches numeric strings',
      );
      checkEqual(await names("params.lr = '0.01'"), ['b'], 'string literal matches a number param');
      checkEqual(await names("tags.team in ('nlp', 'audio')"), ['b'], 'in');
      checkEqual(
        await names("tags.team not in ('nlp')"),
        ['a', 'c'],
        'not in skips runs without the tag',
      );
      checkEqual(await names("tags.`x.y` = 'dotted'"), ['c'], 'backticked key');
      checkEqual(
        await names('metrics.`val loss` = 1'),
        ['a', 'b', 'c', 'd run'],
        'key with a space',
      );
      checkEqual(await names("attributes.status = 'completed'"), ['a', 'd run'], 'status');
      checkEqual(await names("attributes.name like '% %'"), ['d run'], 'name');
      checkEqual(await names(`attributes.run_id = '${byName.b}'`), ['b'], 'run_id');
      checkEqual(await names('attributes.end_time > 0'), ['a', 'b', 'd run'], 'end_time');
      checkEqual(
        await names(`attributes.start_time >= '${new Date(clock.now() - 1000).toISOString()}'`),
        ['c', 'd run'],
        'start_time with an ISO literal',
      );
      checkEqual(
        await names(
          "(params.opt = 'sgd' or tags.team = 'vision') and attributes.status != 'running'",
        ),
        ['a', 'b'],
        'and/or/parentheses',
      );
      checkEqual(
        await names("params.opt = 'sgd' or tags.team = 'vision' and metrics.acc > 0.9"),
        ['a', 'b'],
        'and binds tighter',
      );
      checkEqual(await names(''), ['a', 'b', 'c', 'd run'], 'empty filter');
      checkEqual(
        (await tracker.searchRuns({ filter: "attributes.name = 'a'" })).runs.length,
        2,
        'all experiments',
      );
      for (const [filter, column] of [
        ['metrics.acc >', 14],
        ["metrics.acc = 'x'", 15],
        ['metric.acc = 1', 1],
        ['metrics.acc = 1 and', 20],
        ['(metrics.acc = 1', 17],
        ["tags.team = 'open", 18],
        ['metrics.acc ~ 1', 13],
        ["attributes.status = 'done'", 21],
      ] as const) {
        const error = await tracker.searchRuns({ filter }).catch((e: unknown) => e);
        check(isKeelError(error, ErrorCodes.validation), `${filter}: ValidationError`);
        check(
          (error as Error).message.includes(`column ${column}`),
          `${filter}: message names column ${column}: ${(error as Error).message}`,
        );
      }
    },
  ],
  [
    'orderBy sorts with missing values last, and the default is newest first',
    async (backend) => {
      const clock = new ManualClock();
      const tracker = make(backend, { clock });
      const made: string[] = [];
      for (const acc of [0.5, undefined, 0.9, 0.7]) {
        clock.advance(10);
        const handle = await tracker.startRun({ experiment: 'order' });
        if (acc !== undefined) handle.logMetric('acc', acc);
        await handle.end();
        made.push(handle.id);
      }
      checkEqual(
        ids((await tracker.searchRuns()).runs),
        [...made].reverse(),
        'default: start time desc',
      );
      const desc = await tracker.searchRuns({ orderBy: ['metrics.acc DESC'] });
      checkEqual(ids(desc.runs), [made[2]!, made[3]!, made[0]!, made[1]!], 'desc, missing last');
      const asc = await tracker.searchRuns({ orderBy: ['metrics.acc'] });
      checkEqual(ids(asc.runs), [made[0]!, made[3]!, made[2]!, made[1]!], 'asc, missing last');
      await checkRejects(
        () => tracker.searchRuns({ orderBy: ['metrics.acc sideways'] }),
        ErrorCodes.validation,
        'bad direction',
      );
      await checkRejects(
        () => tracker.searchRuns({ orderBy: ['attributes.color'] }),
        ErrorCodes.validation,
        'bad attribute',
      );
    },
  ],
  [
    'orderBy a metric puts NaN after every number in both directions, then missing values',
    async (backend) => {
      const clock = new ManualClock();
      const tracker = make(backend, { clock });
      const values = [
        0,
        Number.NaN,
        Number.NEGATIVE_INFINITY,
        1000,
        undefined,
        -1000,
        Number.POSITIVE_INFINITY,
      ];
      const byValue = new Map<string, string>();
      for (const value of values) {
        clock.advance(10);
        const handle = await tracker.startRun({ experiment: 'nan-order' });
        if (value !== undefined) handle.logMetric('auc', value);
        await handle.end();
        byValue.set(String(value), handle.id);
      }
      const order = async (entry: string): Promise<string[]> => {
        const { runs } = await tracker.searchRuns({ orderBy: [entry] });
        return runs.map((run) => String(run.metrics.auc?.value));
      };
      checkEqual(
        await order('metrics.auc desc'),
        ['Infinity', '1000', '0', '-1000', '-Infinity', 'NaN', 'undefined'],
        'desc: NaN after -Infinity, missing last (MLflow order)',
      );
      checkEqual(
        await order('metrics.auc asc'),
        ['-Infinity', '-1000', '0', '1000', 'Infinity', 'NaN', 'undefined'],
        'asc: NaN after Infinity, missing last',
      );
      const first = await tracker.searchRuns({ orderBy: ['metrics.auc desc'], limit: 5 });
      const rest = await tracker.searchRuns({
        orderBy: ['metrics.auc desc'],
        limit: 5,
        ...(first.nextCursor === undefined ? {} : { cursor: first.nextCursor }),
      });
      checkEqual(
        ids(rest.runs),
        [byValue.get('NaN')!, byValue.get('undefined')!],
        'the page after -Infinity starts at NaN',
      );
    },
  ],
  [
    'parent_run_id is searchable, bare or as attributes.parent_run_id',
    async (backend) => {
      const tracker = make(backend);
      const parent = await tracker.startRun({ experiment: 'family', name: 'parent' });
      const other = await tracker.startRun({ experiment: 'family', name: 'other' });
      const children: string[] = [];
      for (const name of ['a', 'b']) {
        const child = await tracker.startRun({
          experiment: 'family',
          name,
          parentRunId: parent.id,
        });
        children.push(child.id);
      }
      await tracker.startRun({ experiment: 'family', name: 'c', parentRunId: other.id });
      const names = async (filter: string): Promise<string[]> =>
        (await tracker.searchRuns({ filter, orderBy: ['attributes.name'] })).runs.map(
          (run) => run.name ?? '',
        );
      checkEqual(await names(`parent_run_id = '${parent.id}'`), ['a', 'b'], 'bare');
      checkEqual(
        await names(`attributes.parent_run_id = '${parent.id}'`),
        ['a', 'b'],
        'attributes.parent_run_id',
      );
      checkEqual(
        await names(`parent_run_id in ('${parent.id}', '${other.id}')`),
        ['a', 'b', 'c'],
        'in',
      );
      checkEqual(
        await names(`parent_run_id != '${parent.id}'`),
        ['c'],
        '!= skips runs without a parent',
      );
      const sorted = await tracker.searchRuns({
        filter: `parent_run_id like '_%${parent.id.slice(-12)}'`,
        orderBy: ['parent_run_id desc', 'attributes.name desc'],
      });
      checkEqual(ids(sorted.runs), [...children].reverse(), 'like and orderBy');
    },
  ],
  [
    'pagination by cursor is stable under concurrent inserts',
    async (backend) => {
      const clock = new ManualClock();
      const tracker = make(backend, { clock });
      const made: string[] = [];
      for (let i = 0; i < 7; i++) {
        clock.advance(1);
        made.push((await tracker.startRun({ experiment: 'pages', params: { i } })).id);
      }
      const first = await tracker.searchRuns({ experiment: 'pages', limit: 3 });
      checkEqual(ids(first.runs), made.slice(4).reverse(), 'first page');
      check(typeof first.nextCursor === 'string', 'a next cursor');
      clock.advance(1);
      await make(backend, { clock }).startRun({ experiment: 'pages' });
      const second = await tracker.searchRuns({
        experiment: 'pages',
        limit: 3,
        cursor: first.nextCursor!,
      });
      checkEqual(
        ids(second.runs),
        made.slice(1, 4).reverse(),
        'second page unaffected by the insert',
      );
      const third = await tracker.searchRuns({
        experiment: 'pages',
        limit: 3,
        cursor: second.nextCursor!,
      });
      checkEqual(ids(third.runs), made.slice(0, 1), 'last page');
      checkEqual(third.nextCursor, undefined, 'no cursor after the last page');
      await checkRejects(
        () =>
          tracker.searchRuns({
            experiment: 'pages',
            limit: 3,
            cursor: first.nextCursor!,
            filter: 'params.i > 0',
          }),
        ErrorCodes.validation,
        'cursor of another query',
      );
      await checkRejects(
        () => tracker.searchRuns({ cursor: 'garbage!' }),
        ErrorCodes.validation,
        'garbage cursor',
      );
      await checkRejects(() => tracker.searchRuns({ limit: 0 }), ErrorCodes.validation, 'limit 0');
      await checkRejects(
        () => tracker.searchRuns({ limit: 10_001 }),
        ErrorCodes.validation,
        'limit too large',
      );
      checkEqual((await tracker.searchRuns({ limit: 10_000 })).runs.length, 8, 'limit 10 000');
    },
  ],
  [
    'a tracker sees runs and changes written by another tracker on the same stores',
    async (backend) => {
      const a = make(backend);
      const b = make(backend);
      checkEqual((await a.searchRuns()).runs, [], 'empty at first');
      const handle = await b.startRun({ experiment: 'shared' });
      checkEqual(ids((await a.searchRuns()).runs), [handle.id], 'new run visible');
      handle.logMetric('acc', 0.99);
      await handle.flush();
      checkEqual(
        ids((await a.searchRuns({ filter: 'metrics.acc > 0.9' })).runs),
        [handle.id],
        'flushed metric visible',
      );
      await handle.end('killed');
      checkEqual((await a.searchRuns()).runs[0]?.status, 'killed', 'status visible');
    },
  ],
  [
    'concurrent writers to one run lose no update',
    async (backend) => {
      const a = make(backend);
      const handle = await a.startRun({ experiment: 'concurrent' });
      const other = await make(backend).resumeRun(handle.id);
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 10; i++) {
        writes.push(handle.setTags({ [`a${i}`]: 'x' }));
        writes.push(other.setTags({ [`b${i}`]: 'y' }));
        writes.push((i % 2 ? handle : other).logParams({ [`p${i}`]: i }));
      }
      handle.logMetric('from_a', 1);
      other.logMetric('from_b', 2);
      writes.push(handle.flush(), other.flush());
      await Promise.all(writes);
      const run = await a.getRun(handle.id);
      checkEqual(Object.keys(run.tags).length, 20, 'all tags');
      checkEqual(Object.keys(run.params).length, 10, 'all params');
      checkEqual(Object.keys(run.metrics).sort(), ['from_a', 'from_b'], 'both metrics');
    },
  ],
  [
    'lineage records inputs and outputs and finds the runs of a digest',
    async (backend) => {
      const tracker = make(backend);
      const producer = await tracker.startRun({ experiment: 'lineage' });
      const meta = await producer.logArtifact('model bytes', {
        name: 'model.bin',
        mediaType: 'application/octet-stream',
      });
      check(await backend.artifacts.has(meta.digest), 'artifact stored');
      await producer.end();
      const consumer = await tracker.startRun({ experiment: 'lineage' });
      await consumer.logInput({ digest: meta.digest, name: 'model.bin', kind: 'model' });
      await consumer.logInput({ digest: meta.digest, name: 'model.bin', kind: 'model' });
      await consumer.logOutput({ digest: DIGEST, kind: 'dataset' });
      const run = await tracker.getRun(consumer.id);
      checkEqual(
        run.inputs,
        [{ digest: meta.digest, name: 'model.bin', kind: 'model' }],
        'inputs (deduplicated)',
      );
      checkEqual(
        (await tracker.getRun(producer.id)).outputs,
        [{ digest: meta.digest, name: 'model.bin', kind: 'artifact' }],
        'outputs',
      );
      const lineage = await tracker.lineage(meta.digest);
      checkEqual(ids(lineage.producedBy), [producer.id], 'producedBy');
      checkEqual(ids(lineage.consumedBy), [consumer.id], 'consumedBy');
      checkEqual(
        await tracker.lineage(`sha256:${'cd'.repeat(32)}` as Digest),
        { producedBy: [], consumedBy: [] },
        'unknown digest',
      );
    },
  ],
  [
    'events: run:started, one metric:logged per flush, run:ended',
    async (backend) => {
      const seen: [string, unknown][] = [];
      const tracker = make(backend, { emit: (event, payload) => void seen.push([event, payload]) });
      const handle = await tracker.startRun({ experiment: 'events', name: 'r' });
      for (let i = 0; i < 50; i++) handle.logMetric(i % 2 ? 'a' : 'b', i);
      await handle.end();
      checkEqual(
        seen.map(([event]) => event),
        ['run:started', 'metric:logged', 'run:ended'],
        'events',
      );
      checkEqual((seen[1]![1] as { count: number }).count, 50, 'batched count');
      checkEqual((seen[2]![1] as { status: string }).status, 'completed', 'ended status');
    },
  ],
  [
    'close() writes what open runs buffered, keeps them running, and refuses later writes',
    async (backend) => {
      const tracker = make(backend);
      const handle = await tracker.startRun({ experiment: 'closing', deferWriteMs: 60_000 });
      for (let step = 0; step < 30; step++) handle.logMetric('loss', 1 / (step + 1), { step });
      await tracker.close();
      await tracker.close();
      const reader = make(backend);
      const run = await reader.getRun(handle.id);
      checkEqual(run.status, 'running', 'status after close');
      checkEqual((await reader.metricHistory(handle.id, 'loss')).length, 30, 'points written');
      await checkThrows(
        () => handle.logMetric('loss', 0),
        ErrorCodes.conflict,
        'logMetric after close',
      );
      await checkThrows(
        () => tracker.startRun({ experiment: 'closing' }),
        ErrorCodes.conflict,
        'startRun after close',
      );
    },
  ],
];
