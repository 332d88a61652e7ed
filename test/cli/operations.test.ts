/**
 * `keel gate`, `keel gc`, `keel copy` and `keel ui` through the built executable on fs stores:
 * outputs, exit codes, what is deleted and kept, what is copied, and the UI on loopback.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsBackend } from '../../src/fs.js';
import { createKeel, type Digest } from '../../src/index.js';
import { repoRoot } from '../helpers/run-ts.js';
import { ensureBuilt, keel, keelBin } from './run-cli.js';

let dir: string;
const f = (name: string): string => join(dir, name);
const digests: Record<'run' | 'doc' | 'log' | 'orphan' | 'kept' | 'version', Digest> = {} as never;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keel-cli-ops-'));
  const k = createKeel({ backend: fsBackend({ root: f('store') }) });
  const run = await k.tracker.startRun({ experiment: 'churn', name: 'train' });
  digests.run = (await run.logArtifact('weights', { name: 'model.bin' })).digest;
  await run.end();
  digests.version = (await k.artifacts.put('model v1')).digest;
  await k.registry.registerVersion('churn', { artifact: digests.version, metrics: { auc: 0.9 } });
  // Referenced only by a document and a log entry another service wrote.
  digests.doc = (await k.artifacts.put('cached step output')).digest;
  await k.metadata.put('pipelines/train/cache/x', { outputs: [{ digest: digests.doc }] });
  digests.log = (await k.artifacts.put('a pipeline run log output')).digest;
  await k.metadata.append('pipelines/train/runs/r1', [{ step: 'fit', digest: digests.log }]);
  digests.orphan = (await k.artifacts.put('nobody uses me')).digest;
  digests.kept = (await k.artifacts.put('kept by --keep')).digest;
  await k.close();
  writeFileSync(
    f('policy.json'),
    JSON.stringify({
      name: 'release',
      rules: [
        { kind: 'metric', metric: 'auc', min: 0.8 },
        { kind: 'metric', metric: 'latency_ms', max: 50, severity: 'warn' },
      ],
    }),
  );
  writeFileSync(
    f('good.json'),
    JSON.stringify({ candidate: { metrics: { auc: 0.9, latency_ms: 20 } } }),
  );
  writeFileSync(
    f('warn.json'),
    JSON.stringify({ candidate: { metrics: { auc: 0.9, latency_ms: 80 } } }),
  );
  // NaN arrives tagged, as keel stores evidence.
  writeFileSync(
    f('bad.json'),
    JSON.stringify({ candidate: { metrics: { auc: { '$keel:number': 'NaN' }, latency_ms: 20 } } }),
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('keel gate', () => {
  it('prints the verdict; exit 1 on fail only with --fail-on-fail (warn passes)', () => {
    const pass = keel(['gate', f('policy.json'), f('good.json'), '--fail-on-fail']);
    expect(pass.code).toBe(0);
    expect(pass.stdout).toMatch(/^gate "release" PASS/);
    expect(keel(['gate', f('policy.json'), f('warn.json'), '--fail-on-fail']).code).toBe(0);
    const fail = keel(['gate', f('policy.json'), f('bad.json')]);
    expect(fail.code).toBe(0);
    expect(fail.stdout).toMatch(/metric auc\s+block\s+fail\s+metric "auc" is NaN/);
    expect(keel(['gate', f('policy.json'), f('bad.json'), '--fail-on-fail']).code).toBe(1);
  });

  it('writes --html and --json, and stores the report when a store is given', async () => {
    const store = f('gate-store');
    const seed = createKeel({ backend: fsBackend({ root: store }) });
    await seed.artifacts.put('a store directory exists once something is in it');
    await seed.close();
    const result = keel([
      'gate',
      f('policy.json'),
      f('good.json'),
      '--json',
      '--html',
      f('gate.html'),
      '--store',
      store,
    ]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { decision: string; digest: Digest };
    expect(report.decision).toBe('pass');
    expect(readFileSync(f('gate.html'), 'utf8')).toMatch(/^<!doctype html>/i);
    const k = createKeel({ backend: fsBackend({ root: store }) });
    expect(await k.artifacts.has(report.digest)).toBe(true);
    await k.close();
  });

  it('a malformed policy, evidence that is not JSON or a missing file is exit 2', () => {
    writeFileSync(f('unknown-rule.json'), JSON.stringify({ name: 'x', rules: [{ kind: 'nope' }] }));
    const rule = keel(['gate', f('unknown-rule.json'), f('good.json')]);
    expect(rule.code).toBe(2);
    expect(rule.stderr).toMatch(/\[keel\] invalid gate policy: rules\[0\]\.kind/);
    writeFileSync(f('broken.json'), '{"candidate": ');
    expect(keel(['gate', f('policy.json'), f('broken.json')]).stderr).toMatch(
      /broken\.json is not JSON/,
    );
    expect(keel(['gate', f('policy.json'), f('none.json')]).code).toBe(2);
  });
});

describe('keel gc', () => {
  it('keeps what versions, runs, documents, logs and --keep name; deletes the rest only without --dry-run', async () => {
    writeFileSync(f('keep.txt'), `${digests.kept}\n`);
    const args = [
      'gc',
      '--store',
      f('store'),
      '--min-age-hours',
      '0',
      '--keep',
      f('keep.txt'),
      '--json',
    ];
    const dry = keel([...args, '--dry-run']);
    expect(dry.code).toBe(0);
    const plan = JSON.parse(dry.stdout) as {
      unreferenced: { digest: Digest }[];
      deleted: Digest[];
    };
    expect(plan.unreferenced.map((b) => b.digest)).toEqual([digests.orphan]);
    expect(plan.deleted).toEqual([]);

    // Blobs younger than --min-age-hours (default 24) are never deleted.
    expect(JSON.parse(keel(['gc', '--store', f('store'), '--json']).stdout)).toMatchObject({
      deleted: [],
    });

    const real = JSON.parse(keel(args).stdout) as { deleted: Digest[] };
    expect(real.deleted).toEqual([digests.orphan]);
    const k = createKeel({ backend: fsBackend({ root: f('store') }) });
    for (const name of ['run', 'doc', 'log', 'kept', 'version'] as const) {
      expect(await k.artifacts.has(digests[name]), name).toBe(true);
    }
    expect(await k.artifacts.has(digests.orphan)).toBe(false);
    await k.close();
  });

  it('a --keep file that does not hold digests is exit 2, and nothing is deleted', () => {
    writeFileSync(f('keep-bad.txt'), 'sha256:nothex\n');
    const result = keel(['gc', '--store', f('store'), '--keep', f('keep-bad.txt')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/keep-bad\.txt: entry 1 is not a digest/);
  });
});

describe('keel copy', () => {
  it('copies a store into a new directory; a second copy needs --resume', () => {
    const target = f('copy');
    const result = keel(['copy', '--store', f('store'), '--to', target]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/artifacts:\s+\d+ copied/);
    const runs = (dirName: string) =>
      JSON.parse(keel(['runs', 'search', '--store', dirName, '--json']).stdout).runs.map(
        (r: { id: string }) => r.id,
      );
    expect(runs(target)).toEqual(runs(f('store')));
    expect(keel(['models', 'show', 'churn', '--store', target]).code).toBe(0);
    expect(keel(['audit', 'verify', '--store', target]).code).toBe(0);

    const again = keel(['copy', '--store', f('store'), '--to', target]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('not empty');
    expect(again.stderr).toContain('add --resume');
    const resumed = keel(['copy', '--store', f('store'), '--to', target, '--resume', '--json']);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout).artifacts.copied).toBe(0);
    expect(keel(['copy', '--store', f('store')]).stderr).toContain("required option '--to");
  });
});

describe('keel ui', () => {
  it('serves the UI on 127.0.0.1, prints its URL, and stops on SIGINT with exit 0', async () => {
    ensureBuilt();
    const child = spawn(process.execPath, [keelBin, 'ui', '--store', f('store')], {
      cwd: repoRoot,
      env: { ...process.env, KEEL_STORE: '' },
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /keel ui: (http:\/\/127\.0\.0\.1:\d+\/)\n/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`keel ui exited with ${code}`)));
    });
    const home = await fetch(url);
    expect(home.status).toBe(200);
    expect(home.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await home.text()).toContain('churn');
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('an unknown store is exit 2 before anything listens', () => {
    const result = keel(['ui', '--store', f('missing')]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
  });
});
