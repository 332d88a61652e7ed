/**
 * `keel drift` and `keel profile` through the built executable, on the same data written as
 * CSV, JSON lines, Parquet and Arrow IPC: every reader hands detectDrift the same columns (the
 * reports equal the in-process one), exit codes follow --fail-on-drift, and bad input (missing
 * file, malformed CSV, unsupported column types) is exit 2 with a clear message.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, tableFromJSON, tableToIPC } from 'apache-arrow';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsBackend } from '../../src/fs.js';
import { createKeel, detectDrift } from '../../src/index.js';
import { keel } from './run-cli.js';

const ROWS = 600;
let dir: string;

interface Data {
  /** Floats with missing values (NaN). */
  income: Float64Array;
  /** Whole numbers. */
  age: Float64Array;
  /** Labels. */
  city: (string | null)[];
}

/** Deterministic data; `shift` moves the current table away from the reference. */
function data(shift: number, seed: number): Data {
  let s = seed;
  const next = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const income = new Float64Array(ROWS);
  const age = new Float64Array(ROWS);
  const city: (string | null)[] = [];
  for (let i = 0; i < ROWS; i++) {
    income[i] =
      i % 50 === 7 ? Number.NaN : Math.round((1000 + 500 * next() + shift * 400) * 100) / 100;
    age[i] = 20 + Math.floor(next() * 40) + shift * 5;
    city.push(
      i % 61 === 3
        ? null
        : ['oslo', 'rome', 'lima', 'São Paulo, BR'][Math.floor(next() * (shift ? 4 : 3))]!,
    );
  }
  return { income, age, city };
}

function writeAll(name: string, d: Data): void {
  const missing = (v: number): string => (Number.isNaN(v) ? 'NA' : String(v));
  const quote = (v: string | null): string => (v === null ? '' : v.includes(',') ? `"${v}"` : v);
  const csv = ['income,age,city'];
  const tsv = ['income\tage\tcity'];
  const jsonl: string[] = [];
  for (let i = 0; i < ROWS; i++) {
    csv.push(`${missing(d.income[i]!)},${d.age[i]},${quote(d.city[i]!)}`);
    tsv.push(`${missing(d.income[i]!)}\t${d.age[i]}\t${d.city[i] ?? ''}`);
    const row: Record<string, unknown> = {
      income: Number.isNaN(d.income[i]!) ? null : d.income[i],
      age: d.age[i],
    };
    if (d.city[i] !== null) row.city = d.city[i]; // an absent key is missing too
    jsonl.push(JSON.stringify(row));
  }
  writeFileSync(join(dir, `${name}.csv`), `${csv.join('\r\n')}\r\n`);
  writeFileSync(join(dir, `${name}.tsv`), `${tsv.join('\n')}\n`);
  writeFileSync(join(dir, `${name}.jsonl`), `${jsonl.join('\n')}\n`);
  const incomeWithNulls = Array.from(d.income, (v) => (Number.isNaN(v) ? null : v));
  writeFileSync(
    join(dir, `${name}.parquet`),
    new Uint8Array(
      parquetWriteBuffer({
        columnData: [
          { name: 'income', data: incomeWithNulls, type: 'DOUBLE' },
          { name: 'age', data: Int32Array.from(d.age), type: 'INT32' },
          { name: 'city', data: d.city, type: 'STRING' },
        ],
        rowGroupSize: 250,
      }),
    ),
  );
  const arrow = tableFromArrays({
    income: incomeWithNulls as (number | null)[],
    age: Int32Array.from(d.age),
    city: d.city as string[],
  });
  writeFileSync(join(dir, `${name}.arrow`), tableToIPC(arrow, 'file'));
}

const reference = data(0, 1);
const current = data(1, 2);
const expected = detectDrift(
  { income: reference.income, age: reference.age, city: reference.city },
  { income: current.income, age: current.age, city: current.city },
);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'keel-cli-drift-'));
  writeAll('ref', reference);
  writeAll('cur', current);
  writeAll('same', data(0, 3));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const f = (name: string): string => join(dir, name);

