/**
 * @module
 * Benchmark: `keel drift` (the built executable, a new process each round) on a 1M-row x
 * 20-column Parquet file against another, vs SciPy on the same data in the same run
 * (`/usr/bin/python3` with python3-scipy, a new process each round: read, then per column
 * `wasserstein_distance` / std, keel's default test at this size, or `ks_2samp`). Debian's
 * Python has no Parquet reader (no pyarrow or fastparquet package), so SciPy reads the same
 * values from raw float64 files (`numpy.fromfile`, the cheapest read there is): the comparison
 * gives keel the Parquet decoding to do and SciPy none. Also times keel's Parquet reader and
 * `detectDrift` in-process. Needs `npm run build` first. Run with `npx tsx bench/cli-drift.ts`
 * (`KEEL_BENCH_ROWS` changes the row count).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { readParquet } from '../src/cli/tables/parquet.js';
import { createRandom } from '../src/core/random.js';
import { detectDrift } from '../src/drift/dataset.js';
import { normals } from './_data.js';
import { printTable } from './_table.js';

const ROWS = Number(process.env.KEEL_BENCH_ROWS ?? 1_000_000);
const COLUMNS = 20;
const REPEATS = 3;
const ROW_GROUP = 100_000;
const bin = resolve(import.meta.dirname, '..', 'dist', 'cli.js');
if (!existsSync(bin)) {
  process.stderr.write('dist/cli.js is missing: run npm run build first\n');
  process.exit(1);
}

// Every fifth column drifts (mean +0.2, sd x1.1); the rest are stationary.
const rng = createRandom('bench-cli-drift');
const reference: Record<string, Float64Array> = {};
const current: Record<string, Float64Array> = {};
for (let c = 0; c < COLUMNS; c++) {
  reference[`f${c}`] = normals(rng, ROWS, 0, 1);
  current[`f${c}`] = c % 5 === 0 ? normals(rng, ROWS, 0.2, 1.1) : normals(rng, ROWS, 0, 1);
}

const dir = mkdtempSync(join(tmpdir(), 'keel-bench-cli-'));
const path = (name: string): string => join(dir, name);

function writeParquet(table: Record<string, Float64Array>, file: string): void {
  const buffer = parquetWriteBuffer({
    columnData: Object.entries(table).map(([name, data]) => ({
      name,
      data,
      type: 'DOUBLE' as const,
    })),
    rowGroupSize: ROW_GROUP,
  });
  writeFileSync(path(file), new Uint8Array(buffer));
}

function writeRaw(table: Record<string, Float64Array>, file: string): void {
  const all = new Float64Array(COLUMNS * ROWS);
  for (const [c, col] of Object.values(table).entries()) all.set(col, c * ROWS);
  writeFileSync(path(file), new Uint8Array(all.buffer));
}

const PYTHON = `
import sys, time, json
t0 = time.perf_counter()
import numpy as np
from scipy import stats
method, ref_path, cur_path, cols, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
t1 = time.perf_counter()
ref = np.fromfile(ref_path, dtype=np.float64).reshape(cols, rows)
cur = np.fromfile(cur_path, dtype=np.float64).reshape(cols, rows)
t2 = time.perf_counter()
if method == "ks":
    drifted = sum(stats.ks_2samp(ref[c], cur[c]).pvalue < 0.05 for c in range(cols))
else:
    drifted = sum(stats.wasserstein_distance(ref[c], cur[c]) / max(float(np.std(ref[c])), 0.001) >= 0.1 for c in range(cols))
t3 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "read_ms": (t2 - t1) * 1000, "test_ms": (t3 - t2) * 1000, "drifted": int(drifted)}))
`;

/** Runs a command from Python and reports its CPU time (RUSAGE_CHILDREN: user + system). */
const CPU_OF_CHILD = `
import json, resource, subprocess, sys
before = resource.getrusage(resource.RUSAGE_CHILDREN)
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
after = resource.getrusage(resource.RUSAGE_CHILDREN)
if done.returncode != 0:
    sys.stderr.write(done.stderr.decode()); sys.exit(done.returncode)
cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
print(json.dumps({"cpu_ms": cpu, "stdout": done.stdout.decode()}))
`;

/** Wall and CPU milliseconds of one process, and what it printed. */
function processRun(command: string[]): { wall: number; cpu: number; stdout: string } {
  const t0 = performance.now();
  const out = execFileSync('/usr/bin/python3', ['-c', CPU_OF_CHILD, ...command], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 26,
  });
  const wall = performance.now() - t0;
  const { cpu_ms, stdout } = JSON.parse(out) as { cpu_ms: number; stdout: string };
  return { wall, cpu: cpu_ms, stdout };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median wall and CPU milliseconds of `run` over REPEATS rounds, and its last result. */
function timed<T>(run: () => T): { ms: number; cpu: number; result: T } {
  const walls: number[] = [];
  const cpus: number[] = [];
  let result!: T;
  for (let i = 0; i < REPEATS; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    result = run();
    walls.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1000);
  }
  return { ms: median(walls), cpu: median(cpus), result };
}

/** Median wall and CPU milliseconds of a process over REPEATS rounds, and its last output. */
function timedProcess(command: string[]): { ms: number; cpu: number; stdout: string } {
  const runs = Array.from({ length: REPEATS }, () => processRun(command));
  return {
    ms: median(runs.map((r) => r.wall)),
    cpu: median(runs.map((r) => r.cpu)),
    stdout: runs.at(-1)!.stdout,
  };
}

