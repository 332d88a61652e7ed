/**
 * Filesystem backend benchmarks, each against a baseline measured in the same run:
 * - artifact put / stream of a large file (KEEL_BENCH_BYTES, default 1 GiB) against
 *   `sha256sum` plus `cp` of the same file (and `cp` + `sync`, since put fsyncs);
 * - metadata put / get / append ops per second against raw writeFile + rename (with and
 *   without fsync) and readFile + JSON.parse;
 * - the memory adapters against a Map with structuredClone;
 * - `list(prefix, { after, limit: 10 })` over a store of KEEL_BENCH_LIST_KEYS keys (default 1M,
 *   generated once into .bench-tmp/ and reused) against the least a raw walk must do: read the
 *   directories on the way and the 10 files.
 *
 *   npx tsx bench/fs.ts
 *   KEEL_BENCH_BYTES=268435456 npx tsx bench/fs.ts
 *   KEEL_BENCH_PARTS=list npx tsx bench/fs.ts       # only some parts: artifact,metadata,memory,list
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { open, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFsArtifactStore } from '../src/backends/fs/artifact-store.js';
import { createFsMetadataStore } from '../src/backends/fs/metadata-store.js';
import { createMemoryArtifactStore } from '../src/backends/memory/artifact-store.js';
import { createMemoryMetadataStore } from '../src/backends/memory/metadata-store.js';
import { type BenchRow, printTable } from './_table.js';

const BYTES = Number(process.env.KEEL_BENCH_BYTES ?? 1024 ** 3);
const rows: BenchRow[] = [];
const root = mkdtempSync(join(tmpdir(), 'keel-bench-fs-'));

const parts = (process.env.KEEL_BENCH_PARTS ?? 'artifact,metadata,memory,list').split(',');
try {
  if (parts.includes('artifact')) await artifactBench();
  if (parts.includes('metadata')) await metadataBench();
  if (parts.includes('memory')) await memoryBench();
  if (parts.includes('list')) await listBench();
} finally {
  rmSync(root, { recursive: true, force: true });
}

process.stdout.write(
  `Size ${mib(BYTES)} MiB; ratio = keel throughput / baseline throughput (higher is better).\n\n`,
);
printTable(rows);

async function artifactBench(): Promise<void> {
  const source = join(root, 'source.bin');
  await writeSource(source, BYTES);
  const store = createFsArtifactStore({ root: join(root, 'artifacts') });
  let hashCp = Number.POSITIVE_INFINITY;
  let hashCpSync = Number.POSITIVE_INFINITY;
  let hashOnly = Number.POSITIVE_INFINITY;
  let put = Number.POSITIVE_INFINITY;
  let stream = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 2; round++) {
    const copy = join(root, `copy-${round}.bin`);
    const hash = seconds(() => execFileSync('sha256sum', [source]));
    const cp = seconds(() => execFileSync('cp', [source, copy]));
    const sync = seconds(() => execFileSync('sync', [copy]));
    rmSync(copy);
    hashOnly = Math.min(hashOnly, hash);
    hashCp = Math.min(hashCp, hash + cp);
    hashCpSync = Math.min(hashCpSync, hash + cp + sync);

    const started = performance.now();
    const meta = await store.put(createReadStream(source, { highWaterMark: 1 << 20 }));
    put = Math.min(put, (performance.now() - started) / 1000);
    const streamStarted = performance.now();
    let read = 0;
    for await (const chunk of store.stream(meta.digest)) read += chunk.length;
    if (read !== BYTES) throw new Error(`stream returned ${read} bytes, expected ${BYTES}`);
    stream = Math.min(stream, (performance.now() - streamStarted) / 1000);
    await store.delete(meta.digest);
  }
  rows.push(
    throughputRow(
      'artifact put (stream in, hash, fsync)',
      put,
      hashCp,
      'sha256sum + cp',
      '>= 0.8x',
    ),
  );
  rows.push(
    throughputRow(
      'artifact put (stream in, hash, fsync)',
      put,
      hashCpSync,
      'sha256sum + cp + sync',
      'info',
    ),
  );
  rows.push(
    throughputRow('artifact stream (read, verify)', stream, hashCp, 'sha256sum + cp', '>= 0.8x'),
  );
  rows.push(
    throughputRow('artifact stream (read, verify)', stream, hashOnly, 'sha256sum alone', 'info'),
  );
  rmSync(source);
}

async function metadataBench(): Promise<void> {
  const n = 300;
  const raw = join(root, 'raw');
  execFileSync('mkdir', ['-p', raw]);
  const value = {
    name: 'churn',
    version: 7,
    metrics: { auc: 0.91, f1: 0.77 },
    tags: { team: 'ml' },
  };
  const text = JSON.stringify(value);
  const store = createFsMetadataStore({ root: join(root, 'metadata') });
  await store.get('warm/up');
  const revisions = new Map<string, string>();

  // Each contender runs in turn, three times; the best round counts, so that a burst of
  // disk activity from elsewhere penalises keel and the baselines alike.
  const [rawRename, rawDurable, rawRead, rawAppend, put, cas, get, append] = await interleaved([
    [
      n,
      async (i) => {
        const tmp = join(raw, `t-${i}.tmp`);
        await writeFile(tmp, text);
        await rename(tmp, join(raw, `doc-${i % 50}.json`));
      },
    ],
    [
      n,
      async (i) => {
        const tmp = join(raw, `t-${i}.tmp`);
        const handle = await open(tmp, 'wx');
        await handle.writeFile(text);
        await handle.sync();
        await handle.close();
        await rename(tmp, join(raw, `doc-${i % 50}.json`));
        const dir = await open(raw, 'r');
        await dir.sync();
        await dir.close();
      },
    ],
    [
      n * 10,
      async (i) => {
        JSON.parse(await readFile(join(raw, `doc-${i % 50}.json`), 'utf8'));
      },
    ],
    [
      n,
      async (i) => {
        const handle = await open(join(raw, 'log.jsonl'), 'a');
        await handle.writeFile(`${JSON.stringify({ i, value })}\n`);
        await handle.datasync();
        await handle.close();
      },
    ],
    [
      n,
      async (i) => {
        await store.put(`models/m${i % 50}`, value);
      },
    ],
    [
      n,
      async (i) => {
        const key = `cas/m${i % 50}`;
        const { revision } = await store.put(key, value, {
          ifRevision: revisions.get(key) ?? null,
        });
        revisions.set(key, revision);
      },
    ],
    [
      n * 10,
      async (i) => {
        await store.get(`models/m${i % 50}`);
      },
    ],
    [
      n,
      async (i) => {
        await store.append('bench/log', [{ i, value }]);
      },
    ],
  ]);

  rows.push(opsRow('fs metadata put', put!, rawRename!, 'writeFile + rename (no fsync)', 'info'));
  rows.push(
    opsRow(
      'fs metadata put',
      put!,
      rawDurable!,
      'writeFile + fsync + rename + fsync dir',
      '>= 0.5x',
    ),
  );
  rows.push(
    opsRow(
      'fs metadata put with ifRevision (CAS)',
      cas!,
      rawDurable!,
      'writeFile + fsync + rename + fsync dir',
      'info',
    ),
  );
  rows.push(opsRow('fs metadata get', get!, rawRead!, 'readFile + JSON.parse', '>= 0.5x'));
  rows.push(
    opsRow(
      'fs log append (1 entry)',
      append!,
      rawAppend!,
      'open + append + fdatasync + close',
      'info',
    ),
  );
}

/**
 * Pages of 10 out of a large store, in two layouts: keys spread over 1000 directories
 * (`nested/e0000/r000000`), and all in one directory (`flat/r0000000`, how the tracker
 * stores runs). The store is generated once (plain files, no fsync) and kept.
 */
