/** Cost per million events at list prices, from measured calls, CPU and log bytes. */
import type { CallCounts } from './loopback-aws.js';
import { ASSUMED_IN_REGION_LATENCY_MS, PRICES } from './prices.js';

export interface CostInput {
  /** Requests per event by action, as counted at the loopback server. */
  readonly calls: CallCounts;
  /** Process CPU per event on this machine, at one full core (µs). */
  readonly cpuUsPerEvent: number;
  /** Bytes the function writes to its log per event. */
  readonly logBytesPerEvent: number;
  readonly memoryMb: number;
  /**
   * What the request passes before the function, each item per million requests; default
   * the HTTP API. Edge protection: the REST API and AWS WAF (bench/edge.ts).
   */
  readonly frontDoor?: Readonly<Record<string, number>>;
}

export interface CostBreakdown {
  readonly memoryMb: number;
  /** Estimated billed duration in Lambda: CPU scaled by the memory's vCPU share plus round trips. */
  readonly durationMs: number;
  readonly perMillion: Record<string, number>;
  readonly totalPerMillion: number;
}

const round = (value: number) => Math.round(value * 10_000) / 10_000;

/** Round trips to AWS services per event, in milliseconds, at the assumed in-region latency. */
export function networkMs(calls: CallCounts): number {
  let total = 0;
  for (const [name, count] of Object.entries(calls)) {
    total +=
      count *
      (name.startsWith('SQS.')
        ? ASSUMED_IN_REGION_LATENCY_MS.sqs
        : ASSUMED_IN_REGION_LATENCY_MS.dynamodb);
  }
  return total;
}

/** Lambda's CPU share at a memory size: one vCPU at 1,769 MB, proportionally less below. */
export function cpuSlowdown(memoryMb: number): number {
  return Math.max(1, PRICES.lambda.fullVcpuMemoryMb / memoryMb);
}

/** One Lambda behind an HTTP API (or another front door), with DynamoDB, SQS and CloudWatch Logs. */
export function lambdaCost(input: CostInput): CostBreakdown {
  const cpuMs = (input.cpuUsPerEvent / 1000) * cpuSlowdown(input.memoryMb);
  const durationMs = Math.ceil(cpuMs + networkMs(input.calls));
  const gbSeconds = (input.memoryMb / 1024) * (durationMs / 1000);
  let writes = 0;
  let reads = 0;
  let sqs = 0;
  for (const [name, count] of Object.entries(input.calls)) {
    if (name === 'DynamoDB.GetItem') reads += count;
    else if (name.startsWith('DynamoDB.')) writes += count;
    else if (name.startsWith('SQS.')) sqs += count;
  }
  const logBytes = input.logBytesPerEvent + PRICES.cloudwatchLogs.platformBytesPerInvocation;
  const perMillion = {
    ...(input.frontDoor ?? { 'API Gateway HTTP API': PRICES.apiGateway.httpApiPerMillion }),
    'Lambda requests': PRICES.lambda.perMillionRequests,
    'Lambda duration (arm64)': gbSeconds * 1e6 * PRICES.lambda.arm64PerGbSecond,
    'DynamoDB writes': writes * PRICES.dynamodb.perMillionWriteUnits,
    'DynamoDB reads': reads * PRICES.dynamodb.perMillionReadUnits,
    'SQS requests': sqs * PRICES.sqs.standardPerMillionRequests,
    'CloudWatch Logs': ((logBytes * 1e6) / 1e9) * PRICES.cloudwatchLogs.ingestionPerGb,
  };
  const rounded = Object.fromEntries(Object.entries(perMillion).map(([k, v]) => [k, round(v)]));
  return {
    memoryMb: input.memoryMb,
    durationMs,
    perMillion: rounded,
    totalPerMillion: round(Object.values(perMillion).reduce((sum, value) => sum + value, 0)),
  };
}

/** The floor: API Gateway's direct SQS integration, which cannot verify a signature. */
export function directIntegrationCost(): CostBreakdown {
  const perMillion = {
    'API Gateway HTTP API': PRICES.apiGateway.httpApiPerMillion,
    'SQS requests': PRICES.sqs.standardPerMillionRequests,
  };
  return {
    memoryMb: 0,
    durationMs: 0,
    perMillion,
    totalPerMillion: round(perMillion['API Gateway HTTP API'] + perMillion['SQS requests']),
  };
}
