import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/errors.js';
import { createRandom } from '../../src/core/random.js';
import { Adwin } from '../../src/drift/streaming/adwin.js';
import { Ddm } from '../../src/drift/streaming/ddm.js';
import { Eddm } from '../../src/drift/streaming/eddm.js';
import { HddmA } from '../../src/drift/streaming/hddm-a.js';
import { HddmW } from '../../src/drift/streaming/hddm-w.js';
import { Kswin } from '../../src/drift/streaming/kswin.js';
import { PageHinkley } from '../../src/drift/streaming/page-hinkley.js';
import { PythonRandom } from '../../src/drift/streaming/python-random.js';
import type { StreamingDetector } from '../../src/drift/streaming/types.js';

interface Trace {
  stream: 'binary_stream' | 'numeric_stream';
  drift_indices: number[];
  warning_indices: number[];
}
interface Traces {
  binary_stream: { values: number[] };
  numeric_stream: { values: number[] };
  all_detections_defaults: Record<string, Trace>;
  docstring_validation: Record<string, { got: [string, number][] }>;
}

const traces = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../fixtures/drift/streaming_traces.json', import.meta.url)),
    'utf8',
  ),
) as Traces;

interface WindowTraces {
  river_version: string;
  docstring_validation: Record<string, { got: number[]; expected_from_river: number[] }>;
  streams: Record<string, { values: number[] }>;
  adwin: Record<
    string,
    {
      params: Record<string, number>;
      stream: string;
      drift_indices: number[];
      width_estimation_every_250: [number, number, number][];
      older_river_loop_drift_indices: number[];
    }
  >;
  kswin: Record<
    string,
    {
      params: Record<string, number>;
      stream: string;
      drift_indices: number[];
      statistic_pvalue_every_97: [number, number, number][];
    }
  >;
  python_random: {
    getrandbits32: Record<string, number[]>;
    sample: { seed: number; n: number; k: number; values: number[] }[];
  };
}

const windowTraces = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../fixtures/drift/adwin_kswin_traces.json', import.meta.url)),
    'utf8',
  ),
) as WindowTraces;

/** River's snake_case parameter names as keel's camelCase options. */
function camel(params: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(params).map(([k, v]) => [
      k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
      v,
    ]),
  );
}

function run(detector: StreamingDetector, stream: readonly number[]) {
  const drifts: number[] = [];
  const warnings: number[] = [];
  stream.forEach((x, i) => {
    const { drift, warning } = detector.update(x);
    expect(drift).toBe(detector.driftDetected);
    expect(warning).toBe(detector.warningDetected);
    if (drift) drifts.push(i);
    if (warning) warnings.push(i);
  });
  return { drifts, warnings };
}

const cases: [string, () => StreamingDetector][] = [
  ['DDM', () => new Ddm()],
  ['EDDM', () => new Eddm()],
  ['EDDM_alpha0.8_beta0.75', () => new Eddm({ alpha: 0.8, beta: 0.75 })],
  ['HDDM_A', () => new HddmA()],
  ['HDDM_A_two_sided', () => new HddmA({ twoSidedTest: true })],
  ['HDDM_W', () => new HddmW()],
  ['PageHinkley_both', () => new PageHinkley()],
  ['PageHinkley_up', () => new PageHinkley({ mode: 'up' })],
];

describe('streaming detectors reproduce the River traces', () => {
  for (const [name, make] of cases) {
    it(`${name}: drift and warning indices`, () => {
      const trace = traces.all_detections_defaults[name]!;
      const got = run(make(), traces[trace.stream].values);
      expect(got.drifts).toEqual(trace.drift_indices);
      expect(got.warnings).toEqual(trace.warning_indices);
    });
  }

  it('ADWIN matches River docstring: change at index 1023 on the numeric stream', () => {
    const got = run(new Adwin(), traces.numeric_stream.values);
    expect(got.drifts).toEqual([1023]);
    expect(got.warnings).toEqual([]);
  });

  it('PageHinkley mode down misses the upward shift that up and both detect', () => {
    expect(run(new PageHinkley({ mode: 'down' }), traces.numeric_stream.values).drifts).toEqual([]);
  });
});

describe('ADWIN follows River 0.24+ (every bucket entry is a candidate cut)', () => {
  it("the Python port reproduces River's docstring and regression-test indices", () => {
    for (const [name, check] of Object.entries(windowTraces.docstring_validation)) {
      expect(check.got, name).toEqual(check.expected_from_river);
    }
  });

  it("River's canonical streams: [1023] and [1023, 2015, 3007], not the older loop's 1055 and 2047", () => {
    const { streams } = windowTraces;
    expect(run(new Adwin(), streams.numpy!.values).drifts).toEqual([1023]);
    expect(run(new Adwin(), streams.four_segments!.values).drifts).toEqual([1023, 2015, 3007]);
    expect(run(new Adwin(), streams.docstring!.values).drifts).toEqual([1023]);
  });

  for (const [name, trace] of Object.entries(windowTraces.adwin)) {
    it(`${name}: drift indices, width and estimation as River`, () => {
      const adwin = new Adwin(camel(trace.params));
      const drifts: number[] = [];
      const checkpoints: [number, number, number][] = [];
      windowTraces.streams[trace.stream]!.values.forEach((x, i) => {
        if (adwin.update(x).drift) drifts.push(i);
        if (i % 250 === 249) checkpoints.push([i, adwin.width, adwin.estimation]);
      });
      expect(drifts).toEqual(trace.drift_indices);
      expect(checkpoints).toEqual(trace.width_estimation_every_250);
    });
  }
});

