// The benchmark's child process: a fresh Node that imports one Lambda bundle and drives
// its handler as the Lambda runtime would, reporting to the runner over IPC. Plain
// JavaScript on purpose, so no loader (tsx) sits between Node's start and the bundle.
import { createHmac, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const [bundle = '', mode = 'cold'] = process.argv.slice(2);
const secret = process.env.SIGMATE_WEBHOOK_SECRET ?? '';

// Count what the function writes to stdout/stderr (logs and EMF), then pass it on as Lambda does.
let outputBytes = 0;
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream);
  stream.write = (chunk, ...rest) => {
    outputBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    return write(chunk, ...rest);
  };
}

/** A Sigmate-like body of about 500 bytes, as in the provider's docs. */
function body(id) {
  return JSON.stringify({
    id,
    detected_at: '2026-04-24T09:32:14.117Z',
    signal_type: 'consensus_buy',
    rank: 'A',
    rank_score: 82,
    token: {
      address: '7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr',
      symbol: 'WIF',
      name: 'dogwifhat',
      dex: 'Raydium',
      market_cap_usd: 412000,
      liquidity_usd: 88300,
      price_usd: 0.0069,
    },
    wallet_count: 6,
    pool_wallet_count: 4,
    rug_check: { risk: 'low' },
    latency_ms: 388,
  });
}

/**
 * The event of a signed Sigmate delivery: API Gateway HTTP API payload 2.0, or with
 * BENCH_EVENT_SHAPE=rest the REST API payload 1.0 of edge protection's stage (infra/edge.ts:
 * binary media types `*\/*`, so the body arrives base64-encoded).
 */
const event = process.env.BENCH_EVENT_SHAPE === 'rest' ? restEvent : httpEvent;

function httpEvent(id) {
  const text = body(id);
  const signature = createHmac('sha256', secret).update(text).digest('hex');
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: 'POST /webhooks/sigmate',
    rawPath: '/webhooks/sigmate',
    rawQueryString: '',
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
      host: 'abc123.execute-api.us-east-1.amazonaws.com',
      'user-agent': 'Sigmate-Webhook/1',
      'x-sigmate-event': 'signal.fired',
      'x-sigmate-signature': `sha256=${signature}`,
      'x-forwarded-for': '203.0.113.10',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method: 'POST',
        path: '/webhooks/sigmate',
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.10',
        userAgent: 'Sigmate-Webhook/1',
      },
      requestId: randomUUID(),
      routeKey: 'POST /webhooks/sigmate',
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    body: text,
    isBase64Encoded: false,
  };
}

function restEvent(id) {
  const text = body(id);
  const signature = createHmac('sha256', secret).update(text).digest('hex');
  const now = Date.now();
  const headers = {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    Host: 'abc123.execute-api.us-east-1.amazonaws.com',
    'User-Agent': 'Sigmate-Webhook/1',
    'X-Amzn-Trace-Id': 'Root=1-67891233-abcdef012345678912345678',
    'X-Forwarded-For': '203.0.113.10',
    'X-Forwarded-Port': '443',
    'X-Forwarded-Proto': 'https',
    'X-Sigmate-Event': 'signal.fired',
    'X-Sigmate-Signature': `sha256=${signature}`,
  };
  return {
    resource: '/webhooks/sigmate',
    path: '/webhooks/sigmate',
    httpMethod: 'POST',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      extendedRequestId: randomUUID(),
      httpMethod: 'POST',
      identity: { sourceIp: '203.0.113.10', userAgent: 'Sigmate-Webhook/1' },
      path: '/prod/webhooks/sigmate',
      protocol: 'HTTP/1.1',
      requestId: randomUUID(),
      requestTime: new Date(now).toUTCString(),
      requestTimeEpoch: now,
      resourceId: 'abc123',
      resourcePath: '/webhooks/sigmate',
      stage: 'prod',
    },
    body: Buffer.from(text).toString('base64'),
    isBase64Encoded: true,
  };
}

