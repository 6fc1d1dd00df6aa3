/**
 * What edge protection adds to each event (docs/decisions.md, "Edge protection"). Ours
 * (Sigmate, the archive on as deployed) is fed the HTTP API's payload 2.0 and the edge REST
 * stage's payload 1.0 (body base64-encoded, binary media types `*\/*`), alternated in
 * rounds in one run: warm CPU, AWS calls and log bytes per event are measured; the front
 * door is priced from bench/prices.ts (API Gateway REST instead of HTTP, AWS WAF per
 * request, the web ACL and its rules per month spread over a month's events).
 * Run alone: `npx tsx bench/edge.ts [events per round] [rounds]` (prints the report's table).
 */
import { EnvNames } from '../functions/core/config.js';
import { archiveDrainPerMillion } from './archive.js';
import { bundle, subjects } from './bundles.js';
import { type CostBreakdown, lambdaCost } from './cost.js';
import { startLoopbackAws } from './loopback-aws.js';
import { summary, totalCalls, type WarmResult, warmRun } from './measure.js';
import { PRICES } from './prices.js';

/** The probe's environment for the edge REST stage's events (bench/probe.mjs). */
export const EDGE_EVENT_ENV = { BENCH_EVENT_SHAPE: 'rest' } as const;

/** A front door weighed for edge protection: what it adds per million events and per month. */
export interface EdgeDesign {
  readonly name: string;
  readonly addedPerMillion: number;
  readonly fixedPerMonth: number;
  readonly stopsFloodBeforeThrottle: boolean;
  readonly note: string;
}

export interface EdgeResults {
  readonly memoryMb: number;
  /** When the WAF and CloudFront prices were read (bench/prices.ts). */
  readonly pricesAsOf: string;
  readonly rounds: number;
  readonly eventsPerRound: number;
  /** Warm CPU per accepted event: median over rounds, HTTP API event vs REST event. */
  readonly cpuUsPerAcceptedEvent: {
    http: number;
    rest: number;
    ratio: number;
    /** Each round's figure, in the order run. */
    rounds: { http: number[]; rest: number[] };
  };
  readonly callsPerNewEvent: { http: number; rest: number };
  readonly logBytesPerEvent: { http: number; rest: number };
  /** Per million events, variable costs only: today's configuration and with the edge. */
  readonly costPerMillion: {
    today: number;
    edge: number;
    added: number;
    ratio: number;
    todayBreakdown: Record<string, number>;
    edgeBreakdown: Record<string, number>;
  };
  /** The web ACL and one rule per provider (plus one per provider with an allowlist). */
  readonly fixedPerMonth: { withoutAllowlists: number; withAllowlists: number; providers: number };
  /** Per million events including the monthly fee (three providers, no allowlist). */
  readonly atVolume: { eventsPerMonth: number; today: number; edge: number; ratio: number }[];
  readonly designs: EdgeDesign[];
}

const round = (value: number, digits = 4) => Math.round(value * 10 ** digits) / 10 ** digits;

/** The REST API and the web ACL in front of the function, per million requests. */
export function edgeFrontDoor(): Record<string, number> {
  return {
    'API Gateway REST API': PRICES.apiGateway.restApiPerMillion,
    'AWS WAF requests': PRICES.waf.perMillionRequests,
  };
}

/** The web ACL plus its rules, per month: one rate rule per provider, one per allowlist. */
export function edgeFixedPerMonth(providers: number, allowlists: number): number {
  return PRICES.waf.webAclPerMonth + PRICES.waf.rulePerMonth * (providers + allowlists);
}

/** The fronts weighed (docs/decisions.md): added cost per million events and per month. */
export function edgeDesigns(providers = 3): EdgeDesign[] {
  const p = PRICES;
  const waf = p.waf.perMillionRequests;
  const fixed = edgeFixedPerMonth(providers, 0);
  // A webhook request of about 1 KB travels from CloudFront to the origin.
  const toOrigin = (1_000_000 * 1024) / 1024 ** 3;
  const cloudfront = p.cloudfront.httpsPerMillion + toOrigin * p.cloudfront.toOriginPerGb;
  return [
    {
      name: 'REST API + regional WAF web ACL on its stage (chosen)',
      addedPerMillion: round(p.apiGateway.restApiPerMillion - p.apiGateway.httpApiPerMillion + waf),
      fixedPerMonth: fixed,
      stopsFloodBeforeThrottle: true,
      note: 'the stage is the only way in; same region as the stack; payload 1.0, which the functions already read',
    },
    {
      name: 'CloudFront + WAF (CLOUDFRONT scope) in front of the HTTP API',
      addedPerMillion: round(cloudfront + waf),
      fixedPerMonth: fixed,
      stopsFloodBeforeThrottle: false,
      note: "bypassed: the HTTP API's execute-api endpoint (or its regional domain) stays public and shares the throttle; web ACL and certificate must be in us-east-1",
    },
    {
      name: 'CloudFront + WAF → Lambda function URLs (no API Gateway)',
      addedPerMillion: round(cloudfront + waf - p.apiGateway.httpApiPerMillion),
      fixedPerMonth: fixed,
      stopsFloodBeforeThrottle: false,
      note: "bypassed: origin access control for function URLs needs the sender to sign the POST body's SHA-256, which providers do not, so the URLs stay public and a flood reaches Lambda concurrency directly; no per-route throttle",
    },
    {
      name: "today: the function's source allowlist",
      addedPerMillion: 0,
      fixedPerMonth: 0,
      stopsFloodBeforeThrottle: false,
      note: 'acts after API Gateway has counted the request against the throttle',
    },
  ];
}