describe("KSWIN with sampling: river reproduces River's KSWIN(seed=...)", () => {
  it("River's docstring: a change at index 1016 with alpha 0.0001 and seed 42", () => {
    const stream = windowTraces.streams.docstring!.values;
    expect(run(new Kswin({ alpha: 0.0001, seed: 42, sampling: 'river' }), stream).drifts).toEqual([
      1016,
    ]);
  });

  for (const [name, trace] of Object.entries(windowTraces.kswin)) {
    it(`${name}: drift indices, statistics and p-values as River`, () => {
      const kswin = new Kswin({ ...camel(trace.params), sampling: 'river' });
      const drifts: number[] = [];
      const tests: [number, number, number][] = [];
      windowTraces.streams[trace.stream]!.values.forEach((x, i) => {
        const r = kswin.update(x);
        if (r.drift) drifts.push(i);
        if (i % 97 === 96) tests.push([i, r.statistic, r.pValue]);
      });
      expect(drifts).toEqual(trace.drift_indices);
      expect(tests.length).toBe(trace.statistic_pvalue_every_97.length);
      tests.forEach(([i, d, p], t) => {
        const [ri, rd, rp] = trace.statistic_pvalue_every_97[t]!;
        expect(i).toBe(ri);
        expect(d).toBe(rd);
        // SciPy's p-values, to the tolerance of the detector tests
        expect(Math.abs(p - rp)).toBeLessThanOrEqual(1e-9 * Math.max(rp, 1e-300));
      });
    });
  }

  it('refuses a non-integer seed with river sampling', () => {
    for (const seed of ['abc', 1.5]) {
      let error: unknown;
      try {
        new Kswin({ sampling: 'river', seed });
      } catch (e) {
        error = e;
      }
      expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
      expect(String(error)).toMatch(/integer seed/);
    }
  });
});

describe("PythonRandom reproduces CPython's random.Random", () => {
  it('getrandbits(32): the Mersenne Twister seeded by init_by_array, for small, large and negative seeds', () => {
    for (const [seed, values] of Object.entries(windowTraces.python_random.getrandbits32)) {
      const r = new PythonRandom(Number(seed));
      expect(
        values.map(() => r.getrandbits(32)),
        `seed ${seed}`,
      ).toEqual(values);
    }
  });

  it('sample(range(n), k): both strategies (pool and set of selections) and their boundary', () => {
    for (const { seed, n, k, values } of windowTraces.python_random.sample) {
      expect(new PythonRandom(seed).sample(n, k), `seed ${seed}, n ${n}, k ${k}`).toEqual(values);
    }
  });

  it('getrandbits(k) takes the top k bits of one output, or two words above 32 bits', () => {
    const words = windowTraces.python_random.getrandbits32['42']!;
    const r = new PythonRandom(42);
    expect(r.getrandbits(8)).toBe(words[0]! >>> 24);
    expect(r.getrandbits(40)).toBe((words[2]! >>> 24) * 2 ** 32 + words[1]!);
    expect(r.getrandbits(0)).toBe(0);
    expect(() => new PythonRandom(0.5)).toThrow(/integer/);
  });
});

describe('reset after a drift, as River', () => {
  it('the update after a drift starts from a fresh state', () => {
    const stream = traces.numeric_stream.values;
    const ph = new PageHinkley();
    let at = -1;
    for (let i = 0; i < stream.length && at < 0; i++) if (ph.update(stream[i]!).drift) at = i;
    expect(at).toBe(1006);
    const fresh = new PageHinkley();
    for (let i = at + 1; i < stream.length; i++) {
      expect(ph.update(stream[i]!)).toEqual(fresh.update(stream[i]!));
    }
  });

  it('reset() forgets the stream', () => {
    const ddm = new Ddm();
    for (const x of traces.binary_stream.values.slice(0, 1400)) ddm.update(x);
    ddm.reset();
    expect(ddm.driftDetected).toBe(false);
    expect(ddm.warningDetected).toBe(false);
    const fresh = new Ddm();
    for (const x of traces.binary_stream.values) expect(ddm.update(x)).toEqual(fresh.update(x));
  });
});