function context() {
  const deadline = Date.now() + 4000;
  return {
    functionName: 'bench-sigmate',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bench-sigmate',
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/bench-sigmate',
    logStreamName: 'bench',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

const pending = new Map();
process.on('message', (message) => {
  pending.get(message.ack)?.();
  pending.delete(message.ack);
});
/** Tells the runner a phase starts or ends, and waits until it has taken its snapshot. */
function mark(name) {
  return new Promise((done) => {
    pending.set(name, done);
    process.send({ type: 'mark', name });
  });
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

async function run(handler, ids, label) {
  const statuses = {};
  const latencies = [];
  const bytesBefore = outputBytes;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (const id of ids) {
    const t = performance.now();
    const result = await handler(event(id), context());
    latencies.push(performance.now() - t);
    statuses[result.statusCode] = (statuses[result.statusCode] ?? 0) + 1;
  }
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  return {
    label,
    events: ids.length,
    statuses,
    cpuUsPerEvent: (cpu.user + cpu.system) / ids.length,
    userUsPerEvent: cpu.user / ids.length,
    wallUsPerEvent: (wallMs * 1000) / ids.length,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    outputBytesPerEvent: (outputBytes - bytesBefore) / ids.length,
  };
}

async function cold() {
  // Monotonic microseconds, the clock of a --cpu-prof profile (bench/profile.ts).
  const startUs = Number(process.hrtime.bigint() / 1000n);
  const start = performance.now();
  const module_ = await import(pathToFileURL(bundle).href);
  const imported = performance.now();
  const result = await module_.handler(event(randomUUID()), context());
  const answered = performance.now();
  const answeredUs = Number(process.hrtime.bigint() / 1000n);
  const cpu = process.cpuUsage();
  process.send({
    type: 'cold',
    nodeBootMs: start,
    importMs: imported - start,
    firstInvokeMs: answered - imported,
    initToAnswerMs: answered - start,
    processToAnswerMs: answered,
    cpuMs: (cpu.user + cpu.system) / 1000,
    rssMb: process.memoryUsage.rss() / 2 ** 20,
    statusCode: result.statusCode,
    body: result.body,
    startUs,
    answeredUs,
  });
}

async function warm() {
  const events = Number(process.env.BENCH_WARM_EVENTS ?? 10_000);
  const warmup = Number(process.env.BENCH_WARMUP_EVENTS ?? 500);
  const callSamples = Number(process.env.BENCH_CALL_SAMPLES ?? 20);
  const { handler } = await import(pathToFileURL(bundle).href);
  const ids = (count) => Array.from({ length: count }, () => randomUUID());

  await run(handler, ids(warmup), 'warmup');
  const fresh = ids(events);
  const accepted = await run(handler, fresh, 'accepted');
  const duplicate = await run(handler, fresh, 'duplicate');

  // Calls per event, counted by the loopback server between marks.
  const callIds = ids(callSamples);
  await mark('calls:accepted:start');
  const acceptedCalls = await run(handler, callIds, 'calls-accepted');
  await mark('calls:accepted:end');
  await mark('calls:duplicate:start');
  const duplicateCalls = await run(handler, callIds, 'calls-duplicate');
  await mark('calls:duplicate:end');
  // In flight: a second delivery while the first waits on a slow SendMessage.
  await mark('calls:inflight:start');
  const inflightStatuses = {};
  for (const id of ids(callSamples)) {
    const first = handler(event(id), context());
    await new Promise((done) => setTimeout(done, 20));
    const second = await handler(event(id), context());
    inflightStatuses[second.statusCode] = (inflightStatuses[second.statusCode] ?? 0) + 1;
    await first;
  }
  await mark('calls:inflight:end');
  process.send({
    type: 'warm',
    accepted,
    duplicate,
    statuses: {
      accepted: acceptedCalls.statuses,
      duplicate: duplicateCalls.statuses,
      inflight: inflightStatuses,
    },
    callSamples,
    rssMb: process.memoryUsage.rss() / 2 ** 20,
  });
}

await (mode === 'cold' ? cold() : warm());
process.disconnect();
