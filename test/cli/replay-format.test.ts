import { describe, expect, it, onTestFinished } from 'vitest';
import { parseInstant } from '../../cli/flags.js';
import { oneLine, printable } from '../../cli/format.js';
import { sendBatches } from '../../cli/queue.js';
import { markReplay } from '../../cli/replay.js';
import { buildEnvelope } from '../../functions/core/envelope.js';

describe('cli replay: marking an envelope', () => {
  const payload = '{"id":"e-1","amount":1.10,"note":",\\"payload\\":x"}';
  const stored = buildEnvelope(
    {
      id: 'env-1',
      provider: 'sigmate',
      type: 'signal.fired',
      idempotencyKey: 'e-1',
      receivedAt: '2026-11-23T10:00:00.000Z',
    },
    payload,
  );

  it('adds replay: true and keeps id, idempotencyKey and receivedAt', () => {
    const replayed = JSON.parse(markReplay(stored));
    expect(replayed).toMatchObject({
      version: 1,
      id: 'env-1',
      idempotencyKey: 'e-1',
      receivedAt: '2026-11-23T10:00:00.000Z',
      replay: true,
    });
  });

  it('keeps the payload’s exact bytes, digits included', () => {
    expect(markReplay(stored).endsWith(`,"payload":${payload}}`)).toBe(true);
  });

  it('refuses text that is not an envelope', () => {
    expect(() => markReplay('{"hello":1}')).toThrow(/not an envelope/);
  });

  it('refuses an envelope that names another event than the archive line selecting it', () => {
    const record = { provider: 'sigmate', envelopeId: 'env-1', idempotencyKey: 'e-1' };
    expect(() => markReplay(stored, record)).not.toThrow();
    for (const other of [
      { ...record, provider: 'sigma' },
      { ...record, envelopeId: 'env-2' },
      { ...record, idempotencyKey: 'poison-1' },
    ]) {
      expect(() => markReplay(stored, other)).toThrow(/names another event/);
    }
  });
});

describe('cli output: provider text on a terminal', () => {
  it('shows control characters as escapes: one event stays one line, no escape sequence runs', () => {
    const forged = buildEnvelope(
      {
        id: 'env-x',
        provider: 'sigmate',
        type: 'signal.fired',
        idempotencyKey: 'k1\u001b[2J\n2026-07-01T00:00:00.000Z sigmate signal.fired key=FAKE',
        receivedAt: '2026-11-23T10:00:00.000Z',
      },
      '{}',
    );
    const line = oneLine({ messageId: '', body: forged, receiveCount: 0 });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must not appear.
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(line).toContain('key=k1\\u001b[2J\\u000a2026-07-01');
    expect(printable('a\u2028b\u0085c')).toBe('a\\u2028b\\u0085c');
  });
});

describe('cli replay: times', () => {
  const now = new Date('2026-11-23T10:00:00.000Z');

  it('reads durations as time before now', () => {
    expect(parseInstant('15m', '--since', now).toISOString()).toBe('2026-11-23T09:45:00.000Z');
    expect(parseInstant('2d', '--since', now).toISOString()).toBe('2026-11-21T10:00:00.000Z');
  });

  it('reads ISO-8601 times and refuses anything else', () => {
    expect(parseInstant('2026-11-20T00:00:00Z', '--since', now).toISOString()).toBe(
      '2026-11-20T00:00:00.000Z',
    );
    expect(() => parseInstant('yesterday', '--since', now)).toThrow(/--since must be/);
    expect(() => parseInstant('2026-02-30Tnope', '--since', now)).toThrow(/--since must be/);
    // Days the calendar lacks are refused, not rolled over into the next month.
    for (const missing of ['2026-02-30', '2026-02-29', '2026-04-31T00:00', '2026-03-29T24:00']) {
      expect(() => parseInstant(missing, '--since', now), missing).toThrow(/--since must be/);
    }
    expect(parseInstant('2028-02-29', '--since', now).toISOString()).toBe(
      '2028-02-29T00:00:00.000Z',
    );
    expect(() => parseInstant('99999999999d', '--since', now)).toThrow(/--since must be/);
  });

  it('reads a time without an offset as UTC, never the machine’s zone', () => {
    const zone = process.env.TZ;
    // Node reads TZ again when it changes: a zone west of UTC makes the difference show.
    process.env.TZ = 'America/New_York';
    onTestFinished(() => {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    });
    expect(parseInstant('2026-11-20T10:00:00', '--since', now).toISOString()).toBe(
      '2026-11-20T10:00:00.000Z',
    );
    expect(parseInstant('2026-11-20T10:00:00+02:00', '--since', now).toISOString()).toBe(
      '2026-11-20T08:00:00.000Z',
    );
    // The space form too (Date would read it in the machine's zone).
    expect(parseInstant('2026-03-29 01:30', '--since', now).toISOString()).toBe(
      '2026-03-29T01:30:00.000Z',
    );
    expect(parseInstant('2026-11-20T10:00-0130', '--since', now).toISOString()).toBe(
      '2026-11-20T11:30:00.000Z',
    );
  });
});

describe('cli queues: send batches', () => {
  it('puts at most 10 messages and 256 KiB of bodies in a batch', () => {
    const small = Array.from({ length: 25 }, () => 'x');
    expect(sendBatches(small, (body) => body).map((batch) => batch.length)).toEqual([10, 10, 5]);
    const big = Array.from({ length: 3 }, () => 'y'.repeat(200 * 1024));
    expect(sendBatches(big, (body) => body).map((batch) => batch.length)).toEqual([1, 1, 1]);
  });
});
