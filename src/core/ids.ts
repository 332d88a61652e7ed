/**
 * @module
 * Time-sortable identifiers (ULID layout: 48-bit millisecond time, 80 random bits,
 * Crockford base32), monotonic within one millisecond of one generator.
 */
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { ValidationError } from './errors.js';
import { readProperty } from './validate.js';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * Creates id generators whose ids sort by creation time.
 *
 * @throws {ValidationError} when `clock` has no `now()`.
 */
export function createIdGenerator(clock: Clock = systemClock): () => string {
  if (typeof readProperty(clock, 'now', 'clock') !== 'function') {
    throw new ValidationError('[keel] invalid clock for createIdGenerator: pass { now(): number }');
  }
  let lastTime = -1;
  const lastRandom = new Uint8Array(10);
  return () => {
    const time = clock.now();
    if (time <= lastTime) {
      incrementRandom(lastRandom);
    } else {
      lastTime = time;
      crypto.getRandomValues(lastRandom);
      lastRandom[0]! &= 0x7f; // leaves room to increment within one millisecond
    }
    return encodeTime(Math.max(time, lastTime)) + encodeRandom(lastRandom);
  };
}

/**
 * A fresh time-sortable id from the system clock.
 *
 * Never throws.
 */
export const newId: () => string = createIdGenerator();

function encodeTime(time: number): string {
  let out = '';
  let rest = Math.floor(time);
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

function incrementRandom(bytes: Uint8Array): void {
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = (bytes[i]! + 1) & 0xff;
    if (bytes[i] !== 0) return;
  }
}
