import { Unit } from 'aws-cdk-lib/aws-cloudwatch';
import {
  FilterPattern,
  type IFilterPattern,
  type JsonPattern,
  type LogGroup,
} from 'aws-cdk-lib/aws-logs';
import { METRICS_NAMESPACE, Outcome } from '../functions/core/names.js';
import { RejectionReasons } from './monitoring.js';

/** The line every request writes (functions/core/pipeline.ts `report`). */
const REQUEST_LINE = FilterPattern.stringValue('$.message', '=', 'webhook');

/** Read from the line itself: the dimensions `outcomeMetric` (infra/monitoring.ts) names. */
const DIMENSIONS = { service: '$.service', provider: '$.provider' };

/** One metric of the request lines: its name, which lines count, and what each adds. */
export interface RequestMetric {
  readonly name: string;
  readonly pattern: IFilterPattern;
  readonly value: string;
  readonly unit: Unit;
}

const count = (name: string, ...conditions: JsonPattern[]): RequestMetric => ({
  name,
  pattern: FilterPattern.all(REQUEST_LINE, ...conditions),
  value: '1',
  unit: Unit.COUNT,
});

/**
 * The metrics the dashboard and alarms read, as CloudWatch Logs metric filters over the
 * request lines instead of an EMF record in each line: one count per outcome, per
 * rejection reason and per ambiguous outcome, and the latency — the same namespace, names,
 * units and dimensions the EMF record had, for about 250 fewer bytes per request
 * (docs/decisions.md §21). 15 filters, of the 100 a log group may have.
 */
export const RequestMetrics: readonly RequestMetric[] = [
  ...Object.values(Outcome).map((outcome) =>
    count(outcome, FilterPattern.stringValue('$.outcome', '=', outcome)),
  ),
  ...RejectionReasons.map((reason) =>
    count(
      `rejected_${reason}`,
      FilterPattern.stringValue('$.outcome', '=', Outcome.Rejected),
      FilterPattern.stringValue('$.reason', '=', reason),
    ),
  ),
  count('ambiguous_outcome', FilterPattern.booleanValue('$.ambiguous', true)),
  {
    name: 'latency',
    pattern: FilterPattern.all(REQUEST_LINE, FilterPattern.numberValue('$.latencyMs', '>=', 0)),
    value: '$.latencyMs',
    unit: Unit.MILLISECONDS,
  },
];

/** Adds the request metrics' filters to a provider function's log group. */
export function addRequestMetricFilters(logGroup: LogGroup): void {
  for (const metric of RequestMetrics) {
    logGroup.addMetricFilter(`Metric-${metric.name}`, {
      filterPattern: metric.pattern,
      metricNamespace: METRICS_NAMESPACE,
      metricName: metric.name,
      metricValue: metric.value,
      unit: metric.unit,
      dimensions: DIMENSIONS,
    });
  }
}
