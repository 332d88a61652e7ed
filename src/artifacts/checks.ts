/**
 * @module
 * The rules every ArtifactStore adapter applies to its inputs, written once so that
 * every backend refuses exactly the same inputs.
 */

import { z } from 'zod';
import { assertDigest, type Digest } from '../core/digest.js';
import { parseWith } from '../core/validate.js';
import type { PutOptions } from './types.js';

/** The media type of a blob stored without one. */
export const DEFAULT_MEDIA_TYPE = 'application/octet-stream';

const putOptionsSchema = z
  .object({
    mediaType: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/, 'must look like "type/subtype"')
      .optional(),
    annotations: z
      .record(
        z
          .string()
          .min(1)
          .max(250)
          .refine((k) => k !== '__proto__', 'the key "__proto__" is not allowed'),
        z.string().max(4096),
      )
      .refine((a) => Object.keys(a).length <= 64, 'at most 64 annotations')
      .optional(),
    expectedDigest: z.string().optional(),
  })
  .strict();

/** Normalized put options: defaults filled, everything validated. */
export interface CheckedPutOptions {
  mediaType: string;
  annotations: Record<string, string>;
  expectedDigest?: Digest;
}

/** Validates `put` options (`ValidationError` before anything is written). */
export function checkPutOptions(opts: PutOptions | undefined): CheckedPutOptions {
  const parsed = parseWith(putOptionsSchema, opts ?? {}, 'put options');
  if (parsed.expectedDigest !== undefined) assertDigest(parsed.expectedDigest, 'expectedDigest');
  const checked: CheckedPutOptions = {
    mediaType: parsed.mediaType ?? DEFAULT_MEDIA_TYPE,
    annotations: { ...(parsed.annotations ?? {}) },
  };
  if (parsed.expectedDigest !== undefined) checked.expectedDigest = parsed.expectedDigest as Digest;
  return checked;
}