function keelCli(method?: string): { ms: number; cpu: number; drifted: number } {
  const args = [process.execPath, bin, 'drift', path('ref.parquet'), path('cur.parquet'), '--json'];
  if (method) args.push('--method', method);
  const run = timedProcess(args);
  return { ...run, drifted: (JSON.parse(run.stdout) as { driftedColumns: number }).driftedColumns };
}

interface SciPyRun {
  ms: number;
  cpu: number;
  drifted: number;
  read_ms: number;
  test_ms: number;
  import_ms: number;
}

function scipy(method: string): SciPyRun {
  const run = timedProcess([
    '/usr/bin/python3',
    '-c',
    PYTHON,
    method,
    path('ref.f64'),
    path('cur.f64'),
    String(COLUMNS),
    String(ROWS),
  ]);
  return { ms: run.ms, cpu: run.cpu, ...(JSON.parse(run.stdout) as Omit<SciPyRun, 'ms' | 'cpu'>) };
}

try {
  writeParquet(reference, 'ref.parquet');
  writeParquet(current, 'cur.parquet');
  writeRaw(reference, 'ref.f64');
  writeRaw(current, 'cur.f64');
  const mb = (file: string): string => `${(statSync(path(file)).size / 1e6).toFixed(0)} MB`;
  process.stdout.write(
    `${ROWS} rows x ${COLUMNS} float64 columns; Parquet ${mb('ref.parquet')} per file (row groups of ${ROW_GROUP}, snappy), raw float64 ${mb('ref.f64')} per file\n\n`,
  );

  // In-process split of keel's time: reading the Parquet files, then detectDrift.
  const readWalls: number[] = [];
  const readCpus: number[] = [];
  let refTable: Record<string, ArrayLike<unknown>> = {};
  let curTable: Record<string, ArrayLike<unknown>> = {};
  for (let i = 0; i < REPEATS; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    refTable = (await readParquet(path('ref.parquet'))).table;
    curTable = (await readParquet(path('cur.parquet'))).table;
    readWalls.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    readCpus.push((c.user + c.system) / 1000);
  }
  const read = { ms: median(readWalls), cpu: median(readCpus) };
  const detect = timed(() => detectDrift(refTable, curTable));
  const detectKs = timed(() => detectDrift(refTable, curTable, { method: 'ks' }));

  let sciPyNote = '';
  let sp: SciPyRun | undefined;
  let spKs: SciPyRun | undefined;
  try {
    sp = scipy('wasserstein');
    spKs = scipy('ks');
  } catch (error) {
    sciPyNote = `SciPy not available (${(error as Error).message.split('\n')[0]}); install it with apt-get install -y python3-scipy python3-numpy`;
  }
  const cli = keelCli();
  const cliKs = keelCli('ks');

  const ratio = (a: number, b: number | undefined): string =>
    b === undefined ? 'n/a' : `${(a / b).toFixed(2)}x`;
  const ms = (n: number): string => `${Math.round(n)} ms`;
  const both = (t: { ms: number; cpu: number }): string => `${ms(t.ms)} (CPU ${ms(t.cpu)})`;
  printTable([
    {
      name: `\`keel drift\` process, default test (wasserstein), ${cli.drifted} drifted`,
      figure: both(cli),
      baseline: sp ? `SciPy process ${both(sp)}, ${sp.drifted} drifted` : 'n/a',
      ratio: sp ? `${ratio(cli.ms, sp.ms)} (CPU ${ratio(cli.cpu, sp.cpu)})` : 'n/a',
      goal: '',
    },
    {
      name: `\`keel drift --method ks\` process, ${cliKs.drifted} drifted`,
      figure: both(cliKs),
      baseline: spKs ? `SciPy ks_2samp process ${both(spKs)}, ${spKs.drifted} drifted` : 'n/a',
      ratio: spKs ? `${ratio(cliKs.ms, spKs.ms)} (CPU ${ratio(cliKs.cpu, spKs.cpu)})` : 'n/a',
      goal: '',
    },
    {
      name: 'reading both files (keel: Parquet with hyparquet, in-process)',
      figure: both(read),
      baseline: sp ? `numpy.fromfile of raw float64 ${ms(sp.read_ms)}` : 'n/a',
      ratio: ratio(read.ms, sp?.read_ms),
      goal: '',
    },
    {
      name: 'the tests only (wasserstein, 20 columns, in-process)',
      figure: both(detect),
      baseline: sp ? `SciPy ${ms(sp.test_ms)}` : 'n/a',
      ratio: ratio(detect.ms, sp?.test_ms),
      goal: '',
    },
    {
      name: 'the tests only (ks, 20 columns, in-process)',
      figure: both(detectKs),
      baseline: spKs ? `SciPy ${ms(spKs.test_ms)}` : 'n/a',
      ratio: ratio(detectKs.ms, spKs?.test_ms),
      goal: '',
    },
  ]);
  if (sp) {
    process.stdout.write(
      `\nSciPy process start and imports: ${ms(sp.import_ms)}; wall times are medians of ${REPEATS} rounds, CPU = user + system of the process (RUSAGE_CHILDREN); load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}.\n`,
    );
  }
  if (sciPyNote) process.stdout.write(`\n${sciPyNote}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
