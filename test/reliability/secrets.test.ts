import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../functions/core/observability.js';
import type { Log } from '../../functions/core/pipeline.js';
import { CapturingLog, FaultProxy, Rig } from '../support/faults.js';
import { startTestIngress } from '../support/harness.js';
import { apiEvent, type Delivery, fixtureEnv, registeredFixtures } from '../support/providers.js';

/**
 * Every line this file's run writes — the handlers' structured logs, Powertools
 * at DEBUG on stdout, anything on stderr — searched for secrets and signatures.
 */
describe('reliability: no secret or signature is ever logged', () => {
  const emulators = inject('emulators');
  const captured: string[] = [];
  const sent = new Set<string>();
  const restore: (() => void)[] = [];

  beforeAll(() => {
    // Loudest level: whatever the handlers can log, they log here.
    process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream);
      // Kept, not echoed: a DEBUG run would flood the test output.
      stream.write = ((chunk: string | Uint8Array) => {
        captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return true;
      }) as typeof stream.write;
      restore.push(() => {
        stream.write = write;
      });
    }
  });
  afterAll(() => {
    for (const undo of restore) undo();
  });

  function remember(delivery: Pick<Delivery, 'headers'>, signatureHeaders: readonly string[]) {
    for (const [name, value] of delivery.headers) {
      if (!signatureHeaders.includes(name.toLowerCase())) continue;
      // Short values (an empty header, a bare `sha256=`) would match innocent text.
      if (value.length >= 16) sent.add(value);
      const digest = value.replace(/^sha256=/, '');
      if (digest.length >= 16) sent.add(digest);
    }
  }

  it('runs every outcome, faults included, through the handlers with full logging', async () => {
    const memory = new CapturingLog();
    const powertools = createLogger('sigmate');
    const log: Log = {
      info: (message, attributes) => {
        memory.info(message, attributes);
        powertools.info(message, attributes);
      },
      warn: (message, attributes) => {
        memory.warn(message, attributes);
        powertools.warn(message, attributes);
      },
      error: (message, attributes) => {
        memory.error(message, attributes);
        powertools.error(message, attributes);
      },
    };
    const dynamodb = await FaultProxy.start(emulators.dynamodb);
    const sqs = await FaultProxy.start(emulators.sqs);
    const rig = await Rig.create({
      dynamodb: dynamodb.endpoint,
      sqs: sqs.endpoint,
      verifyDynamodb: emulators.dynamodb,
      verifySqs: emulators.sqs,
      log,
      maxAttempts: 1,
    });
    try {
      for (const fixture of rig.fixtures) {
        const statuses = new Set<number>();
        const send = async (delivery: Delivery) => {
          remember(delivery, fixture.signatureHeaders);
          const result = await rig.invoke(delivery);
          if (!result.killed) statuses.add(result.statusCode);
        };
        const event = fixture.event(`secrets-${Date.now()}`);
        await send(event); // accepted
        await send(event); // duplicate
        for (const miss of fixture.nearMisses(event.body)) {
          await send({
            ...event,
            headers: event.headers.map(([name, value]) => [
              name,
              fixture.signatureHeaders.includes(name) ? miss : value,
            ]),
          });
        }
        await send(fixture.sign(Buffer.from('not json')));
        await send(fixture.sign(Buffer.alloc(300 * 1024, 0x20)));
        dynamodb.setDown(true);
        await send(fixture.event(`secrets-ddb-${Date.now()}`));
        dynamodb.setDown(false);
        sqs.setDown(true);
        await send(fixture.event(`secrets-sqs-${Date.now()}`));
        sqs.setDown(false);
        dynamodb.inject({ operation: 'UpdateItem', action: 'error', times: 1 });
        await send(fixture.event(`secrets-complete-${Date.now()}`));
        const raw = await rig.call(fixture.provider, { ...apiEvent(event), isBase64Encoded: true });
        statuses.add(raw.statusCode);
        expect([...statuses]).toEqual(expect.arrayContaining([200, 401, 400, 413, 503]));
      }
    } finally {
      rig.close();
      await Promise.all([dynamodb.close(), sqs.close()]);
    }
    captured.push(...memory.lines);
    expect(memory.lines.some((line) => line.includes('signatureFailure'))).toBe(true);
    expect(memory.lines.some((line) => line.includes('completion write failed'))).toBe(true);
  });

  it('runs signed and mis-signed deliveries through the local HTTP server', async () => {
    const ingress = await startTestIngress({ env: fixtureEnv() });
    try {
      for (const fixture of registeredFixtures()) {
        const event = fixture.event(`secrets-http-${Date.now()}`);
        for (const headers of [
          event.headers,
          ...fixture
            .nearMisses(event.body)
            .map((miss) =>
              event.headers.map(([name, value]): [string, string] => [
                name,
                fixture.signatureHeaders.includes(name) ? miss : value,
              ]),
            ),
        ]) {
          remember({ headers }, fixture.signatureHeaders);
          await ingress.post(event.path, event.body, Object.fromEntries(headers));
        }
      }
      captured.push(ingress.log.text());
    } finally {
      await ingress.stop();
    }
  });

  it('finds no configured secret, derived key or received signature in any captured line', () => {
    const text = captured.join('\n');
    expect(text.length).toBeGreaterThan(1000);
    const secrets = registeredFixtures().flatMap((fixture) => fixture.secretValues);
    expect(secrets.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(text.includes(secret), `secret ${secret}`).toBe(false);
    expect(sent.size).toBeGreaterThan(10);
    for (const signature of sent) {
      expect(text.includes(signature), `signature ${signature}`).toBe(false);
    }
  });
});
