/** Real OpenTelemetry SDK providers with in-memory exporters, for telemetry assertions. */

import type { Meter, Tracer } from '@opentelemetry/api';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** One metric data point, flattened. */
export interface CollectedPoint {
  name: string;
  attributes: Record<string, unknown>;
  value: unknown;
}

export interface TestTelemetry {
  tracer: Tracer;
  meter: Meter;
  spans(): ReadableSpan[];
  metrics(): Promise<CollectedPoint[]>;
}

export function testTelemetry(): TestTelemetry {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracer: tracerProvider.getTracer('keel-test'),
    meter: meterProvider.getMeter('keel-test'),
    spans: () => exporter.getFinishedSpans(),
    async metrics() {
      const { resourceMetrics } = await reader.collect();
      const out: CollectedPoint[] = [];
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          for (const point of metric.dataPoints) {
            out.push({
              name: metric.descriptor.name,
              attributes: { ...point.attributes },
              value: point.value,
            });
          }
        }
      }
      return out;
    },
  };
}
