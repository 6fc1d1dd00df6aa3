/**
 * Published AWS list prices the cost model uses: us-east-1 (N. Virginia), on-demand,
 * first pricing tier, no free tier. Taken from the AWS pricing pages as known on
 * 2025-06-01 (the DynamoDB on-demand prices are those after the November 2024 cut);
 * check them again before quoting the figures. One file, so a change is one edit.
 */
export const PRICES = {
  region: 'us-east-1',
  asOf: '2025-06-01',
  source: 'aws.amazon.com/{lambda,api-gateway,dynamodb,sqs,cloudwatch}/pricing, list prices',
  lambda: {
    /** Arm64 (Graviton), per GB-second, first 7.5 billion GB-s per month. */
    arm64PerGbSecond: 0.0000133334,
    x86PerGbSecond: 0.0000166667,
    perMillionRequests: 0.2,
    /** Lambda bills duration in 1 ms steps. */
    billingStepMs: 1,
    /** At 1,769 MB a function has the equivalent of one full vCPU; CPU scales with memory. */
    fullVcpuMemoryMb: 1769,
  },
  apiGateway: {
    /** HTTP API, per million requests (first 300 million), 512 KB metering steps. */
    httpApiPerMillion: 1.0,
    restApiPerMillion: 3.5,
  },
  dynamodb: {
    /** On-demand, per million write request units (1 KB each; a failed conditional write still costs one). */
    perMillionWriteUnits: 0.625,
    perMillionReadUnits: 0.125,
    storagePerGbMonth: 0.25,
  },
  sqs: {
    /** Standard queue, per million requests (each 64 KB chunk of a message is one request). */
    standardPerMillionRequests: 0.4,
  },
  cloudwatchLogs: {
    /** Standard log class ingestion, per GB. */
    ingestionPerGb: 0.5,
    /** Lambda's own START/END/REPORT lines per invocation, approximately. */
    platformBytesPerInvocation: 260,
  },
  /**
   * Edge protection (infra/edge.ts, docs/decisions.md "Edge protection"). Source:
   * aws.amazon.com/waf/pricing and aws.amazon.com/cloudfront/pricing, list prices as of
   * 2026-12-03 (read through public summaries of those pages: the build machine cannot
   * reach aws.amazon.com; AWS states WAF prices are the same in every region). The REST
   * API's price is `apiGateway.restApiPerMillion` above.
   */
  waf: {
    asOf: '2026-12-03',
    /** Per web ACL per month, prorated hourly. */
    webAclPerMonth: 5.0,
    /** Per rule per month (a rate-based rule or an IP-set rule is one). */
    rulePerMonth: 1.0,
    /** Per million requests the web ACL inspects, allowed or blocked (up to 1,500 WCUs). */
    perMillionRequests: 0.6,
  },
  cloudfront: {
    asOf: '2026-12-03',
    /** HTTPS requests, United States and Europe: $0.0100 per 10,000. */
    httpsPerMillion: 1.0,
    /** Data transfer from CloudFront to the origin, United States and Europe, per GB. */
    toOriginPerGb: 0.02,
  },
} as const;

/**
 * Round-trip times from a Lambda function to the services in the same region, used to
 * turn the loopback measurement into a duration. Assumptions, not measurements: AWS
 * quotes single-digit milliseconds for DynamoDB; SQS SendMessage is typically a little slower.
 */
export const ASSUMED_IN_REGION_LATENCY_MS = {
  dynamodb: 5,
  sqs: 8,
} as const;