async function listBench(): Promise<void> {
  const keys = Number(process.env.KEEL_BENCH_LIST_KEYS ?? 1_000_000);
  const storeRoot = join(process.cwd(), '.bench-tmp', `list-${keys}`);
  const docs = join(storeRoot, 'docs');
  const perDir = Math.max(1, Math.round(keys / 1000));
  const dirs = Math.ceil(keys / perDir);
  const nestedKey = (i: number) =>
    `nested/e${String(Math.floor(i / perDir)).padStart(4, '0')}/r${String(i % perDir).padStart(6, '0')}`;
  const flatKey = (i: number) => `flat/r${String(i).padStart(7, '0')}`;
  if (!existsSync(join(storeRoot, 'complete'))) {
    const started = performance.now();
    rmSync(storeRoot, { recursive: true, force: true });
    for (let d = 0; d < dirs; d++)
      mkdirSync(join(docs, 'nested', `e${String(d).padStart(4, '0')}`), { recursive: true });
    mkdirSync(join(docs, 'flat'), { recursive: true });
    for (let i = 0; i < keys; i++) {
      for (const key of [nestedKey(i), flatKey(i)]) {
        writeFileSync(
          join(docs, `${key}.json`),
          JSON.stringify({ key, revision: `r${i.toString(36)}`, value: { i } }),
        );
      }
    }
    writeFileSync(join(storeRoot, 'complete'), '');
    process.stdout.write(
      `Generated ${keys} keys in each layout in ${((performance.now() - started) / 1000).toFixed(0)} s (${storeRoot}).\n`,
    );
  }
  const store = createFsMetadataStore({ root: storeRoot });
  await store.get('warm/up');
  const page = async (prefix: string, after?: string): Promise<void> => {
    let n = 0;
    for await (const _ of store.list(
      prefix,
      after === undefined ? { limit: 10 } : { after, limit: 10 },
    ))
      n++;
    if (n !== 10) throw new Error(`listed ${n} documents, expected 10`);
  };
  // The least any walk must do: read the directories on the way, then the 10 documents.
  const raw = async (dirsOnTheWay: string[], first: number, key: (i: number) => string) => {
    for (const dir of dirsOnTheWay) await readdir(join(docs, dir));
    for (let i = first; i < first + 10; i++)
      JSON.parse(await readFile(join(docs, `${key(i)}.json`), 'utf8'));
  };
  const middle = Math.floor(keys / 2);
  const cases: [string, () => Promise<void>, () => Promise<void>, string][] = [
    [
      `fs list first 10 of ${keys} keys in 1000 directories`,
      () => page('nested/'),
      () => raw(['nested', 'nested/e0000'], 0, nestedKey),
      'readdir of the 2 directories on the way + read 10 files',
    ],
    [
      `fs list 10 after a key in the middle, ${keys} keys in 1000 directories`,
      () => page('nested/', nestedKey(middle)),
      () =>
        raw(['nested', nestedKey(middle).split('/').slice(0, 2).join('/')], middle + 1, nestedKey),
      'same',
    ],
    [
      `fs list first 10 of ${keys} keys in one directory`,
      () => page('flat/'),
      () => raw(['flat'], 0, flatKey),
      'readdir of the directory + read 10 files',
    ],
    [
      `fs list 10 after a key in the middle, ${keys} keys in one directory`,
      () => page('flat/', flatKey(middle)),
      () => raw(['flat'], middle + 1, flatKey),
      'same',
    ],
  ];
  for (const [name, keel, baseline, what] of cases) {
    let best = Number.POSITIVE_INFINITY;
    let bestRaw = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 5; round++) {
      let started = performance.now();
      await keel();
      best = Math.min(best, performance.now() - started);
      started = performance.now();
      await baseline();
      bestRaw = Math.min(bestRaw, performance.now() - started);
    }
    rows.push({
      name,
      figure: `${best.toFixed(best < 10 ? 2 : 0)} ms`,
      baseline: `${what}: ${bestRaw.toFixed(bestRaw < 10 ? 2 : 0)} ms`,
      ratio: `${(best / bestRaw).toFixed(2)}x time`,
      goal: 'reads only what it returns',
    });
  }
}

