import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { OutcomeRecorder, RequestRecord } from './pipeline.js';
import type { ProviderName } from './provider.js';

/** CloudWatch namespace of the handlers' EMF metrics; the dashboard and alarms read it. */
export const METRICS_NAMESPACE = 'WebhookIngress';
export const SERVICE_NAME = 'webhook-ingress';

/** The structured JSON logger every handler uses. */
export function createLogger(provider: ProviderName): Logger {
  return new Logger({ serviceName: SERVICE_NAME, persistentKeys: { provider } });
}

/**
 * EMF metrics: one count per outcome (and per rejection reason) plus latency,
 * all under the `provider` dimension, flushed with each request.
 */
export class EmfOutcomeRecorder implements OutcomeRecorder {
  private readonly metrics: Metrics;

  constructor(provider: ProviderName) {
    this.metrics = new Metrics({
      namespace: METRICS_NAMESPACE,
      serviceName: SERVICE_NAME,
      defaultDimensions: { provider },
    });
  }

  record(record: RequestRecord): void {
    this.metrics.addMetric(record.outcome, MetricUnit.Count, 1);
    if (record.outcome === 'rejected' && record.reason !== undefined) {
      this.metrics.addMetric(`rejected_${record.reason}`, MetricUnit.Count, 1);
    }
    this.metrics.addMetric('latency', MetricUnit.Milliseconds, record.latencyMs);
    this.metrics.publishStoredMetrics();
  }
}
