/**
 * @module
 * How an ArtifactStore tells its caller about a stored artifact it had to pass over (a
 * damaged metadata sidecar found while listing), without failing the whole operation.
 */
import type { Digest } from '../core/digest.js';
import type { KeelError } from '../core/errors.js';

/** An artifact a store skipped because its stored form is damaged. */
export interface ArtifactDamage {
  /** The artifact concerned. */
  digest: Digest;
  /** Where the damaged part lives (a file path, an object key). */
  location: string;
  /** What is wrong and what to do, as an error (usually an `IntegrityError`). */
  error: KeelError;
}

/** Called by a store for each damaged artifact it skips; errors it throws are ignored. */
export type OnArtifactDamage = (damage: ArtifactDamage) => void;

/** Calls `listener` (if any) and swallows what it throws: a report must not break a listing. */
export function reportDamage(listener: OnArtifactDamage | undefined, damage: ArtifactDamage): void {
  try {
    listener?.(damage);
  } catch {
    // a listener that throws never breaks the operation that reported
  }
}