describe('ADWIN', () => {
  it('detects a clear shift promptly and shrinks its window to the new regime', () => {
    const rng = createRandom('adwin-shift');
    const adwin = new Adwin();
    const drifts: number[] = [];
    for (let i = 0; i < 4000; i++) {
      const x = (i < 2000 ? 0 : 1) + 0.3 * gaussian(rng);
      if (adwin.update(x).drift) drifts.push(i);
    }
    expect(drifts.length).toBeGreaterThan(0);
    expect(drifts[0]).toBeGreaterThanOrEqual(2000);
    expect(drifts[0]).toBeLessThan(2100);
    expect(adwin.estimation).toBeCloseTo(1, 1);
  });

  it('stays silent on a stationary stream', () => {
    const rng = createRandom('adwin-stationary');
    const adwin = new Adwin();
    for (let i = 0; i < 20_000; i++) expect(adwin.update(gaussian(rng)).drift).toBe(false);
    expect(adwin.width).toBeGreaterThan(10_000);
  });
});

describe('KSWIN', () => {
  it('detects the shift of the River docstring stream promptly', () => {
    // River's docstring (alpha 0.0001, its own seed) reports index 1016; keel's sampler differs.
    const got = run(new Kswin({ alpha: 0.0001, seed: 42 }), traces.numeric_stream.values);
    expect(got.drifts.length).toBeGreaterThan(0);
    expect(got.drifts[0]).toBeGreaterThanOrEqual(1000);
    expect(got.drifts[0]).toBeLessThan(1040);
    expect(got.warnings).toEqual([]);
  });

  it('detects a clear shift on a continuous stream and stays silent on a stationary one', () => {
    // Every update is a test, so River advises alpha well below 0.01; at the default 0.005 a
    // stationary stream raises an alarm every few thousand values.
    const rng = createRandom('kswin-shift');
    const kswin = new Kswin({ alpha: 0.0001 });
    const drifts: number[] = [];
    for (let i = 0; i < 3000; i++) {
      if (kswin.update((i < 1500 ? 0 : 2) + gaussian(rng)).drift) drifts.push(i);
    }
    expect(drifts[0]).toBeGreaterThanOrEqual(1500);
    expect(drifts[0]).toBeLessThan(1530);
    const quiet = new Kswin({ alpha: 0.0001 });
    const calm = createRandom('kswin-calm');
    let alarms = 0;
    // stationary: false alarms stay at the rate alpha promises (about 1 in 10 000 updates)
    for (let i = 0; i < 10_000; i++) if (quiet.update(gaussian(calm)).drift) alarms++;
    expect(alarms).toBeLessThanOrEqual(3);
  });

  it('is reproducible for a seed, reports its last test, and resets after a drift', () => {
    const stream = traces.numeric_stream.values;
    const a = run(new Kswin({ seed: 7 }), stream);
    const b = run(new Kswin({ seed: 7 }), stream);
    expect(a).toEqual(b);
    const k = new Kswin({ windowSize: 10, statSize: 3 });
    for (let i = 0; i < 9; i++)
      expect(k.update(i)).toMatchObject({ drift: false, pValue: 0, statistic: 0 });
    const full = k.update(9);
    expect(full.pValue).toBeGreaterThan(0);
    expect(full.statistic).toBeGreaterThan(0);
    const primed = new Kswin({ window: Array.from({ length: 99 }, () => 0) });
    expect(primed.update(0).pValue).toBe(1);
  });

  it('validates its options', () => {
    expect(() => new Kswin({ statSize: 60, windowSize: 100 })).toThrow(/twice statSize/);
    expect(() => new Kswin({ alpha: 0 })).toThrow();
  });
});

describe('bad input', () => {
  it('binary detectors refuse values other than 0/1', () => {
    for (const d of [new Ddm(), new Eddm()]) {
      expect(() => d.update(0.5)).toThrow(/expected 0\/1/);
      expect(() => d.update(Number.NaN)).toThrow();
    }
    expect(new Ddm().update(true).drift).toBe(false);
  });

  it('HDDM refuses values outside [0, 1]', () => {
    expect(() => new HddmA().update(2)).toThrow(/\[0, 1\]/);
    expect(() => new HddmW().update(-0.1)).toThrow(/\[0, 1\]/);
  });

  it('numeric detectors refuse NaN and infinities', () => {
    expect(() => new PageHinkley().update(Number.NaN)).toThrow(/finite number/);
    expect(() => new Adwin().update(Number.POSITIVE_INFINITY)).toThrow(/finite number/);
  });

  it('invalid options are ValidationErrors', () => {
    const attempts = [
      () => new PageHinkley({ threshold: -1 }),
      () => new Ddm({ warningThreshold: 4, driftThreshold: 3 }),
      () => new Eddm({ alpha: 1.5 }),
      () => new HddmA({ driftConfidence: 0 }),
      () => new HddmW({ lambda: 1 }),
      () => new Adwin({ delta: 2 }),
    ];
    for (const attempt of attempts) {
      let error: unknown;
      try {
        attempt();
      } catch (e) {
        error = e;
      }
      expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
    }
  });
});

function gaussian(rng: { next(): number }): number {
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
