// The benchmark's child process: a fresh Node that imports one Lambda bundle and drives
// its handler as the Lambda runtime would, reporting to the runner over IPC. Plain
// JavaScript on purpose, so no loader (tsx) sits between Node's start and the bundle.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
// Lambda's Node.js runtime interface client has loaded `node:http` with `require` (its
// Runtime API client) before it loads the handler, and nothing of `https`, `tls` or undici:
// every subject starts from that state (docs/decisions.md §21).
require('node:http');

const [given = '', mode = 'cold'] = process.argv.slice(2);
const bundle = resolve(given);
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
      // An HTTP API's request id, as in its `apigw-requestid` header: 16 characters.
      requestId: randomBytes(11).toString('base64'),
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

/** Whether the nearest package.json above `file` says `"type": "module"`. */
function inModuleScope(file) {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (dir.endsWith('/node_modules')) return false;
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) return JSON.parse(readFileSync(manifest, 'utf8')).type === 'module';
    if (dir === dirname(dir)) return false;
  }
}

/**
 * Loads the handler's module as the runtime interface client does (src/UserFunction.js
 * `_tryRequire`): `.mjs`, and `.js` in a `"type": "module"` scope, by `import()`; `.js`
 * otherwise and `.cjs` by `require`.
 */
async function loadHandler(file) {
  if (file.endsWith('.mjs') || (file.endsWith('.js') && inModuleScope(file))) {
    return import(pathToFileURL(file).href);
  }
  return require(file);
}

/** The function's timeout (4 s); a probe under valgrind is given longer. */
const timeoutMs = Number(process.env.BENCH_FUNCTION_TIMEOUT_MS ?? 4000);

function context() {
  const deadline = Date.now() + timeoutMs;
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

/**
 * One invocation as the runtime interface client makes it: the invocation's X-Ray trace
 * header in `_X_AMZN_TRACE_ID` (src/InvokeContext.js `_forwardXRay`; Lambda sends one with
 * every invocation, `Sampled=0` when tracing is off), then the handler with the event and
 * the context.
 */
function invoke(handler, id) {
  const epoch = Math.floor(Date.now() / 1000).toString(16);
  process.env._X_AMZN_TRACE_ID = `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`;
  return handler(event(id), context());
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
    const result = await invoke(handler, id);
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
  const cpuAtStart = process.cpuUsage();
  const start = performance.now();
  const module_ = await loadHandler(bundle);
  const imported = performance.now();
  const importCpu = process.cpuUsage(cpuAtStart);
  const result = await invoke(module_.handler, randomUUID());
  const answered = performance.now();
  const answeredUs = Number(process.hrtime.bigint() / 1000n);
  const cpu = process.cpuUsage();
  const initCpu = process.cpuUsage(cpuAtStart);
  process.send({
    type: 'cold',
    nodeBootMs: start,
    importMs: imported - start,
    firstInvokeMs: answered - imported,
    initToAnswerMs: answered - start,
    processToAnswerMs: answered,
    cpuMs: (cpu.user + cpu.system) / 1000,
    // CPU of this process from the load to the answer: what a busy machine disturbs least.
    importCpuMs: (importCpu.user + importCpu.system) / 1000,
    initCpuMs: (initCpu.user + initCpu.system) / 1000,
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
  const { handler } = await loadHandler(bundle);
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
    const first = invoke(handler, id);
    await new Promise((done) => setTimeout(done, 20));
    const second = await invoke(handler, id);
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

/**
 * Several subjects in this one process, their warm batches interleaved, so that whatever
 * else runs on the machine falls on each alike: `BENCH_INTERLEAVE` lists them as
 * `{ name, file, env }` (the bundle given on the command line is not loaded). Each is
 * loaded afresh with its own environment (the same file may come twice, configured
 * otherwise), warmed up, then measured in `BENCH_BATCHES` rounds of `BENCH_BATCH_EVENTS`
 * accepted events, the order reversed every other round.
 */
async function interleaved() {
  const specs = JSON.parse(process.env.BENCH_INTERLEAVE ?? '[]');
  const batches = Number(process.env.BENCH_BATCHES ?? 40);
  const size = Number(process.env.BENCH_BATCH_EVENTS ?? 50);
  const warmup = Number(process.env.BENCH_WARMUP_EVENTS ?? 500);
  const ids = (count) => Array.from({ length: count }, () => randomUUID());
  const subjects = [];
  for (const spec of specs) {
    const saved = {};
    for (const [key, value] of Object.entries(spec.env)) {
      saved[key] = process.env[key];
      process.env[key] = value;
    }
    // CommonJS bundles are loaded afresh; an ES module would be the same instance again.
    delete require.cache[spec.file];
    const { handler } = await loadHandler(spec.file);
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    subjects.push({ name: spec.name, handler, cpuUsPerEvent: [], statuses: {}, bytes: 0 });
  }
  for (const subject of subjects) await run(subject.handler, ids(warmup), 'warmup');
  for (let round = 0; round < batches; round += 1) {
    for (const subject of round % 2 === 0 ? subjects : [...subjects].reverse()) {
      const result = await run(subject.handler, ids(size), 'batch');
      subject.cpuUsPerEvent.push(result.cpuUsPerEvent);
      subject.bytes += result.outputBytesPerEvent * result.events;
      for (const [status, count] of Object.entries(result.statuses)) {
        subject.statuses[status] = (subject.statuses[status] ?? 0) + count;
      }
    }
  }
  process.send({
    type: 'interleaved',
    subjects: subjects.map(({ name, cpuUsPerEvent, statuses, bytes }) => ({
      name,
      cpuUsPerEvent,
      statuses,
      outputBytesPerEvent: bytes / (batches * size),
    })),
  });
}

await (mode === 'cold' ? cold() : mode === 'interleaved' ? interleaved() : warm());
process.disconnect();
