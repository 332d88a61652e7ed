/**
 * The layering of ARCHITECTURE.md, checked on the import graph: imports only point down,
 * the pure rooms stay pure, and the root entry needs no Node built-in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/run-ts.js';

const src = join(repoRoot, 'src');
const IMPORT = /^(?:import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms;

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

const edges: Edge[] = sourceFiles(src).flatMap((file) =>
  [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => {
    const spec = m[2]!;
    const to = spec.startsWith('.')
      ? relative(src, resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
      : spec;
    return { from: relative(src, file), to, typeOnly: m[1] !== undefined };
  }),
);

const room = (path: string): string => (path.includes('/') ? path.split('/')[0]! : path);
const local = (edge: Edge): boolean => edge.to.endsWith('.ts');

function reachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const edge of edges)
      if (edge.from === file && local(edge) && !edge.typeOnly) stack.push(edge.to);
  }
  return seen;
}

describe('architecture', () => {
  it('reads the import graph (sanity check of the parser)', () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(edges).toContainEqual({ from: 'keel.ts', to: 'tracking/tracker.ts', typeOnly: false });
    expect(edges.some((e) => e.from === 'backends/fs/io.ts' && e.to.startsWith('node:'))).toBe(
      true,
    );
  });

  it('the root entry reaches no Node built-in (it runs in any JS runtime)', () => {
    const files = reachable('index.ts');
    const offenders = edges.filter((e) => files.has(e.from) && e.to.startsWith('node:'));
    expect(offenders).toEqual([]);
    expect(files.has('backends/fs/metadata-store.ts')).toBe(false);
  });

  it('keel/fs loads the MLflow endpoint only when a command step asks for it (no static import of src/mlflow or node:http)', () => {
    const files = reachable('fs.ts');
    expect(files.has('pipeline/command-step.ts')).toBe(true);
    expect([...files].filter((f) => room(f) === 'mlflow')).toEqual([]);
    expect(edges.filter((e) => files.has(e.from) && e.to === 'node:http')).toEqual([]);
    expect([...reachable('index.ts')].filter((f) => room(f) === 'mlflow')).toEqual([]);
  });

  it('keel/adapter reaches no Node built-in and none of the services (it runs in any JS runtime)', () => {
    const files = reachable('adapter.ts');
    expect(edges.filter((e) => files.has(e.from) && e.to.startsWith('node:'))).toEqual([]);
    const services = ['tracking', 'registry', 'gates', 'drift', 'pipeline', 'ops', 'backends'];
    expect([...files].filter((f) => services.includes(room(f)))).toEqual([]);
  });

  it('keel/report reaches no Node built-in and no storage (it runs in any JS runtime)', () => {
    const files = reachable('report.ts');
    expect(edges.filter((e) => files.has(e.from) && e.to.startsWith('node:'))).toEqual([]);
    expect([...files].filter((f) => /^(backends|metadata|artifacts)\//.test(f))).toEqual([]);
  });

  it('keel/ui reads through the public API: beyond ui, report and core it imports types and public helpers only', () => {
    const publicModules = new Set(['artifacts/json.ts', 'gates/report.ts']);
    const allowed = new Set(['ui', 'report', 'core']);
    const offenders = edges.filter(
      (e) =>
        room(e.from) === 'ui' &&
        local(e) &&
        !e.typeOnly &&
        !allowed.has(room(e.to)) &&
        !publicModules.has(e.to),
    );
    expect(offenders).toEqual([]);
  });

  it('keel/mlflow works through the public API: beyond mlflow and core it imports types and public helpers only', () => {
    // experimentId: MLflow's experiment_id is keel's Experiment.id, derived once; putJson (root)
    // and MEDIA_TYPE_PATTERN (keel/adapter) are public helpers
    const publicModules = new Set([
      'tracking/records.ts',
      'artifacts/json.ts',
      'artifacts/checks.ts',
    ]);
    const offenders = edges.filter(
      (e) =>
        room(e.from) === 'mlflow' &&
        local(e) &&
        !e.typeOnly &&
        !['mlflow', 'core'].includes(room(e.to)) &&
        !publicModules.has(e.to),
    );
    expect(offenders).toEqual([]);
    expect(edges.some((e) => room(e.from) === 'mlflow')).toBe(true);
  });

  it('core imports nothing of keel outside core', () => {
    expect(
      edges.filter((e) => room(e.from) === 'core' && local(e) && room(e.to) !== 'core'),
    ).toEqual([]);
  });

  it('drift is pure: it imports only core and drift', () => {
    const allowed = new Set(['core', 'drift']);
    expect(
      edges.filter((e) => room(e.from) === 'drift' && local(e) && !allowed.has(room(e.to))),
    ).toEqual([]);
  });

  it('gates is pure: core, drift numerics, and only the ArtifactStore contract type for persistence', () => {
    const offenders = edges.filter(
      (e) =>
        room(e.from) === 'gates' &&
        local(e) &&
        !['core', 'gates', 'drift'].includes(room(e.to)) &&
        !(e.typeOnly && e.to === 'artifacts/types.ts'),
    );
    expect(offenders).toEqual([]);
  });

  it('storage never imports the services, and the services never import a backend', () => {
    const services = ['tracking', 'registry', 'gates', 'drift', 'pipeline', 'ops'];
    const storage = ['artifacts', 'metadata', 'backends'];
    expect(
      edges.filter((e) => storage.includes(room(e.from)) && services.includes(room(e.to))),
    ).toEqual([]);
    expect(
      edges.filter(
        (e) => services.includes(room(e.from)) && room(e.to) === 'backends' && !e.typeOnly,
      ),
    ).toEqual([]);
  });
  it('OpenLineage listens and translates: beyond core and lineage it imports types only, and only the composition root and the entries import it', () => {
    const offenders = edges.filter(
      (e) =>
        room(e.from) === 'lineage' &&
        local(e) &&
        !e.typeOnly &&
        !['core', 'lineage'].includes(room(e.to)),
    );
    expect(offenders).toEqual([]);
    const importers = new Set(
      edges
        .filter((e) => room(e.to) === 'lineage' && room(e.from) !== 'lineage')
        .map((e) => e.from),
    );
    expect([...importers].sort()).toEqual(['fs.ts', 'index.ts', 'keel.ts']);
    expect(reachable('index.ts').has('lineage/openlineage/file-transport.ts')).toBe(false);
  });

  it('the command line is a leaf: nothing in src imports src/cli', () => {
    expect(edges.filter((e) => room(e.from) !== 'cli' && room(e.to) === 'cli')).toEqual([]);
    expect(edges.some((e) => room(e.from) === 'cli')).toBe(true);
  });
});
