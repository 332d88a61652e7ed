/**
 * @module
 * The registry's error messages that several methods share, so that the same situation is
 * always explained the same way.
 */
import { ConflictError, NotFoundError, PolicyError } from '../core/errors.js';

/** A promotion refused by an alias policy (gate evidence or approvals). */
export function policyError(problem: string, details: Record<string, unknown>): PolicyError {
  return new PolicyError(`[keel] [registry] promotion refused: ${problem}`, { details });
}

/** An archived version used where a servable one is needed. */
export function archivedError(model: string, version: number, alias: string): ConflictError {
  return new ConflictError(
    `[keel] [registry] version ${version} of "${model}" is archived and cannot be used for alias "${alias}": register a new version instead`,
    { details: { model, version, alias } },
  );
}

/** An alias that does not exist (or was deleted) where one is needed. */
export function noAliasError(model: string, alias: string): NotFoundError {
  return new NotFoundError(
    `[keel] [registry] model "${model}" has no alias "${alias}": list its aliases with listAliases("${model}")`,
    { details: { model, alias } },
  );
}

/** A model that does not exist. */
export function noModelError(model: string): NotFoundError {
  return new NotFoundError(
    `[keel] [registry] no model named "${model}": register a version with registerVersion("${model}", ...) or call createModel first`,
    { details: { model } },
  );
}