/** Best ops/s of each contender over three interleaved rounds. */
async function interleaved(
  contenders: [number, (i: number) => Promise<void>][],
): Promise<number[]> {
  const best = contenders.map(() => 0);
  for (let round = 0; round < 3; round++) {
    for (const [index, [n, op]] of contenders.entries()) {
      best[index] = Math.max(best[index]!, await opsPerSecond(n, op));
    }
  }
  return best;
}

async function memoryBench(): Promise<void> {
  const n = 200_000;
  const value = {
    name: 'churn',
    version: 7,
    metrics: { auc: 0.91, f1: 0.77 },
    tags: { team: 'ml' },
  };
  const map = new Map<string, unknown>();
  const mapPut = await opsPerSecond(n, async (i) => {
    map.set(`models/m${i % 1000}`, structuredClone(value));
  });
  const mapGet = await opsPerSecond(n, async (i) => {
    structuredClone(map.get(`models/m${i % 1000}`));
  });
  const metadata = createMemoryMetadataStore();
  const put = await opsPerSecond(n, async (i) => {
    await metadata.put(`models/m${i % 1000}`, value);
  });
  const get = await opsPerSecond(n, async (i) => {
    await metadata.get(`models/m${i % 1000}`);
  });
  rows.push(opsRow('memory metadata put', put, mapPut, 'Map.set(structuredClone)', 'info'));
  rows.push(opsRow('memory metadata get', get, mapGet, 'structuredClone(Map.get)', 'info'));

  const artifacts = createMemoryArtifactStore();
  const blob = randomBytes(64 * 1024);
  const m = 5_000;
  const artifactPut = await opsPerSecond(m, async (i) => {
    blob[0] = i & 0xff;
    blob[1] = (i >> 8) & 0xff;
    await artifacts.put(blob);
  });
  const { digest } = await artifacts.put(blob);
  const artifactGet = await opsPerSecond(m, async () => {
    await artifacts.get(digest);
  });
  rows.push({
    name: 'memory artifact put (64 KiB)',
    figure: `${fmt(artifactPut)} ops/s`,
    baseline: '',
    ratio: '',
    goal: 'info',
  });
  rows.push({
    name: 'memory artifact get (64 KiB)',
    figure: `${fmt(artifactGet)} ops/s`,
    baseline: '',
    ratio: '',
    goal: 'info',
  });
}

