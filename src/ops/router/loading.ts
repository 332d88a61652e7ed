/**
 * @module
 * What an arm needs before it serves a version: the alias resolved (an unset alias is `null`,
 * not an error) and the version's predictor loaded once and cached (a failed load is not).
 */
import { isKeelError, ValidationError } from '../../core/errors.js';
import type { ModelVersion, Registry } from '../../registry/types.js';
import type { Predictor } from './types.js';

/** Loads a version's predictor; concurrent and later calls for one version share the result. */
export type PredictorLoader<I, O> = (version: ModelVersion) => Promise<Predictor<I, O>>;

/**
 * A loader that calls `load` once per version of `model` and caches the predictor. A failed
 * load is forgotten, so the next refresh tries again.
 *
 * @throws {ValidationError} (from the returned loader) when `load` returns something other than a
 *   function.
 */
export function cachedLoader<I, O>(
  model: string,
  load: (version: ModelVersion) => Predictor<I, O> | Promise<Predictor<I, O>>,
): PredictorLoader<I, O> {
  const predictors = new Map<number, Promise<Predictor<I, O>>>();
  return (version) => {
    let loading = predictors.get(version.version);
    if (!loading) {
      loading = (async () => {
        const predictor = await load(version);
        if (typeof predictor !== 'function') {
          throw new ValidationError(
            `[keel] loading ${model} v${version.version} failed: load returned ${typeof predictor}, not a function; return the predictor (input) => output`,
          );
        }
        return predictor;
      })();
      predictors.set(version.version, loading);
      loading.catch(() => predictors.delete(version.version));
    }
    return loading;
  };
}

/** The version `alias` of `model` points to, or `null` when the alias (or model) is unset. */
export async function resolveOrNull(
  registry: Registry,
  model: string,
  alias: string,
): Promise<ModelVersion | null> {
  try {
    return await registry.resolve(model, alias);
  } catch (error) {
    if (isKeelError(error, 'KEEL_NOT_FOUND')) return null;
    throw error;
  }
}
