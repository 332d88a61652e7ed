/**
 * `keel runs|models|audit|doctor` over an fs store, through the built executable: outputs,
 * `--json`, exit codes (0 ok, 1 check failed, 2 usage or input error), and no stack traces.
 */
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsBackend } from '../../src/fs.js';
import { createKeel } from '../../src/index.js';
import { keel } from './run-cli.js';

let dir: string;
let store: string;
let runIds: string[] = [];
const EVIL = '\u001b[31mred<img src=x>';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keel-cli-'));
  store = join(dir, 'store');
  const k = createKeel({ backend: fsBackend({ root: store }), actor: { id: 'alice' } });
  const data = await k.artifacts.put('training rows');
  const ids: string[] = [];
  for (const [i, auc] of [0.71, 0.83, 0.92].entries()) {
    const run = await k.tracker.startRun({
      experiment: 'churn',
      name: `run-${i}`,
      params: { lr: 0.1 * (i + 1), model: i === 1 ? 'xgb' : 'lr', note: i === 2 ? EVIL : 'plain' },
      inputs: [{ digest: data.digest, name: 'train.csv', kind: 'dataset' }],
    });
    run.logMetric('auc', auc - 0.1, { step: 0 });
    run.logMetric('auc', auc, { step: 1 });
    await run.logArtifact(`weights ${i}`, { name: 'model.bin' });
    await run.end('completed');
    ids.push(run.id);
  }
  runIds = ids;
  const v1 = await k.registry.registerVersion('churn', {
    artifact: (await k.artifacts.put('model v1')).digest,
    runId: ids[1]!,
    metrics: { auc: 0.83 },
  });
  const v2 = await k.registry.registerVersion('churn', {
    artifact: (await k.artifacts.put('model v2')).digest,
    runId: ids[2]!,
    metrics: { auc: 0.92 },
  });
  await k.registry.setAlias('churn', 'prod', v1.version, { reason: 'first release' });
  await k.registry.setAlias('churn', 'prod', v2.version, { reason: 'better auc' });
  await k.close();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('keel runs', () => {
  it('searches with a filter, an order and a limit, as a table and as JSON', () => {
    const table = keel([
      'runs',
      'search',
      'metrics.auc > 0.8',
      '--store',
      store,
      '-o',
      'metrics.auc desc',
    ]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+EXPERIMENT\s+NAME\s+STATUS\s+START\s+METRICS$/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain(runIds[2]);
    expect(lines[2]).toContain(runIds[1]);

    const limited = keel(['runs', 'search', '--store', store, '--limit', '1', '--json']);
    expect(limited.code).toBe(0);
    const page = JSON.parse(limited.stdout) as { runs: { id: string }[]; nextCursor?: string };
    expect(page.runs).toHaveLength(1);
    expect(page.nextCursor).toBeTypeOf('string');
    const next = JSON.parse(
      keel([
        'runs',
        'search',
        '--store',
        store,
        '--limit',
        '5',
        '--cursor',
        page.nextCursor!,
        '--json',
      ]).stdout,
    ) as { runs: { id: string }[] };
    expect(new Set([...page.runs, ...next.runs].map((r) => r.id))).toEqual(new Set(runIds));
  });

  it('takes the store from KEEL_STORE', () => {
    const result = keel(['runs', 'search', "params.model = 'xgb'", '--json'], {
      KEEL_STORE: store,
    });
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { runs: { id: string }[] }).runs.map((r) => r.id)).toEqual(
      [runIds[1]],
    );
  });

  it("a malformed filter is a usage error (exit 2) with keel's message and no stack trace", () => {
    const result = keel(['runs', 'search', 'metrics.auc >', '--store', store]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^\[keel\]/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });

  it('shows a run: params, last metrics, artifacts and lineage', () => {
    const result = keel(['runs', 'show', runIds[1]!, '--store', store]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/status:\s+completed/);
    expect(result.stdout).toMatch(/model\s+xgb/);
    expect(result.stdout).toMatch(/auc\s+0\.83\s+1/);
    expect(result.stdout).toMatch(/model\.bin\s+sha256:[0-9a-f]{64}/);
    expect(result.stdout).toMatch(/train\.csv\s+dataset\s+sha256:/);
    // A terminal escape in a param is shown escaped, never sent to the terminal.
    const evil = keel(['runs', 'show', runIds[2]!, '--store', store]);
    expect(evil.stdout).not.toContain('\u001b');
    expect(evil.stdout).toContain('\\u001b[31mred<img src=x>');

    const asJson = JSON.parse(
      keel(['runs', 'show', runIds[1]!, '--store', store, '--json']).stdout,
    ) as {
      run: { id: string; params: Record<string, unknown> };
      lineage: { inputs: { name: string; runs: string[] }[] };
    };
    expect(asJson.run.id).toBe(runIds[1]);
    expect(asJson.run.params.model).toBe('xgb');
    expect(asJson.lineage.inputs[0]!.name).toBe('train.csv');
  });

  it('an unknown run or a missing store is exit 2 with a clear message', () => {
    const unknown = keel(['runs', 'show', 'no-such-run', '--store', store]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/\[keel\].*no-such-run/);
    const missing = keel(['runs', 'search', '--store', join(dir, 'typo')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('the directory does not exist');
    // A typo never creates an empty store.
    expect(() => statSync(join(dir, 'typo'))).toThrow();
    const none = keel(['runs', 'search']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--store');
  });
});

describe('keel models', () => {
  it('lists models with their aliases', () => {
    const result = keel(['models', 'list', '--store', store]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/churn\s+prod=v2/);
    const asJson = JSON.parse(keel(['models', 'list', '--store', store, '--json']).stdout);
    expect(asJson).toMatchObject([{ model: { name: 'churn' }, aliases: { prod: 2 } }]);
  });

  it('shows versions, aliases and alias history with actor and reason', () => {
    const result = keel(['models', 'show', 'churn', '--store', store]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^1\s+ready\s+\S/m);
    expect(result.stdout).toMatch(/^2\s+ready\s+prod\s/m);
    expect(result.stdout).toMatch(/set\s+- -> v1\s+alice\s+first release/);
    expect(result.stdout).toMatch(/set\s+v1 -> v2\s+alice\s+better auc/);
    const asJson = JSON.parse(keel(['models', 'show', 'churn', '--store', store, '--json']).stdout);
    expect(asJson.versions).toHaveLength(2);
    expect(asJson.history.prod).toHaveLength(2);
    expect(keel(['models', 'show', 'nope', '--store', store]).code).toBe(2);
  });
});

describe('keel --help and usage errors', () => {
  it('every command has --help (exit 0)', () => {
    for (const command of [
      [],
      ['runs'],
      ['runs', 'search'],
      ['runs', 'show'],
      ['models', 'list'],
      ['models', 'show'],
      ['audit', 'verify'],
      ['doctor'],
      ['drift'],
      ['profile'],
      ['gate'],
      ['gc'],
      ['copy'],
      ['ui'],
    ]) {
      const result = keel([...command, '--help']);
      expect(result.code, command.join(' ')).toBe(0);
      expect(result.stdout, command.join(' ')).toContain('Usage: keel');
      if (command.length > 1) expect(result.stdout, command.join(' ')).toContain('--store');
    }
  });

  it('an unknown command, option or bad option value is exit 2', () => {
    expect(keel(['nope']).code).toBe(2);
    expect(keel(['runs', 'search', '--bogus']).code).toBe(2);
    const limit = keel(['runs', 'search', '--limit', 'ten', '--store', store]);
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain('whole number');
    expect(keel([]).code).toBe(2);
  });
});

describe('keel audit verify and keel doctor', () => {
  it('a sound store verifies (exit 0); a tampered audit log does not (exit 1)', () => {
    const ok = keel(['audit', 'verify', '--store', store, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true });
    expect(keel(['doctor', '--store', store, '--dry-run']).code).toBe(0);

    const copy = join(dir, 'tampered');
    cpSync(store, copy, { recursive: true });
    const log = findFile(
      join(copy, 'metadata'),
      (path, text) => path.includes('audit') && text.includes('better auc'),
    );
    writeFileSync(log, readFileSync(log, 'utf8').replace('better auc', 'better AUC'));
    const bad = keel(['audit', 'verify', '--store', copy]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/audit log:\s+DOES NOT VERIFY/);
  });

  it('doctor finds a corrupt document (exit 1) and quarantines it unless --dry-run', () => {
    const copy = join(dir, 'corrupt');
    cpSync(store, copy, { recursive: true });
    const doc = findFile(
      join(copy, 'metadata'),
      (path, text) => text.includes('"experiment"') && !path.includes('log'),
    );
    writeFileSync(doc, '{"truncated');
    const dry = keel(['doctor', '--store', copy, '--dry-run', '--json']);
    expect(dry.code).toBe(1);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, repaired: [] });
    const fixed = keel(['doctor', '--store', copy]);
    expect(fixed.code).toBe(1);
    expect(fixed.stdout).toMatch(/Repaired/);
    expect(keel(['doctor', '--store', copy]).code).toBe(0);
  });
});

function findFile(root: string, match: (path: string, text: string) => boolean): string {
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) {
      const found = (() => {
        try {
          return findFile(path, match);
        } catch {
          return undefined;
        }
      })();
      if (found) return found;
    } else if (match(path, readFileSync(path, 'utf8'))) return path;
  }
  throw new Error(`no matching file under ${root}`);
}
