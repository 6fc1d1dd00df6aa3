import { describe, expect, it } from 'vitest';
import { type ArchivedEvent, checkRange, datesOf, parseArchiveLine } from '../../cli/archive.js';
import { ArchivedAttempts } from '../../cli/attempts.js';
import { acknowledgedBy, Settlement } from '../../functions/core/archive.js';
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

  it('takes an archive record of the provider, with its settlement', () => {
    expect(parseArchiveLine(line, 'sigmate')).toMatchObject({
      archiveVersion: 2,
      idempotencyKey: 'k',
      envelopeId: 'e',
      sourceIp: '203.0.113.7',
      acknowledged: true,
      settlement: 'completed',
    });
  });

  it('still takes a line written before attempts were settled (version 1)', () => {
    const old = line
      .replace('"archiveVersion":2', '"archiveVersion":1')
      .replace(/"acknowledged":true,"settlement":"completed","settledAt":"[^"]*",/, '');
    expect(parseArchiveLine(old, 'sigmate')).toMatchObject({ archiveVersion: 1, envelopeId: 'e' });
    expect(parseArchiveLine(old, 'sigmate')?.settlement).toBeUndefined();
  });

  it.each([
    ['another provider’s record', line, 'signifyd'],
    ['not JSON', '{"archiveVersion":1,', 'sigmate'],
    ['not an object', '[1]', 'sigmate'],
    ['another version', line.replace('"archiveVersion":2', '"archiveVersion":3'), 'sigmate'],
    [
      'a verdict its settlement does not give',
      line.replace('"acknowledged":true', '"acknowledged":false'),
      'sigmate',
    ],
    [
      'an unknown settlement',
      line.replace('"settlement":"completed"', '"settlement":"trust-me"'),
      'sigmate',
    ],
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

describe('cli archive: one event per idempotency key, the acknowledged one', () => {
  const event = (
    key: string,
    envelopeId: string,
    receivedAt: string,
    settlement: Settlement = Settlement.OtherCompleted,
    envelope = '{}',
  ): ArchivedEvent => ({
    archiveVersion: 2,
    provider: 'sigmate',
    type: 't',
    product: undefined,
    subject: undefined,
    idempotencyKey: key,
    envelopeId,
    receivedAt,
    sourceIp: undefined,
    requestId: undefined,
    acknowledged: acknowledgedBy(settlement),
    settlement,
    settledAt: receivedAt,
    envelope,
    bucket: 'archive',
    objectKey: `object-of-${envelopeId}`,
  });
  const keysOf = (events: readonly ArchivedEvent[]) => {
    const kept = new ArchivedAttempts();
    for (const item of events) kept.add(item);
    return { kept, keys: kept.keys() };
  };

  it('keeps the acknowledged attempt, never a later one the record does not name, whatever the reading order', () => {
    const attempts = [
      event('k', 'a', '2026-01-01T10:00:00.000Z', Settlement.OtherCompleted),
      event('k', 'b', '2026-01-01T10:00:05.000Z', Settlement.Completed),
      // Received later, but not the attempt the completed record names (a forged record).
      event('k', 'z', '2026-01-01T11:00:00.000Z', Settlement.OtherCompleted),
      event('j', 'y', '2026-01-01T09:00:00.000Z', Settlement.Completed),
    ];
    for (const order of [attempts, [...attempts].reverse()]) {
      const { keys } = keysOf(order);
      expect(keys.map((key) => [key.idempotencyKey, key.acknowledged?.envelopeId])).toEqual([
        ['j', 'y'],
        ['k', 'b'],
      ]);
      expect(keys.find((key) => key.idempotencyKey === 'k')?.attempts).toHaveLength(3);
    }
  });

  it('offers a key never acknowledged only for recovery: its latest attempt that nothing contradicts', () => {
    const { keys } = keysOf([
      event('n', 'n1', '2026-01-01T10:00:00.000Z', Settlement.NoRecord),
      event('n', 'n2', '2026-01-01T10:00:02.000Z', Settlement.NoRecord),
      event('n', 'n3', '2026-01-01T10:00:04.000Z', Settlement.DigestMismatch),
      // Its acknowledged attempt lies outside what was read: nothing to recover.
      event('o', 'o1', '2026-01-01T10:00:00.000Z', Settlement.OtherCompleted),
    ]);
    const n = keys.find((key) => key.idempotencyKey === 'n');
    expect(n).toMatchObject({ acknowledged: undefined, acknowledgedElsewhere: false });
    expect(n?.recoverable?.envelopeId).toBe('n2');
    const o = keys.find((key) => key.idempotencyKey === 'o');
    expect(o).toMatchObject({ acknowledged: undefined, recoverable: undefined });
    expect(o?.acknowledgedElsewhere).toBe(true);
  });

  it('drops exact copies, and refuses a key two different records claim one envelope id of', () => {
    const genuine = event('k', 'b', '2026-01-01T10:00:05.000Z', Settlement.Completed, '{"a":1}');
    const { kept, keys } = keysOf([genuine, { ...genuine, objectKey: 'copy' }]);
    expect(kept.copies).toBe(1);
    expect(keys[0]?.acknowledged?.envelopeId).toBe('b');

    // Both said to be the acknowledged attempt: neither can be tied, the key is refused.
    const forged = { ...genuine, envelope: '{"a":999999}', objectKey: 'forged' };
    for (const order of [
      [genuine, forged],
      [forged, genuine],
    ]) {
      const [key] = keysOf(order).keys;
      expect(key).toMatchObject({ conflicting: true, acknowledged: undefined });
      expect(key?.recoverable).toBeUndefined();
    }
    // The archiver found the forged one's content differs from the record's digest: the
    // genuine attempt stands, the other is dropped.
    const refuted = { ...forged, acknowledged: false, settlement: Settlement.DigestMismatch };
    for (const order of [
      [genuine, refuted],
      [refuted, genuine],
    ]) {
      const { kept, keys } = keysOf(order);
      expect(keys[0]).toMatchObject({ conflicting: false });
      expect(keys[0]?.acknowledged?.envelope).toBe('{"a":1}');
      expect(kept.contradicting).toBe(1);
    }
  });
});
