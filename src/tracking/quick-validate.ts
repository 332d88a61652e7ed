/**
 * @module
 * A fast path for validating the options of `startRun` and `end()`, which pipelines call for
 * every step: plain checks instead of zod for the common shapes. It accepts only what the zod
 * schemas of schemas.ts accept (a property test holds it to that) and returns a detached copy
 * as zod does; for anything else it returns `undefined` and the caller lets zod judge and
 * word the error.
 */
import type { Params, Tags } from '../core/schemas.js';
import type { EndRunOptions, LineageRef, StartRunOptions } from './types.js';

/** `opts` copied when it is plainly valid start-run options, else `undefined`. */
export function quickStartRun(opts: unknown): StartRunOptions | undefined {
  if (!isPlainRecord(opts)) return undefined;
  let experiment: string | undefined;
  const out: StartRunOptions = { experiment: '' };
  for (const key of Object.keys(opts)) {
    const value = opts[key];
    if (value === undefined) {
      if (key === 'experiment' || !START_KEYS.has(key)) return undefined;
      continue;
    }
    switch (key) {
      case 'experiment':
        if (!isName(value)) return undefined;
        experiment = value;
        break;
      case 'name':
        if (!isName(value)) return undefined;
        out.name = value;
        break;
      case 'params': {
        const params = quickParams(value);
        if (params === undefined) return undefined;
        out.params = params;
        break;
      }
      case 'tags': {
        const tags = quickTags(value);
        if (tags === undefined) return undefined;
        out.tags = tags;
        break;
      }
      case 'parentRunId':
        if (typeof value !== 'string' || value.length < 1 || value.length > 256) return undefined;
        out.parentRunId = value;
        break;
      case 'captureEnvironment':
        if (typeof value !== 'boolean') return undefined;
        out.captureEnvironment = value;
        break;
      case 'inputs': {
        const refs = quickRefs(value);
        if (refs === undefined) return undefined;
        out.inputs = refs;
        break;
      }
      case 'deferWriteMs':
        if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > 3_600_000)
          return undefined;
        out.deferWriteMs = value as number;
        break;
      default:
        return undefined;
    }
  }
  if (experiment === undefined) return undefined;
  out.experiment = experiment;
  return out;
}

/** `opts` copied when it is plainly valid `end()` options, else `undefined`. */
export function quickEndRun(opts: unknown): EndRunOptions | undefined {
  if (!isPlainRecord(opts)) return undefined;
  const out: EndRunOptions = {};
  for (const key of Object.keys(opts)) {
    const value = opts[key];
    if (value === undefined) {
      if (key !== 'tags' && key !== 'outputs') return undefined;
      continue;
    }
    if (key === 'tags') {
      const tags = quickTags(value);
      if (tags === undefined) return undefined;
      out.tags = tags;
    } else if (key === 'outputs') {
      const refs = quickRefs(value);
      if (refs === undefined) return undefined;
      out.outputs = refs;
    } else return undefined;
  }
  return out;
}

const START_KEYS = new Set([
  'experiment',
  'name',
  'params',
  'tags',
  'parentRunId',
  'captureEnvironment',
  'inputs',
  'deferWriteMs',
]);
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const MAX_REFS = 10_000;

/** An object literal (or null-prototype object) with only enumerable string keys. */
function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  let proto: unknown;
  try {
    proto = Object.getPrototypeOf(value);
  } catch {
    return false; // a proxy: the full validation refuses it with a ValidationError
  }
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Reflect.ownKeys(value);
  for (const key of keys) {
    if (typeof key !== 'string' || key === '__proto__') return false;
    if (!Object.prototype.propertyIsEnumerable.call(value, key)) return false;
  }
  return true;
}

/** nameSchema: 1-256 characters, no control characters, no surrounding whitespace. */
function isName(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length >= 1 &&
    value.length <= 256 &&
    !CONTROL.test(value) &&
    value.trim() === value
  );
}

/** keySchema: 1-250 characters, no control characters, not a reserved name. */
function isKey(value: string): boolean {
  return (
    value.length >= 1 && value.length <= 250 && !CONTROL.test(value) && !RESERVED_KEYS.has(value)
  );
}

function quickParams(value: unknown): Params | undefined {
  if (!isPlainRecord(value)) return undefined;
  const out: Params = {};
  for (const key of Object.keys(value)) {
    const item = value[key];
    if (!isKey(key)) return undefined;
    if (typeof item === 'string') {
      if (item.length > 6000) return undefined;
    } else if (typeof item === 'number') {
      if (!Number.isFinite(item)) return undefined;
    } else if (typeof item !== 'boolean') return undefined;
    out[key] = item;
  }
  return out;
}

function quickTags(value: unknown): Tags | undefined {
  if (!isPlainRecord(value)) return undefined;
  const out: Tags = {};
  for (const key of Object.keys(value)) {
    const item = value[key];
    if (!isKey(key) || typeof item !== 'string' || item.length > 5000) return undefined;
    out[key] = item;
  }
  return out;
}

function quickRefs(value: unknown): LineageRef[] | undefined {
  if (!Array.isArray(value) || value.length > MAX_REFS) return undefined;
  const out: LineageRef[] = [];
  for (let i = 0; i < value.length; i++) {
    const ref: unknown = value[i];
    if (!isPlainRecord(ref)) return undefined;
    const copy: Partial<LineageRef> = {};
    for (const key of Object.keys(ref)) {
      const item = ref[key];
      if (item === undefined && (key === 'name' || key === 'kind')) continue;
      if (key === 'digest') {
        if (typeof item !== 'string' || !DIGEST.test(item)) return undefined;
        copy.digest = item as LineageRef['digest'];
      } else if (key === 'name') {
        if (typeof item !== 'string' || item.length < 1 || item.length > 1000) return undefined;
        copy.name = item;
      } else if (key === 'kind') {
        if (typeof item !== 'string' || !isKey(item)) return undefined;
        copy.kind = item;
      } else return undefined;
    }
    if (copy.digest === undefined) return undefined;
    out.push(copy as LineageRef);
  }
  return out;
}
