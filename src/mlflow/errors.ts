// MLflow's error reply: `{ error_code, message }` with the HTTP status MLflow gives each code, and keel's errors mapped onto it.
import { isKeelError } from '../core/errors.js';

/** The MLflow error codes this endpoint answers with, and the HTTP status MLflow gives each. */
export const MLFLOW_ERROR_STATUS = {
  INVALID_PARAMETER_VALUE: 400,
  BAD_REQUEST: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  PERMISSION_DENIED: 403,
  UNAUTHENTICATED: 401,
  RESOURCE_CONFLICT: 409,
  REQUEST_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  INVALID_STATE: 500,
  NOT_IMPLEMENTED: 501,
  TEMPORARILY_UNAVAILABLE: 503,
} as const;

/** One of MLflow's error codes (`databricks.proto`'s `ErrorCode` names). */
export type MlflowErrorCode = keyof typeof MLFLOW_ERROR_STATUS;

/**
 * An error a route throws to answer in MLflow's shape. `status` defaults to the one MLflow
 * uses for `code` (a body over the size limit answers 413 with `INVALID_PARAMETER_VALUE`).
 */
export class MlflowApiError extends Error {
  /** MLflow's error code, sent as `error_code`. */
  readonly code: MlflowErrorCode;
  /** The HTTP status of the reply. */
  readonly status: number;

  constructor(code: MlflowErrorCode, message: string, status?: number) {
    super(message);
    this.name = 'MlflowApiError';
    this.code = code;
    this.status = status ?? MLFLOW_ERROR_STATUS[code];
  }
}

/** `INVALID_PARAMETER_VALUE` (400): the request is wrong; what to send instead is in `message`. */
export function invalidParameter(message: string): MlflowApiError {
  return new MlflowApiError('INVALID_PARAMETER_VALUE', message);
}

/** `RESOURCE_DOES_NOT_EXIST` (404). */
export function doesNotExist(message: string): MlflowApiError {
  return new MlflowApiError('RESOURCE_DOES_NOT_EXIST', message);
}

/** The body MLflow sends for an error. */
export interface MlflowErrorBody {
  /** MLflow's error code. */
  error_code: MlflowErrorCode;
  /** What went wrong. */
  message: string;
}

/**
 * The MLflow reply for anything a route threw: its own errors as they are, keel's errors by
 * kind (bad input 400, unknown 404, a refused write such as a changed param or an ended run
 * 400 as MLflow refuses them, a policy or authorizer refusal 403), anything else a 500 that
 * says nothing of internals.
 */
export function toMlflowError(error: unknown): { status: number; body: MlflowErrorBody } {
  let e: MlflowApiError;
  if (error instanceof MlflowApiError) e = error;
  else if (isKeelError(error, 'KEEL_VALIDATION') || isKeelError(error, 'KEEL_CONFLICT'))
    e = invalidParameter(messageOf(error));
  else if (isKeelError(error, 'KEEL_NOT_FOUND')) e = doesNotExist(messageOf(error));
  else if (isKeelError(error, 'KEEL_POLICY') || isKeelError(error, 'KEEL_UNAUTHORIZED'))
    e = new MlflowApiError('PERMISSION_DENIED', messageOf(error));
  else if (isKeelError(error, 'KEEL_TIMEOUT'))
    e = new MlflowApiError('TEMPORARILY_UNAVAILABLE', messageOf(error));
  else
    e = new MlflowApiError(
      'INTERNAL_ERROR',
      'keel could not complete the request; see the server log',
    );
  return { status: e.status, body: { error_code: e.code, message: e.message } };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
