/**
 * @module
 * The Standard Schema interface (https://standardschema.dev, copied as its authors
 * intend), so user schemas from zod, valibot, arktype... are accepted without tying
 * users to our zod version.
 */
import { ValidationError, type ValidationIssue } from './errors.js';
import { describeIssues, isZod4Schema, parseWithAsync } from './validate.js';

/** A schema that implements the Standard Schema v1 interface. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The Standard Schema properties, under the name the specification reserves. */
  readonly '~standard': {
    /** The version of the specification: 1. */
    readonly version: 1;
    /** The library that made the schema, e.g. `zod`. */
    readonly vendor: string;
    /** Validates `value`: its output, or the issues found. */
    readonly validate: (
      value: unknown,
    ) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
    /** Type-level only: the input and output types. */
    readonly types?:
      | {
          /** The type the schema accepts. */
          readonly input: Input;
          /** The type the schema produces. */
          readonly output: Output;
        }
      | undefined;
  };
}

/** The result of a Standard Schema validation. */
export type StandardSchemaResult<Output> =
  | {
      /** The validated (possibly transformed) value. */
      readonly value: Output;
      /** Absent on success. */
      readonly issues?: undefined;
    }
  | {
      /** What is wrong with the input. */
      readonly issues: ReadonlyArray<{
        /** The problem, in words. */
        readonly message: string;
        /** Where in the input, as keys or `{ key }` segments. */
        readonly path?:
          | ReadonlyArray<
              | PropertyKey
              | {
                  /** One segment of the path. */
                  readonly key: PropertyKey;
                }
            >
          | undefined;
      }>;
    };

/** The output type of a Standard Schema. */
export type InferOutput<S extends StandardSchemaV1> = NonNullable<
  S['~standard']['types']
>['output'];

/** True when `value` implements Standard Schema v1. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { '~standard'?: { validate?: unknown } })['~standard']?.validate === 'function'
  );
}

/**
 * Validates with a Standard Schema; throws `ValidationError` naming `what` on failure. A zod 4
 * schema (any copy of zod 4) is parsed directly, so its messages are worded as keel's own
 * (`n: expected an integer, got 1.5`); other libraries' messages are kept as they word them.
 */
export async function validateStandard<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
  what: string,
): Promise<InferOutput<S>> {
  if (isZod4Schema(schema)) return (await parseWithAsync(schema, value, what)) as InferOutput<S>;
  const result = await schema['~standard'].validate(value);
  if (result.issues === undefined) return result.value as InferOutput<S>;
  const issues: ValidationIssue[] = result.issues.map((issue) => ({
    path: (issue.path ?? []).map((p) => (typeof p === 'object' ? p.key : p)),
    message: issue.message,
  }));
  throw new ValidationError(`[keel] invalid ${what}: ${describeIssues(issues)}`, { issues });
}
