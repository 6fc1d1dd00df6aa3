import { afterEach, describe, expect, it } from 'vitest';
import { EmfOutcomeRecorder, METRICS_NAMESPACE } from '../../../functions/core/observability.js';

describe('core: EMF metrics in the request log line', () => {
  const saved = process.env.POWERTOOLS_METRICS_DISABLED;
  afterEach(() => {
    process.env.POWERTOOLS_METRICS_DISABLED = saved;
  });

  it('returns one EMF record per request, with the outcome, reason and ambiguity counted', () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const recorder = new EmfOutcomeRecorder('sigmate');
    const fields = recorder.record({
      provider: 'sigmate',
      outcome: 'retry',
      reason: 'sqs',
      statusCode: 503,
      latencyMs: 12,
      ambiguous: true,
    });
    const aws = fields?._aws as {
      CloudWatchMetrics: {
        Namespace: string;
        Dimensions: string[][];
        Metrics: { Name: string }[];
      }[];
    };
    const directive = aws.CloudWatchMetrics[0];
    expect(directive?.Namespace).toBe(METRICS_NAMESPACE);
    expect(directive?.Dimensions[0]).toContain('provider');
    expect(directive?.Metrics.map((metric) => metric.Name).sort()).toEqual(
      ['ambiguous_outcome', 'latency', 'retry'].sort(),
    );
    expect(fields).toMatchObject({
      provider: 'sigmate',
      retry: 1,
      ambiguous_outcome: 1,
      latency: 12,
    });
    // Cleared after each request: the next record carries only its own metrics.
    const next = recorder.record({
      provider: 'sigmate',
      outcome: 'accepted',
      reason: undefined,
      statusCode: 200,
      latencyMs: 3,
      ambiguous: false,
    });
    expect(next).not.toHaveProperty('retry');
    expect(next).toMatchObject({ accepted: 1, latency: 3 });
  });

  it('adds nothing to the line when POWERTOOLS_METRICS_DISABLED is set', () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const recorder = new EmfOutcomeRecorder('sigma');
    expect(
      recorder.record({
        provider: 'sigma',
        outcome: 'accepted',
        reason: undefined,
        statusCode: 200,
        latencyMs: 1,
        ambiguous: false,
      }),
    ).toBeUndefined();
  });
});
