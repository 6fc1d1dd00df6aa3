import { describe, expect, it } from 'vitest';
import {
  type ArchivedEvent,
  checkRange,
  datesOf,
  LatestAttempts,
  parseArchiveLine,
} from '../../cli/archive.js';
import { archiveLine } from './cli-support.js';

describe('cli archive: where a read looks', () => {
  it('needs the UTC day partitions from since to until, both included', () => {
    expect(
      datesOf(new Date('2026-02-27T23:00:00+05:00'), new Date('2026-03-01T00:00:00.000Z')),
    ).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
    expect(datesOf(new Date('2026-03-01T10:00:00Z'), new Date('2026-03-01T11:00:00Z'))).toEqual([
      '2026-03-01',
    ]);
    expect(datesOf(new Date('2026-03-02T00:00:00Z'), new Date('2026-03-01T00:00:00Z'))).toEqual([]);
  });

  it('refuses a backwards range and one of over ten years', () => {
    expect(() => checkRange(new Date('2026-01-02'), new Date('2026-01-01'))).toThrow(
      '--since is after --until',
    );
    expect(() => checkRange(new Date('2016-01-01'), new Date('2026-01-01'))).not.toThrow();
    expect(() => checkRange(new Date('2015-12-01'), new Date('2026-01-01'))).toThrow(
      /at most 3660 \(ten years\)/,
    );
  });
});

describe('cli archive: lines', () => {
  const line = archiveLine({ key: 'k', envelopeId: 'e', receivedAt: '2026-01-01T00:00:00.000Z' });

  it('takes an archive record of the provider', () => {
    expect(parseArchiveLine(line, 'sigmate')).toMatchObject({
      archiveVersion: 1,
      idempotencyKey: 'k',
      envelopeId: 'e',
      sourceIp: '203.0.113.7',
    });
  });

  it.each([
    ['another provider’s record', line, 'signifyd'],
    ['not JSON', '{"archiveVersion":1,', 'sigmate'],
    ['not an object', '[1]', 'sigmate'],
    ['another version', line.replace('"archiveVersion":1', '"archiveVersion":2'), 'sigmate'],
    ['no envelope id', line.replace('"envelopeId":"e"', '"envelopeId":""'), 'sigmate'],
    [
      'a time that is not one',
      line.replace('2026-01-01T00:00:00.000Z', '2026-13-45Tnope'),
      'sigmate',
    ],
    [
      'an envelope that is not a string',
      line.replace(/"envelope":".*"}$/, '"envelope":{}}'),
      'sigmate',
    ],
    [
      'a subject that is not a string',
      line.replace('"idempotencyKey"', '"subject":7,"idempotencyKey"'),
      'sigmate',
    ],
  ])('refuses %s', (_, text, provider) => {
    expect(parseArchiveLine(text, provider)).toBeUndefined();
  });
});

describe('cli archive: one event per idempotency key', () => {
  const event = (key: string, envelopeId: string, receivedAt: string): ArchivedEvent => ({
    archiveVersion: 1,
    provider: 'sigmate',
    type: 't',
    product: undefined,
    subject: undefined,
    idempotencyKey: key,
    envelopeId,
    receivedAt,
    sourceIp: undefined,
    requestId: undefined,
    envelope: '{}',
    objectKey: `object-of-${envelopeId}`,
  });
  const attempts = [
    event('k', 'b', '2026-01-01T10:00:05.000Z'),
    event('k', 'a', '2026-01-01T10:00:00.000Z'),
    event('k', 'c', '2026-01-01T10:00:05.000Z'),
    event('j', 'z', '2026-01-01T09:00:00.000Z'),
  ];

  it('keeps the latest attempt (ties: the greater envelope id), whatever the reading order', () => {
    for (const order of [attempts, [...attempts].reverse()]) {
      const kept = new LatestAttempts();
      for (const item of order) kept.add(item);
      expect(kept.events().map(({ event: e, attempts: n }) => [e.envelopeId, n])).toEqual([
        ['z', 1],
        ['c', 3],
      ]);
      expect(kept.earlierAttempts).toBe(2);
      expect(kept.copies).toBe(0);
    }
  });

  it('drops exact copies, and keeps the preferred attempt when there is one', () => {
    const kept = new LatestAttempts((item) => item.envelopeId === 'a');
    for (const item of [...attempts, ...attempts]) kept.add(item);
    expect(kept.copies).toBe(4);
    expect(kept.events().map(({ event: e, attempts: n }) => [e.envelopeId, n])).toEqual([
      ['z', 1],
      ['a', 3],
    ]);
  });
});
