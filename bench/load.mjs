// Load generator for the end-to-end bench: signed Sigmate deliveries over keep-alive HTTP.
// `open` sends at a fixed rate (latency counted from the scheduled time, so a stalled
// server is not hidden); `closed` runs N senders back to back. Prints one JSON report.
import { createHmac, randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';

const [url = '', mode = 'open', rateText = '200', sendersText = '32', secondsText = '10'] =
  process.argv.slice(2);
const rate = Number(rateText);
const senders = Number(sendersText);
const seconds = Number(secondsText);
const secret = process.env.SIGMATE_WEBHOOK_SECRET ?? '';
const agent = new Agent({ keepAlive: true, maxSockets: senders });
const target = new URL(url);

function send() {
  const body = JSON.stringify({
    id: randomUUID(),
    detected_at: new Date().toISOString(),
    signal_type: 'consensus_buy',
    rank: 'A',
    rank_score: 82,
    token: { symbol: 'WIF', dex: 'Raydium', market_cap_usd: 412000, price_usd: 0.0069 },
    wallet_count: 6,
  });
  const signature = createHmac('sha256', secret).update(body).digest('hex');
  return new Promise((done) => {
    const outgoing = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-sigmate-signature': `sha256=${signature}`,
          'x-sigmate-event': 'signal.fired',
        },
      },
      (response) => {
        response.resume();
        response.on('end', () => done(response.statusCode ?? 0));
      },
    );
    outgoing.on('error', () => done(0));
    outgoing.end(body);
  });
}

const latencies = [];
const statuses = {};
let inFlight = 0;
const record = (status, startedAt) => {
  latencies.push(performance.now() - startedAt);
  statuses[status] = (statuses[status] ?? 0) + 1;
};

const started = performance.now();
const deadline = started + seconds * 1000;
if (mode === 'open') {
  const interval = 1000 / rate;
  const total = Math.floor(rate * seconds);
  const backlog = [];
  const pump = async () => {
    while (backlog.length > 0 && inFlight < senders) {
      const scheduled = backlog.shift();
      inFlight += 1;
      void send().then((status) => {
        inFlight -= 1;
        record(status, scheduled);
        void pump();
      });
    }
  };
  await new Promise((done) => {
    let index = 0;
    const tick = () => {
      const now = performance.now();
      while (index < total && started + index * interval <= now) {
        backlog.push(started + index * interval);
        index += 1;
      }
      void pump();
      if (index < total) setTimeout(tick, Math.max(0, started + index * interval - now));
      else done();
    };
    tick();
  });
  while (latencies.length < total) await new Promise((done) => setTimeout(done, 5));
} else {
  await Promise.all(
    Array.from({ length: senders }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        record(await send(), t);
      }
    }),
  );
}
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
process.stdout.write(
  JSON.stringify({
    senders,
    seconds: Math.round(elapsed * 100) / 100,
    sent: latencies.length,
    throughput: Math.round((latencies.length / elapsed) * 10) / 10,
    p50Ms: Math.round(at(0.5) * 100) / 100,
    p99Ms: Math.round(at(0.99) * 100) / 100,
    maxMs: Math.round(at(1) * 100) / 100,
    statuses,
  }),
);
agent.destroy();
