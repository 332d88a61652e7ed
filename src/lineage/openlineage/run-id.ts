/**
 * @module
 * keel run ids as OpenLineage run ids: a keel run id is a ULID (128 bits in 26 Crockford
 * base32 characters), so the same 128 bits written as a UUID give a deterministic,
 * reversible mapping: START and COMPLETE share it, and any later event can recompute it.
 */
import { ValidationError } from '../../core/errors.js';
import { describeValue } from '../../core/validate.js';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const RUN_ID = /^[0-7][0-9a-hjkmnp-tv-z]{25}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX = '0123456789abcdef';
/** Character code -> base32 value (the pattern above admits only ALPHABET's characters). */
const DECODE = new Uint8Array(128);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/**
 * The OpenLineage `runId` (a UUID) of a keel run: the run id's 128 bits in UUID notation.
 * The mapping is one to one; {@link keelRunIdOf} reverses it.
 *
 * @example
 * ```ts
 * openLineageRunId('01j9zq3k5m7n8p9q0r1s2t3v4w'); // '01927f71-a6a3-...' (always the same)
 * ```
 * @throws {ValidationError} when `runId` is not a keel run id (26 characters of ULID base32).
 */
export function openLineageRunId(runId: string): string {
  if (typeof runId !== 'string' || !RUN_ID.test(runId)) {
    throw new ValidationError(
      `[keel] cannot map ${describeValue(runId)} to an OpenLineage run id: pass a keel run id (Run.id, 26 base32 characters)`,
    );
  }
  let hex = '';
  // 26 characters carry 130 bits; the first (0-7) holds only the top 3 of the 128
  let buffer = DECODE[runId.charCodeAt(0)]!;
  let bits = 3;
  for (let i = 1; i < runId.length; i++) {
    buffer = (buffer << 5) | DECODE[runId.charCodeAt(i)]!;
    bits += 5;
    while (bits >= 4) {
      bits -= 4;
      hex += HEX[(buffer >>> bits) & 0xf];
    }
    buffer &= (1 << bits) - 1;
  }
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The keel run id an OpenLineage `runId` from keel stands for (the inverse of
 * {@link openLineageRunId}).
 *
 * @throws {ValidationError} when `uuid` is not a lower- or upper-case UUID.
 */
export function keelRunIdOf(uuid: string): string {
  if (typeof uuid !== 'string' || !UUID.test(uuid.toLowerCase())) {
    throw new ValidationError(
      `[keel] ${describeValue(uuid)} is not a UUID: pass an OpenLineage runId emitted by keel`,
    );
  }
  const hex = uuid.toLowerCase().replaceAll('-', '');
  // 128 bits = 3 + 25 * 5: the first character holds the top 3 bits
  let out = ALPHABET[Number.parseInt(hex[0]!, 16) >>> 1]!;
  let buffer = Number.parseInt(hex[0]!, 16) & 1;
  let bits = 1;
  for (let i = 1; i < hex.length; i++) {
    buffer = (buffer << 4) | Number.parseInt(hex[i]!, 16);
    bits += 4;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}