/**
 * The edge section from warm runs of ours with HTTP API events and with REST events (the
 * archive on in both, as deployed), alternated in rounds in the same run.
 */
export function edgeResults(
  http: readonly WarmResult[],
  rest: readonly WarmResult[],
  memoryMb: number,
): EdgeResults {
  const median = (runs: readonly WarmResult[], pick: (run: WarmResult) => number) =>
    summary(runs.map(pick)).median;
  const cpu = (runs: readonly WarmResult[]) => median(runs, (r) => r.accepted.cpuUsPerEvent);
  const logs = (runs: readonly WarmResult[]) => median(runs, (r) => r.accepted.outputBytesPerEvent);
  const first = (runs: readonly WarmResult[]) => {
    const run = runs[0];
    if (!run) throw new Error('edge: no warm run');
    return run;
  };
  const cost = (runs: readonly WarmResult[], frontDoor?: Record<string, number>): CostBreakdown =>
    lambdaCost({
      calls: first(runs).calls.accepted,
      cpuUsPerEvent: cpu(runs),
      logBytesPerEvent: logs(runs),
      memoryMb,
      ...(frontDoor ? { frontDoor } : {}),
    });
  const drain = archiveDrainPerMillion();
  const withDrain = (c: CostBreakdown) => ({
    total: round(c.totalPerMillion + drain),
    breakdown: { ...c.perMillion, 'archive drain (modelled)': drain },
  });
  const today = withDrain(cost(http));
  const edge = withDrain(cost(rest, edgeFrontDoor()));
  const providers = 3;
  const fixed = edgeFixedPerMonth(providers, 0);
  return {
    memoryMb,
    pricesAsOf: PRICES.waf.asOf,
    rounds: http.length,
    eventsPerRound: first(http).accepted.events,
    cpuUsPerAcceptedEvent: {
      http: round(cpu(http), 1),
      rest: round(cpu(rest), 1),
      ratio: round(cpu(rest) / cpu(http), 3),
      rounds: {
        http: http.map((r) => round(r.accepted.cpuUsPerEvent, 0)),
        rest: rest.map((r) => round(r.accepted.cpuUsPerEvent, 0)),
      },
    },
    callsPerNewEvent: {
      http: totalCalls(first(http).calls.accepted),
      rest: totalCalls(first(rest).calls.accepted),
    },
    logBytesPerEvent: { http: round(logs(http), 0), rest: round(logs(rest), 0) },
    costPerMillion: {
      today: today.total,
      edge: edge.total,
      added: round(edge.total - today.total),
      ratio: round(edge.total / today.total, 3),
      todayBreakdown: today.breakdown,
      edgeBreakdown: edge.breakdown,
    },
    fixedPerMonth: {
      withoutAllowlists: fixed,
      withAllowlists: edgeFixedPerMonth(providers, providers),
      providers,
    },
    atVolume: [1_000_000, 10_000_000, 100_000_000].map((eventsPerMonth) => {
      const edgeAtVolume = edge.total + (fixed * 1_000_000) / eventsPerMonth;
      return {
        eventsPerMonth,
        today: today.total,
        edge: round(edgeAtVolume),
        ratio: round(edgeAtVolume / today.total, 3),
      };
    }),
    designs: edgeDesigns(providers),
  };
}

/** The archive queue URL the stack sets on every function (the archive is on by default). */
export const archiveEnv = (endpoint: string) => ({
  [EnvNames.archiveQueueUrl]: `${endpoint}/123456789012/bench-archive`,
});

async function main() {
  const events = Number(process.argv[2] ?? 2_000);
  const rounds = Number(process.argv[3] ?? 3);
  const memoryMb = 256;
  const subject = subjects().find((s) => s.name === 'ours:sigmate');
  if (!subject) throw new Error('the Sigmate handler is required');
  const built = await bundle(subject);
  const loopback = await startLoopbackAws();
  const runs: Record<'http' | 'rest', WarmResult[]> = { http: [], rest: [] };
  try {
    for (let r = 0; r < rounds; r += 1) {
      const order = r % 2 === 0 ? (['http', 'rest'] as const) : (['rest', 'http'] as const);
      for (const shape of order) {
        process.stderr.write(`edge: round ${r + 1}/${rounds}, ${shape} events…\n`);
        runs[shape].push(
          await warmRun(built, loopback, {
            events,
            warmup: Math.min(500, events),
            callSamples: 20,
            name: shape,
            env: { ...archiveEnv(loopback.endpoint), ...(shape === 'rest' ? EDGE_EVENT_ENV : {}) },
          }),
        );
      }
    }
  } finally {
    await loopback.close();
  }
  const { renderEdgeSection } = await import('./report.js');
  const results = edgeResults(runs.http, runs.rest, memoryMb);
  process.stdout.write(`${renderEdgeSection(results).join('\n')}\n`);
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`edge bench failed: ${error instanceof Error ? error.stack : error}\n`);
    process.exit(1);
  });
}
