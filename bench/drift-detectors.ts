/**
 * @module
 * Benchmark: KS and Wasserstein on 1M vs 1M normals, keel against SciPy on the same data in
 * the same run (`/usr/bin/python3` with python3-scipy). Run with `npx tsx bench/drift-detectors.ts`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ks, wasserstein } from '../src/drift/detectors.js';
import { numericSample } from '../src/drift/sample.js';

const N = 1_000_000;
const REPEATS = 5;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function time(fn: () => unknown): number {
  const times: number[] = [];
  fn();
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

const PYTHON = `
import sys, time, json
import numpy as np
from scipy import stats
ref = np.fromfile(sys.argv[1], dtype=np.float64)
cur = np.fromfile(sys.argv[2], dtype=np.float64)
def t(fn):
    fn()
    out = []
    for _ in range(${REPEATS}):
        t0 = time.perf_counter(); fn(); out.append((time.perf_counter() - t0) * 1000)
    return sorted(out)[len(out) // 2]
ks = stats.ks_2samp(ref, cur)
wd = stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)
print(json.dumps({
  "scipy": __import__("scipy").__version__,
  "ks_ms": t(lambda: stats.ks_2samp(ref, cur)),
  "wasserstein_ms": t(lambda: stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)),
  "ks": [float(ks.statistic), float(ks.pvalue)], "wasserstein": float(wd)}))
`;

import { createRandom } from '../src/core/random.js';
import { normals } from './_data.js';

interface SciPyTimes {
  scipy: string;
  ks_ms: number;
  wasserstein_ms: number;
  ks: [number, number];
  wasserstein: number;
}

function runSciPy(ref: Float64Array, cur: Float64Array): SciPyTimes | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-'));
  try {
    const a = join(dir, 'ref.f64');
    const b = join(dir, 'cur.f64');
    writeFileSync(a, new Uint8Array(ref.buffer));
    writeFileSync(b, new Uint8Array(cur.buffer));
    const out = execFileSync('/usr/bin/python3', ['-c', PYTHON, a, b], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return JSON.parse(out) as SciPyTimes;
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ref = normals(createRandom('bench-drift-reference'), N, 0, 1);
const cur = normals(createRandom('bench-drift-current'), N, 0.01, 1);
const ksResult = ks.test(ref, cur);
const wdResult = wasserstein.test(ref, cur);
const keelKs = time(() => ks.test(ref, cur));
const keelWd = time(() => wasserstein.test(ref, cur));
const shared = { r: numericSample(ref, 'r'), c: numericSample(cur, 'c') };
const keelKsShared = time(() => ks.testSamples(shared.r, shared.c));
const keelWdShared = time(() => wasserstein.testSamples(shared.r, shared.c));
const scipy = runSciPy(ref, cur);

const fmt = (x: number): string => x.toFixed(1);
console.log(
  `## Drift detectors: ${N.toLocaleString('en')} vs ${N.toLocaleString('en')} normals (median of ${REPEATS})\n`,
);
if (!scipy) {
  console.log(
    'SciPy is not installed for /usr/bin/python3 (apt-get install -y python3-scipy python3-numpy); absolute times only.\n',
  );
  console.log('| method | keel (ms) | keel, samples prepared once (ms) |');
  console.log('|---|---|---|');
  console.log(`| ks | ${fmt(keelKs)} | ${fmt(keelKsShared)} |`);
  console.log(`| wasserstein | ${fmt(keelWd)} | ${fmt(keelWdShared)} |`);
} else {
  console.log(
    `Baseline: SciPy ${scipy.scipy} on the same data in the same run (time of the SciPy call only).\n`,
  );
  console.log(
    '| method | keel (ms) | SciPy (ms) | keel / SciPy | keel, samples prepared once (ms) | ratio |',
  );
  console.log('|---|---|---|---|---|---|');
  console.log(
    `| ks | ${fmt(keelKs)} | ${fmt(scipy.ks_ms)} | ${(keelKs / scipy.ks_ms).toFixed(2)}x | ${fmt(keelKsShared)} | ${(keelKsShared / scipy.ks_ms).toFixed(2)}x |`,
  );
  console.log(
    `| wasserstein | ${fmt(keelWd)} | ${fmt(scipy.wasserstein_ms)} | ${(keelWd / scipy.wasserstein_ms).toFixed(2)}x | ${fmt(keelWdShared)} | ${(keelWdShared / scipy.wasserstein_ms).toFixed(2)}x |`,
  );
  console.log(
    `\nSame results: ks D ${ksResult.statistic} vs ${scipy.ks[0]}, p ${ksResult.pValue} vs ${scipy.ks[1]}; ` +
      `wasserstein ${wdResult.statistic} vs ${scipy.wasserstein}.`,
  );
}
