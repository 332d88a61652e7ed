/**
 * Registry benchmarks: resolve() (the serving hot path) on memory and fs against a plain
 * Map lookup, and registerVersion throughput against raw metadata puts, in the same run.
 *
 *   npx tsx bench/registry.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../src/backends/backend.js';
import { fsBackend } from '../src/backends/fs/backend.js';
import { memoryBackend } from '../src/backends/memory/backend.js';
import { createKeel } from '../src/keel.js';
import { createRegistry } from '../src/registry/registry.js';
import type { ModelVersion } from '../src/registry/types.js';
import { type BenchRow, printTable } from './_table.js';

const rows: BenchRow[] = [];
const root = mkdtempSync(join(tmpdir(), 'keel-bench-registry-'));

try {
  const mapAsync = await mapBaseline();
  await resolveBench('memory', memoryBackend(), mapAsync, 1, 1_000_000);
  await resolveBench('fs', fsBackend({ root: join(root, 'resolve') }), mapAsync, 50, 0);
  await registerBench('memory', () => memoryBackend(), 2_000);
  await registerBench('memory', () => memoryBackend(), 2_000, 'a key of at least 16 bytes');
  await registerBench('fs', () => fsBackend({ root: join(root, `register-${Date.now()}`) }), 200);
  await gatedBench(500);
} finally {
  rmSync(root, { recursive: true, force: true });
}

printTable(rows);

/** ns per awaited call of an async function returning Map.get: the floor of any async lookup. */
async function mapBaseline(): Promise<number> {
  const map = new Map<string, { version: number }>([['churn\u0000production', { version: 1 }]]);
  const get = async (key: string) => map.get(key);
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const n = 1_000_000;
    const start = performance.now();
    for (let i = 0; i < n; i++) await get('churn\u0000production');
    best = Math.min(best, ((performance.now() - start) * 1e6) / n);
  }
  return best;
}

/**
 * Mean ns per resolve(). On fs the loop runs for 3 s so the 250 ms revalidations (one
 * document read each) are included in the mean, as a serving process would pay them.
 */
async function resolveBench(
  name: string,
  backend: Backend,
  baselineNs: number,
  goalUs: number,
  calls: number,
): Promise<void> {
  const registry = createRegistry(backend);
  const { digest } = await backend.artifacts.put('weights');
  await registry.registerVersion('churn', { artifact: digest });
  await registry.setAlias('churn', 'production', 1);
  let sink: ModelVersion | undefined;
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    let n = 0;
    const start = performance.now();
    if (calls > 0) {
      for (; n < calls; n++) sink = await registry.resolve('churn', 'production');
    } else {
      const until = start + 3_000;
      while (performance.now() < until) {
        for (let i = 0; i < 1000; i++) sink = await registry.resolve('churn', 'production');
        n += 1000;
      }
    }
    best = Math.min(best, ((performance.now() - start) * 1e6) / n);
  }
  if (sink?.version !== 1) throw new Error('resolve returned the wrong version');
  rows.push({
    name: `resolve() on ${name}${calls > 0 ? '' : ' (3 s, incl. 250 ms revalidation)'}`,
    figure: `${best.toFixed(0)} ns/call`,
    baseline: `${baselineNs.toFixed(0)} ns/call (await async Map.get)`,
    ratio: `${(best / baselineNs).toFixed(2)}x`,
    goal: `<= ${goalUs} us (${best <= goalUs * 1000 ? 'met' : 'missed'})`,
  });
  await backend.close?.();
}

/** registerVersion per second against raw `put(..., { ifRevision: null })` of the same document. */
async function registerBench(
  name: string,
  make: () => Backend,
  n: number,
  auditKey?: string,
): Promise<void> {
  const raw = make();
  const doc = {
    model: 'churn',
    artifact: { digest: 'x', size: 1, mediaType: 'y' },
    status: 'ready',
  };
  let start = performance.now();
  for (let i = 1; i <= n; i++)
    await raw.metadata.put(`raw/churn/${i}`, { ...doc, version: i }, { ifRevision: null });
  const rawPerSec = n / ((performance.now() - start) / 1000);
  await raw.close?.();

  const backend = make();
  const registry = createRegistry({ ...backend, ...(auditKey === undefined ? {} : { auditKey }) });
  const { digest } = await backend.artifacts.put('weights');
  start = performance.now();
  for (let i = 0; i < n; i++)
    await registry.registerVersion('churn', { artifact: digest, metrics: { auc: 0.9 } });
  const perSec = n / ((performance.now() - start) / 1000);
  const verified = await registry.verifyAudit();
  if (!verified.ok || verified.entries !== n + 1) throw new Error('audit chain did not verify');
  rows.push({
    name: `registerVersion on ${name} (${n} versions, each audited${auditKey ? ', with auditKey' : ''})`,
    figure: `${perSec.toFixed(0)} /s`,
    baseline: `${rawPerSec.toFixed(0)} /s (one raw create-only put)`,
    ratio: `${(perSec / rawPerSec).toFixed(2)}x`,
    goal: 'reported',
  });
  await backend.close?.();
}

/**
 * setAlias per second on memory under `requireGate: { policy }` (the report re-read, its
 * policy and evidence re-read and judged again) against the same moves without a gate.
 */
async function gatedBench(n: number): Promise<void> {
  const policy = { name: 'release', rules: [{ kind: 'metric' as const, metric: 'auc', min: 0.8 }] };
  const rate = async (gated: boolean): Promise<number> => {
    const keel = createKeel({
      backend: memoryBackend(),
      aliasPolicies: gated ? [{ alias: 'production', requireGate: { policy } }] : [],
    });
    const { digest } = await keel.artifacts.put('weights');
    const a = await keel.registry.registerVersion('churn', {
      artifact: digest,
      metrics: { auc: 0.9 },
    });
    const b = await keel.registry.registerVersion('churn', {
      artifact: digest,
      metrics: { auc: 0.9 },
    });
    const reports = await Promise.all(
      [a, b].map((v) =>
        keel.gates.evaluate(
          policy,
          { candidate: { metrics: v.metrics } },
          {
            subject: { model: 'churn', version: v.version },
          },
        ),
      ),
    );
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      await keel.registry.setAlias('churn', 'production', 1 + (i % 2), {
        evidence: reports[i % 2]!,
      });
    }
    return n / ((performance.now() - start) / 1000);
  };
  const plain = await rate(false);
  const gated = await rate(true);
  rows.push({
    name: `setAlias on memory with requireGate: { policy } (${n} moves, each report judged again)`,
    figure: `${gated.toFixed(0)} /s`,
    baseline: `${plain.toFixed(0)} /s (same moves, evidence checked without a gate)`,
    ratio: `${(gated / plain).toFixed(2)}x`,
    goal: 'reported',
  });
}
