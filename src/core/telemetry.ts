/**
 * @module
 * Telemetry through `@opentelemetry/api` only: a tracer and meter from options or the
 * global API (no-op until the application registers an SDK), and a span helper that
 * never lets instrumentation break the operation.
 */
import {
  type Attributes,
  type Context,
  type Counter,
  type Histogram,
  type Meter,
  metrics,
  context as otelContext,
  type Span,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';

/** The instrumentation scope name keel reports under. */
export const INSTRUMENTATION_SCOPE = 'keel';

/** Tracer and meter keel records with, plus cached instruments. */
export interface Telemetry {
  /** Where keel's spans go (a no-op until the application registers an SDK). */
  readonly tracer: Tracer;
  /** Where keel's metrics go (a no-op until the application registers an SDK). */
  readonly meter: Meter;
  /**
   * A counter instrument named `name` (created once, then reused).
   *
   * Never throws with the OpenTelemetry API meter (the no-op and SDK meters do not).
   */
  counter(name: string, description: string, unit?: string): Counter;
  /**
   * A histogram instrument named `name` (created once, then reused).
   *
   * Never throws with the OpenTelemetry API meter (the no-op and SDK meters do not).
   */
  histogram(name: string, description: string, unit?: string): Histogram;
}

/** Builds {@link Telemetry} from explicit providers, or the global OpenTelemetry API. */
export function createTelemetry(opts: { tracer?: Tracer; meter?: Meter } = {}): Telemetry {
  const tracer = opts.tracer ?? trace.getTracer(INSTRUMENTATION_SCOPE);
  const meter = opts.meter ?? metrics.getMeter(INSTRUMENTATION_SCOPE);
  const counters = new Map<string, Counter>();
  const histograms = new Map<string, Histogram>();
  return {
    tracer,
    meter,
    counter(name, description, unit) {
      let instrument = counters.get(name);
      if (!instrument) {
        instrument = meter.createCounter(name, unit ? { description, unit } : { description });
        counters.set(name, instrument);
      }
      return instrument;
    },
    histogram(name, description, unit) {
      let instrument = histograms.get(name);
      if (!instrument) {
        instrument = meter.createHistogram(name, unit ? { description, unit } : { description });
        histograms.set(name, instrument);
      }
      return instrument;
    },
  };
}

/**
 * Runs `fn` inside a span named `name`, child of `parent` (explicit, so nesting works
 * without a context manager). Errors are recorded with status ERROR and rethrown.
 */
export async function inSpan<T>(
  telemetry: Telemetry,
  name: string,
  attributes: Attributes,
  fn: (span: Span, spanContext: Context) => Promise<T>,
  parent: Context = otelContext.active(),
): Promise<T> {
  const span = telemetry.tracer.startSpan(name, { attributes }, parent);
  const spanContext = trace.setSpan(parent, span);
  try {
    return await fn(span, spanContext);
  } catch (error) {
    recordError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Marks `span` failed with `error`. Never throws. */
export function recordError(span: Span, error: unknown): void {
  try {
    if (error instanceof Error) span.recordException(error);
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
  } catch {
    // instrumentation must never break the operation
  }
}
