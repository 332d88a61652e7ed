import { describe, expect, it, vi } from 'vitest';
import {
  AbortedError,
  ConflictError,
  IntegrityError,
  isKeelError,
  KeelError,
  NotFoundError,
  PolicyError,
  TimeoutError,
  UnauthorizedError,
  ValidationError,
} from '../../src/core/errors.js';
import { SafeEmitter } from '../../src/core/events.js';
import { createIdGenerator } from '../../src/core/ids.js';
import { parseJsonSafe } from '../../src/core/json.js';
import { ManualClock } from '../../src/testing/manual-clock.js';

describe('errors', () => {
  it.each([
    [ValidationError, 'KEEL_VALIDATION'],
    [NotFoundError, 'KEEL_NOT_FOUND'],
    [ConflictError, 'KEEL_CONFLICT'],
    [IntegrityError, 'KEEL_INTEGRITY'],
    [UnauthorizedError, 'KEEL_UNAUTHORIZED'],
    [PolicyError, 'KEEL_POLICY'],
    [TimeoutError, 'KEEL_TIMEOUT'],
    [AbortedError, 'KEEL_ABORTED'],
  ] as const)('%o has code %s, a name, and chains its cause', (ErrorClass, code) => {
    const cause = new Error('root');
    const error = new ErrorClass('[keel] failed: why; do this', { cause });
    expect(error.code).toBe(code);
    expect(error.name).toBe(ErrorClass.name);
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(KeelError);
    expect(isKeelError(error)).toBe(true);
    expect(isKeelError(error, code)).toBe(true);
    expect(isKeelError(error, 'KEEL_OTHER')).toBe(false);
  });

  it('recognises errors of another copy of keel by the Symbol.for marker', () => {
    const foreign = Object.create({ [Symbol.for('keel.error')]: true }) as object;
    Object.assign(foreign, { code: 'KEEL_CONFLICT', message: 'x' });
    expect(isKeelError(foreign, 'KEEL_CONFLICT')).toBe(true);
    expect(isKeelError(new Error('plain'))).toBe(false);
    expect(isKeelError(null)).toBe(false);
  });
});

describe('SafeEmitter', () => {
  it('keeps emitting when a listener throws or rejects, and reports it', async () => {
    const events = new SafeEmitter<{ tick: { n: number } }>();
    const seen: number[] = [];
    const failures: string[] = [];
    events.on('listener:error', ({ event, error }) =>
      failures.push(`${event}:${(error as Error).message}`),
    );
    events.on('tick', () => {
      throw new Error('sync boom');
    });
    events.on('tick', async () => {
      throw new Error('async boom');
    });
    events.on('tick', ({ n }) => seen.push(n));
    expect(events.emit('tick', { n: 1 })).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(seen).toEqual([1]);
    expect(failures).toEqual(['tick:sync boom', 'tick:async boom']);
  });

  it('survives a throwing listener:error listener', () => {
    const events = new SafeEmitter<{ tick: object }>();
    const spy = vi.fn(() => {
      throw new Error('error listener fails too');
    });
    events.on('listener:error', spy);
    events.on('tick', () => {
      throw new Error('boom');
    });
    expect(() => events.emit('tick', {})).not.toThrow();
    expect(spy).toHaveBeenCalledOnce();
  });
});

describe('ids', () => {
  it('sort by creation time, and stay unique and ordered within one millisecond', () => {
    const clock = new ManualClock(1_700_000_000_000);
    const next = createIdGenerator(clock);
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) {
      if (i % 100 === 0) clock.advance(1);
      ids.push(next());
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]).toMatch(/^[0-9a-hjkmnp-tv-z]{26}$/);
  });

  it('stay ordered when the clock goes backwards', () => {
    const clock = new ManualClock(2_000_000);
    const next = createIdGenerator(clock);
    const a = next();
    clock.set(1_000_000);
    const b = next();
    expect(b > a).toBe(true);
  });
});

describe('parseJsonSafe', () => {
  it('drops __proto__ keys so merges cannot pollute prototypes', () => {
    const value = parseJsonSafe(
      '{"__proto__":{"polluted":true},"a":{"__proto__":{"x":1},"b":2}}',
    ) as Record<string, unknown>;
    Object.assign({}, value, value.a);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(value).toEqual({ a: { b: 2 } });
  });
});

describe('SafeEmitter once and off', () => {
  it('fires a once listener once, also when it throws, and off removes guarded listeners', () => {
    const events = new SafeEmitter<{ tick: { n: number } }>();
    const seen: number[] = [];
    events.once('tick', ({ n }) => seen.push(n));
    events.once('tick', () => {
      throw new Error('once and broken');
    });
    const always = ({ n }: { n: number }): void => {
      seen.push(n * 10);
    };
    events.on('tick', always);
    events.emit('tick', { n: 1 });
    events.emit('tick', { n: 2 });
    events.off('tick', always);
    events.emit('tick', { n: 3 });
    expect(seen).toEqual([1, 10, 20]);
    expect(events.listenerCount('tick')).toBe(0);
  });

  it('passes the context through and counts listeners', () => {
    const events = new SafeEmitter<{ tick: object }>();
    const owner = { calls: 0 };
    events.on(
      'tick',
      function (this: typeof owner) {
        this.calls++;
      },
      owner,
    );
    events.emit('tick', {});
    expect(owner.calls).toBe(1);
    expect(events.listenerCount('tick')).toBe(1);
  });
});