describe('keel drift', () => {
  it.each(['csv', 'tsv', 'jsonl', 'parquet', 'arrow'])(
    'reads %s into the columns detectDrift gets in-process (same report)',
    (format) => {
      const result = keel(['drift', f(`ref.${format}`), f(`cur.${format}`), '--json']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0); // drift, but no --fail-on-drift
      const report = JSON.parse(result.stdout);
      expect(report).toEqual(JSON.parse(JSON.stringify(expected)));
      expect(report.drifted).toBe(true);
      expect(report.columns.income.missing).toEqual({ reference: 12, current: 12 });
    },
  );

  it('mixes formats, prints a table sorted by drift, and exits 1 only with --fail-on-drift', () => {
    const table = keel(['drift', f('ref.parquet'), f('cur.csv')]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^DRIFT: 3 of 3 tested columns drifted/);
    expect(table.stdout).toMatch(
      /COLUMN\s+TYPE\s+METHOD\s+STATISTIC\s+P-VALUE\s+THRESHOLD\s+DRIFTED/,
    );
    expect(table.stdout).toMatch(/city\s+categorical\s+chisquare\s/);
    expect(keel(['drift', f('ref.parquet'), f('cur.csv'), '--fail-on-drift']).code).toBe(1);
    const same = keel(['drift', f('ref.arrow'), f('same.jsonl'), '--fail-on-drift']);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/^no drift: 0 of 3/);
  });

  it('passes --method, --threshold, --correction, --columns and --categorical to detectDrift', () => {
    const result = keel([
      'drift',
      f('ref.csv'),
      f('cur.csv'),
      '--json',
      '--method',
      'psi',
      '--threshold',
      '0.2',
      '--columns',
      'age,city',
      '--categorical',
      'age',
    ]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(Object.keys(report.columns).sort()).toEqual(['age', 'city']);
    expect(report.columns.age).toMatchObject({
      type: 'categorical',
      method: 'psi',
      threshold: 0.2,
    });
    const bh = JSON.parse(
      keel(['drift', f('ref.csv'), f('cur.csv'), '--json', '--correction', 'bh']).stdout,
    );
    expect(bh.correction).toBe('bh');
    expect(keel(['drift', f('ref.csv'), f('cur.csv'), '--correction', 'maybe']).code).toBe(2);
  });

  it('writes a self-contained HTML report with --html', () => {
    const out = f('report.html');
    const result = keel(['drift', f('ref.jsonl'), f('cur.jsonl'), '--html', out]);
    expect(result.code).toBe(0);
    const page = readFileSync(out, 'utf8');
    expect(page).toMatch(/^<!doctype html>/i);
    expect(page).toContain('income');
    expect(page).not.toMatch(/<script[^>]+src=/);
  });

  it('takes a stored profile as the reference: a .json file or an artifact digest', async () => {
    const profilePath = f('ref.profile.json');
    expect(keel(['profile', f('ref.parquet'), '--out', profilePath]).code).toBe(0);
    const fromFile = JSON.parse(keel(['drift', profilePath, f('cur.csv'), '--json']).stdout);
    expect(fromFile.drifted).toBe(true);
    expect(Object.keys(fromFile.columns).sort()).toEqual(['age', 'city', 'income']);

    const store = f('store');
    const k = createKeel({ backend: fsBackend({ root: store }) });
    const { digest } = await k.artifacts.put(readFileSync(profilePath));
    await k.close();
    const fromStore = JSON.parse(
      keel(['drift', digest, f('cur.csv'), '--json', '--store', store]).stdout,
    );
    expect(fromStore).toEqual(fromFile);
    const stdout = keel(['profile', f('ref.csv')]);
    expect(JSON.parse(stdout.stdout)).toMatchObject({ format: 'keel.profile' });
  });
});