async function writeSource(path: string, bytes: number): Promise<void> {
  const handle = await open(path, 'w');
  const block = randomBytes(16 * 1024 * 1024);
  for (let written = 0; written < bytes; written += block.length) {
    await handle.write(block, 0, Math.min(block.length, bytes - written));
    block[0] = (block[0]! + 1) & 0xff;
  }
  await handle.close();
  execFileSync('sync', [path]);
}

async function opsPerSecond(n: number, op: (i: number) => Promise<void>): Promise<number> {
  for (let i = 0; i < Math.min(50, n); i++) await op(i);
  const started = performance.now();
  for (let i = 0; i < n; i++) await op(i);
  return n / ((performance.now() - started) / 1000);
}

function seconds(fn: () => unknown): number {
  const started = performance.now();
  fn();
  return (performance.now() - started) / 1000;
}

function throughputRow(
  name: string,
  keelSeconds: number,
  baseSeconds: number,
  baseline: string,
  goal: string,
): BenchRow {
  return {
    name,
    figure: `${fmt(BYTES / 1024 ** 2 / keelSeconds)} MiB/s`,
    baseline: `${baseline}: ${fmt(BYTES / 1024 ** 2 / baseSeconds)} MiB/s`,
    ratio: `${(baseSeconds / keelSeconds).toFixed(2)}x`,
    goal,
  };
}

function opsRow(
  name: string,
  keel: number,
  base: number,
  baseline: string,
  goal: string,
): BenchRow {
  return {
    name,
    figure: `${fmt(keel)} ops/s`,
    baseline: `${baseline}: ${fmt(base)} ops/s`,
    ratio: `${(keel / base).toFixed(2)}x`,
    goal,
  };
}

function fmt(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);
}

function mib(bytes: number): string {
  return (bytes / 1024 ** 2).toFixed(0);
}
