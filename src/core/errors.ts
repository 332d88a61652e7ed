/**
 * @module
 * The one error family of keel: `KeelError` with a stable `code`, its subclasses,
 * and `isKeelError` for checks that work across copies of the package.
 */

const KEEL_ERROR_MARKER: symbol = Symbol.for('keel.error');

/** The stable codes of keel's errors. Compare against these, never against messages. */
export const ErrorCodes = {
  /** Bad input, refused before anything was written ({@link ValidationError}). */
  validation: 'KEEL_VALIDATION',
  /** A run, model, version, alias, artifact or document that does not exist ({@link NotFoundError}). */
  notFound: 'KEEL_NOT_FOUND',
  /** A lost compare-and-swap race or a write to something immutable ({@link ConflictError}). */
  conflict: 'KEEL_CONFLICT',
  /** Stored bytes or records that fail their digest, checksum or hash chain ({@link IntegrityError}). */
  integrity: 'KEEL_INTEGRITY',
  /** The authorizer refused the actor ({@link UnauthorizedError}). */
  unauthorized: 'KEEL_UNAUTHORIZED',
  /** An alias policy is not met, e.g. gate evidence or approvals missing ({@link PolicyError}). */
  policy: 'KEEL_POLICY',
  /** An operation ran past its time limit ({@link TimeoutError}). */
  timeout: 'KEEL_TIMEOUT',
  /** An operation was cancelled through its `AbortSignal` ({@link AbortedError}). */
  aborted: 'KEEL_ABORTED',
  /** A pipeline step failed for good (`PipelineRunError`). */
  pipelineFailed: 'KEEL_PIPELINE_FAILED',
  /** A command step's program exited with a failure (`CommandFailedError`). */
  commandFailed: 'KEEL_COMMAND_FAILED',
  /** The storage medium failed (disk full, permissions, connection) ({@link StorageError}). */
  storage: 'KEEL_STORAGE',
} as const;

/** One of {@link ErrorCodes}, or a code of a user-defined subclass. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes] | (string & {});

/** Options accepted by every keel error. */
export interface KeelErrorOptions {
  /** The error that led to this one. */
  cause?: unknown;
  /** Structured, JSON-friendly details (offending field, expected value, ...). */
  details?: Record<string, unknown>;
}

/**
 * Base class of every error keel throws. `code` is stable; `message` says what failed
 * and what to do about it.
 *
 * @example
 * ```ts
 * try { await store.get(digest) } catch (e) { if (isKeelError(e, 'KEEL_NOT_FOUND')) ... }
 * ```
 */
export class KeelError extends Error {
  /** Stable machine-readable code, e.g. `KEEL_VALIDATION`. */
  readonly code: string;
  /** Structured details, when the thrower had any. */
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, options: KeelErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options.details !== undefined) this.details = options.details;
  }

  /**
   * True for any keel error, even one thrown by another copy of the package.
   *
   * Never throws.
   */
  static isInstance(value: unknown): value is KeelError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[KEEL_ERROR_MARKER] === true
    );
  }
}

// The marker lives on the prototype so that copies of keel recognise each other's errors.
Object.defineProperty(KeelError.prototype, KEEL_ERROR_MARKER, { value: true });

/** An input failed validation; nothing was written. `issues` holds the schema issues. */
export class ValidationError extends KeelError {
  /** The individual problems found (zod issues or equivalent). */
  readonly issues: readonly ValidationIssue[];
  constructor(message: string, options: KeelErrorOptions & { issues?: ValidationIssue[] } = {}) {
    super(ErrorCodes.validation, message, options);
    this.issues = options.issues ?? [];
  }
}

/** One validation problem: where (`path`) and what. */
export interface ValidationIssue {
  /** Where in the input the problem is, e.g. `['params', 'lr']` (empty: the input itself). */
  path: readonly PropertyKey[];
  /** What is wrong there, in words. */
  message: string;
}

/** The thing asked for does not exist. */
export class NotFoundError extends KeelError {
  constructor(message: string, options?: KeelErrorOptions) {
    super(ErrorCodes.notFound, message, options);
  }
}

/** A concurrent change won, or the operation contradicts the current state. */
export class ConflictError extends KeelError {
  constructor(message: string, options?: KeelErrorOptions) {
    super(ErrorCodes.conflict, message, options);
  }
}

/** Stored bytes do not match their digest (corruption or tampering). */
export class IntegrityError extends KeelError {
  constructor(message: string, options?: KeelErrorOptions) {
    super(ErrorCodes.integrity, message, options);
  }
}

/** The actor is not allowed to perform the action. */
export class UnauthorizedError extends KeelError {
  constructor(message: string, options?: KeelErrorOptions) {
    super(ErrorCodes.unauthorized, message, options);
  }
}

/** A governance policy (gate evidence, approvals, roles) is not met; nothing moved. */
export class PolicyError extends KeelError {
  constructor(message: string, options?: KeelErrorOptions) {
    super(ErrorCodes.policy, message, options);
  }
}

/** An operation ran past its time limit. */
export class TimeoutError extends KeelError {
  constructor(message: string, options?: KeelErrorOptions) {
    super(ErrorCodes.timeout, message, options);
  }
}

/** An operation was cancelled through its `AbortSignal`. */
export class AbortedError extends KeelError {
  constructor(message: string, options?: KeelErrorOptions) {
    super(ErrorCodes.aborted, message, options);
  }
}

/** The storage medium failed (I/O error, full disk, permissions). */
export class StorageError extends KeelError {
  constructor(message: string, options?: KeelErrorOptions) {
    super(ErrorCodes.storage, message, options);
  }
}

/**
 * Narrows `value` to a keel error, optionally of one code.
 *
 * @example
 * ```ts
 * if (isKeelError(e, 'KEEL_CONFLICT')) retry();
 * ```
 *
 * Never throws.
 */
export function isKeelError(value: unknown, code?: ErrorCode): value is KeelError {
  return KeelError.isInstance(value) && (code === undefined || value.code === code);
}