describe('keel drift: bad input is exit 2 with a clear message', () => {
  const fails = (args: string[], message: RegExp): void => {
    const result = keel(args);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  };

  it('a missing file, an unknown extension, an unknown column', () => {
    fails(['drift', f('nope.csv'), f('cur.csv')], /cannot read .*nope\.csv: no such file/);
    writeFileSync(f('data.txt'), 'a\n1\n');
    fails(['drift', f('data.txt'), f('cur.csv')], /cannot tell the format .*--format/);
    fails(
      ['drift', f('ref.csv'), f('cur.csv'), '--columns', 'age,height'],
      /has no column "height"; its columns are "income", "age", "city"/,
    );
    fails(['drift', f('ref.csv')], /missing required argument 'current'/);
  });

  it('malformed CSV: a short row, an unclosed quote, an empty file, a duplicate header', () => {
    writeFileSync(f('short.csv'), 'a,b\n1,2\n3\n');
    fails(['drift', f('ref.csv'), f('short.csv')], /short\.csv is not valid CSV \(line 3\)/);
    writeFileSync(f('quote.csv'), 'a,b\n1,"2\n');
    fails(['drift', f('ref.csv'), f('quote.csv')], /quote\.csv is not valid CSV/);
    writeFileSync(f('empty.csv'), '');
    fails(
      ['drift', f('ref.csv'), f('empty.csv')],
      /empty\.csv is empty: a CSV file needs a header row/,
    );
    writeFileSync(f('dup.csv'), 'a,a\n1,2\n');
    fails(['drift', f('ref.csv'), f('dup.csv')], /names column "a" twice/);
  });

  it('unsupported column types: JSON objects, Parquet JSON, Arrow structs; malformed JSON lines', () => {
    writeFileSync(f('object.jsonl'), '{"age": 3, "tags": {"a": 1}}\n');
    fails(['drift', f('ref.jsonl'), f('object.jsonl')], /column "tags" holds an object at line 1/);
    writeFileSync(f('broken.jsonl'), '{"age": 3}\n{"age": \n');
    fails(['drift', f('ref.jsonl'), f('broken.jsonl')], /broken\.jsonl line 2 is not JSON/);
    writeFileSync(f('array.jsonl'), '[1, 2]\n');
    fails(['drift', f('ref.jsonl'), f('array.jsonl')], /line 1 is an array, not an object/);
    writeFileSync(
      f('json.parquet'),
      new Uint8Array(
        parquetWriteBuffer({ columnData: [{ name: 'doc', data: [{ a: 1 }], type: 'JSON' }] }),
      ),
    );
    fails(['drift', f('ref.parquet'), f('json.parquet')], /column "doc" holds JSON values/);
    writeFileSync(f('struct.arrow'), tableToIPC(tableFromJSON([{ s: { a: 1 } }]), 'file'));
    fails(['drift', f('ref.arrow'), f('struct.arrow')], /column "s" holds Struct.* values/);
    writeFileSync(f('fake.parquet'), 'not parquet at all');
    fails(
      ['drift', f('ref.parquet'), f('fake.parquet')],
      /fake\.parquet is not a readable Parquet file/,
    );
    writeFileSync(f('fake.arrow'), 'not arrow at all');
    fails(
      ['drift', f('ref.arrow'), f('fake.arrow')],
      /fake\.arrow is not a readable Arrow IPC file/,
    );
  });

  it('Arrow files without the optional apache-arrow package: exit 2 saying how to install it', () => {
    // A resolve hook makes apache-arrow missing, as in a project that did not install it.
    const hook = `data:text/javascript,${encodeURIComponent(
      'export async function resolve(s, c, next) { if (s === "apache-arrow") { const e = new Error("Cannot find package apache-arrow"); e.code = "ERR_MODULE_NOT_FOUND"; throw e; } return next(s, c); }',
    )}`;
    const register = `data:text/javascript,${encodeURIComponent(
      `import { register } from 'node:module'; register(${JSON.stringify(hook)});`,
    )}`;
    const result = keel(['drift', f('ref.arrow'), f('cur.arrow')], {}, ['--import', register]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/needs the "apache-arrow" package .*npm install apache-arrow/);
    // The other formats do not need it.
    expect(keel(['drift', f('ref.parquet'), f('cur.csv')], {}, ['--import', register]).code).toBe(
      0,
    );
  });

  it('a reference .json that is not a profile, a reserved column name, an unknown method', () => {
    writeFileSync(f('rows.json'), '[{"a": 1}]');
    fails(['drift', f('rows.json'), f('cur.csv')], /rows\.json is not a keel profile/);
    writeFileSync(f('proto.jsonl'), '{"__proto__": 1, "age": 2}\n');
    fails(['drift', f('proto.jsonl'), f('proto.jsonl')], /__proto__/);
    fails(['drift', f('ref.csv'), f('cur.csv'), '--method', 'astrology'], /astrology/);
  });
});
