/**
 * @module
 * The base path an HTTP handler is mounted under (keel/ui, keel/mlflow): its option schema, its
 * normal form, and a request path made relative to it.
 */
import { z } from 'zod';

/** A URL path option such as `/keel`; `example` names one in the refusal. */
export function basePathOption(example: string): z.ZodOptional<z.ZodString> {
  return z
    .string()
    .regex(/^\/?([A-Za-z0-9._~!$&'()*+,;=:@-]+\/?)*$/, `must be a URL path such as ${example}`)
    .optional();
}

/** `''` for the root, else the path with one leading and no trailing slash (`keel/` → `/keel`). */
export function normalizeBasePath(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed === '' ? '' : trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/**
 * `pathname` relative to `base` (a normal form), or `undefined` when it is not under it
 * (e.g. a framework that mounted the handler already removed the base path).
 */
export function pathUnderBase(pathname: string, base: string): string | undefined {
  if (base === '') return pathname;
  if (pathname === base || pathname.startsWith(`${base}/`)) {
    return pathname.slice(base.length) || '/';
  }
  return undefined;
}
