/**
 * @module
 * Benchmark: dataset drift on 100 numerical columns x 100 000 rows (reference and current),
 * keel's `detectDrift` against SciPy running per-column `ks_2samp` / `wasserstein_distance` on
 * the same data in the same run (`/usr/bin/python3` with python3-scipy). Goal: under 2 s.
 * Run with `npx tsx bench/drift-dataset.ts`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRandom } from '../src/core/random.js';
import { detectDrift } from '../src/drift/dataset.js';
import { profile } from '../src/drift/profile.js';
import { normals } from './_data.js';

const COLUMNS = 100;
const ROWS = 100_000;
const REPEATS = 3;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Median wall and CPU milliseconds (CPU time is the fairer figure on a shared machine). */
function time(fn: () => unknown): Timing {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

interface Timing {
  wall: number;
  cpu: number;
}

// Every tenth column drifts (mean +0.1, sd x1.1); the rest are stationary.
const rng = createRandom('bench-drift-dataset');
const reference: Record<string, Float64Array> = {};
const current: Record<string, Float64Array> = {};
for (let c = 0; c < COLUMNS; c++) {
  reference[`f${c}`] = normals(rng, ROWS, 0, 1);
  current[`f${c}`] = c % 10 === 0 ? normals(rng, ROWS, 0.1, 1.1) : normals(rng, ROWS, 0, 1);
}

const PYTHON = `
import sys, time, json
import numpy as np
import scipy
from scipy import stats
cols, rows = int(sys.argv[3]), int(sys.argv[4])
ref = np.fromfile(sys.argv[1], dtype=np.float64).reshape(cols, rows)
cur = np.fromfile(sys.argv[2], dtype=np.float64).reshape(cols, rows)
def ks_all():
    return [stats.ks_2samp(ref[c], cur[c]).pvalue for c in range(cols)]
def wd_all():
    return [stats.wasserstein_distance(ref[c], cur[c]) / max(float(np.std(ref[c])), 0.001) for c in range(cols)]
def t(fn):
    wall, cpu = [], []
    for _ in range(${REPEATS}):
        t0 = time.perf_counter(); c0 = time.process_time(); fn()
        cpu.append((time.process_time() - c0) * 1000); wall.append((time.perf_counter() - t0) * 1000)
    return {"wall": sorted(wall)[len(wall) // 2], "cpu": sorted(cpu)[len(cpu) // 2]}
print(json.dumps({"scipy": scipy.__version__, "ks_ms": t(ks_all), "wasserstein_ms": t(wd_all),
                  "ks_drifted": int(sum(p < 0.05 for p in ks_all())),
                  "wasserstein_drifted": int(sum(w >= 0.1 for w in wd_all()))}))
`;

interface SciPyResult {
  scipy: string;
  ks_ms: Timing;
  wasserstein_ms: Timing;
  ks_drifted: number;
  wasserstein_drifted: number;
}

function runSciPy(): SciPyResult | string {
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-'));
  try {
    const write = (table: Record<string, Float64Array>, file: string): string => {
      const all = new Float64Array(COLUMNS * ROWS);
      Object.values(table).forEach((col, c) => {
        all.set(col, c * ROWS);
      });
      const path = join(dir, file);
      writeFileSync(path, new Uint8Array(all.buffer));
      return path;
    };
    const refPath = write(reference, 'ref.f64');
    const curPath = write(current, 'cur.f64');
    const out = execFileSync(
      '/usr/bin/python3',
      ['-c', PYTHON, refPath, curPath, String(COLUMNS), String(ROWS)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 20 },
    );
    return JSON.parse(out) as SciPyResult;
  } catch (error) {
    return `SciPy not available (${(error as Error).message.split('\n')[0]}); install it with apt-get install -y python3-scipy python3-numpy`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const byDefault = detectDrift(reference, current);
const byKs = detectDrift(reference, current, { method: 'ks' });
const keelDefault = time(() => detectDrift(reference, current));
const keelKs = time(() => detectDrift(reference, current, { method: 'ks' }));
const keelBh = time(() =>
  detectDrift(reference, current, { method: 'ks', correction: 'bh', minEffect: 0.1 }),
);
let stored = profile(reference);
const profileMs = time(() => {
  stored = profile(reference);
});
const storedJson = JSON.parse(JSON.stringify(stored));
const keelProfile = time(() => detectDrift(storedJson, current));
const scipy = runSciPy();

const rows: [string, Timing, Timing | undefined, string][] = [];
const sp = typeof scipy === 'string' ? undefined : scipy;
rows.push([
  'detectDrift, default selection (wasserstein on every column)',
  keelDefault,
  sp?.wasserstein_ms,
  `${byDefault.driftedColumns} drifted`,
]);
rows.push(['detectDrift, method ks', keelKs, sp?.ks_ms, `${byKs.driftedColumns} drifted`]);
rows.push([
  'detectDrift, ks + bh + minEffect (ks and wasserstein per column)',
  keelBh,
  sp
    ? { wall: sp.ks_ms.wall + sp.wasserstein_ms.wall, cpu: sp.ks_ms.cpu + sp.wasserstein_ms.cpu }
    : undefined,
  '',
]);
rows.push([
  'detectDrift against a stored exact profile (default selection)',
  keelProfile,
  sp?.wasserstein_ms,
  '',
]);
rows.push(['profile(reference) (one-off)', profileMs, undefined, '']);

process.stdout.write(
  `Dataset drift, ${COLUMNS} numerical columns x ${ROWS.toLocaleString('en')} rows (reference and current, column tables of Float64Array), median of ${REPEATS}.\n` +
    `Baseline: SciPy ${sp ? sp.scipy : '(absent)'} per column in the same run (ks_2samp; wasserstein_distance / std(ref)).\n` +
    'Wall time, and CPU time of the process (steadier when other work shares the machine).\n\n' +
    '| case | keel wall ms | SciPy wall ms | keel / SciPy (wall) | keel CPU ms | SciPy CPU ms | keel / SciPy (CPU) | note |\n' +
    '|---|---:|---:|---:|---:|---:|---:|---|\n',
);
const fmt = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(0));
const ratio = (a: number, b: number | undefined): string =>
  b === undefined ? '-' : `${(a / b).toFixed(2)}x`;
for (const [name, keel, base, note] of rows) {
  process.stdout.write(
    `| ${name} | ${fmt(keel.wall)} | ${fmt(base?.wall)} | ${ratio(keel.wall, base?.wall)} | ` +
      `${fmt(keel.cpu)} | ${fmt(base?.cpu)} | ${ratio(keel.cpu, base?.cpu)} | ${note} |\n`,
  );
}
if (typeof scipy === 'string') process.stdout.write(`\n${scipy}\n`);
else {
  process.stdout.write(
    `\nSciPy verdicts: ks ${scipy.ks_drifted} drifted columns, wasserstein ${scipy.wasserstein_drifted}; ` +
      `keel: ks ${byKs.driftedColumns}, wasserstein ${byDefault.driftedColumns}.\n`,
  );
}
process.stdout.write(
  `Goal: 100 x 100k under 2000 ms: ${keelDefault.wall < 2000 ? 'met' : 'NOT met'} ` +
    `(wall ${keelDefault.wall.toFixed(0)} ms, CPU ${keelDefault.cpu.toFixed(0)} ms).\n`,
);
