import { describe, expect, inject, it } from 'vitest';
import {
  ambiguousClaims,
  answersLost,
  archiveDown,
  completionFails,
  consumerQueueDown,
  dynamodbDown,
  forgedArchiveRecords,
  killedAfterEnqueue,
  neverAcknowledged,
  poisonContent,
  type ScenarioResult,
  sqsDown,
  sqsRestarted,
  sqsSlow,
} from '../support/faults.js';

/** The contract's Idempotency promises, checked on one scenario's counts. */
function expectNothingLost(result: ScenarioResult): void {
  const summary = JSON.stringify(result);
  expect(result.lost, summary).toBe(0);
  expect(result.unacknowledged, summary).toBe(0);
  expect(result.badRedeliveries, summary).toBe(0);
  expect(result.stuckClaims, summary).toBe(0);
  expect(result.duplicates, summary).toBeLessThanOrEqual(result.crashes);
  expect(result.onQueue, summary).toBe(result.unique + result.duplicates);
  // Every acknowledged event is in the archive (its record went first).
  expect(result.archiveLost, summary).toBe(0);
}

describe('reliability: faults on the emulators', () => {
  const emulators = inject('emulators');

  it('loses nothing when SQS goes down mid-stream, and answers 503 while it is down', async () => {
    const result = await sqsDown(emulators);
    expectNothingLost(result);
    expect(result.statuses['503 retry']).toBe(10);
    expect(result.duplicates).toBe(0);
  });

  it('loses nothing when the SQS emulator process is stopped mid-stream and restarted', async () => {
    const result = await sqsRestarted(emulators);
    expectNothingLost(result);
    expect(result.statuses['503 retry']).toBe(10);
    expect(result.duplicates).toBe(0);
  });

  it('answers 503 while the archive queue is down and puts nothing on the consumer queue meanwhile', async () => {
    const result = await archiveDown(emulators);
    expectNothingLost(result);
    expect(result.statuses['503 retry']).toBe(10);
    // The archive goes first: a refused archive send never reaches the consumer's queue.
    expect(result.duplicates).toBe(0);
    expect(result.archiveExtra).toBe(0);
  });

  it('answers 503 while the consumer queue is down; the archive keeps each refused attempt once', async () => {
    const result = await consumerQueueDown(emulators);
    expectNothingLost(result);
    expect(result.statuses['503 retry']).toBe(10);
    expect(result.duplicates).toBe(0);
    expect(result.archiveExtra).toBe(10);
  });

  it('never replays a delivery answered 503 until the provider gave up, and replays every acknowledged one once', async () => {
    const result = await neverAcknowledged(emulators);
    expectNothingLost(result);
    expect(result).toMatchObject({ acknowledged: 20, unique: 20, duplicates: 0 });
    // Each of the 10 abandoned events was archived 3 times, settled as not acknowledged.
    expect(result.archiveExtra).toBe(30);
    expect(result.replayedWrong).toBe(0);
  });

  it('replays the genuine event, never a forged archive record, wherever it was sent', async () => {
    const result = await forgedArchiveRecords(emulators);
    expectNothingLost(result);
    expect(result).toMatchObject({ acknowledged: 30, onQueue: 30, duplicates: 0 });
    // 20 forged records reached the archive (as not acknowledged); 10 sent to another
    // provider's archive queue were refused.
    expect(result.archiveExtra).toBe(20);
    expect(result.replayedWrong).toBe(0);
  });

  it('loses nothing when DynamoDB goes down mid-stream', async () => {
    const result = await dynamodbDown(emulators);
    expectNothingLost(result);
    expect(result.statuses['503 retry']).toBe(10);
    expect(result.duplicates).toBe(0);
  });

  it('answers 503 when SQS hangs past the budget, and counts each aborted send as ambiguous', async () => {
    const result = await sqsSlow(emulators);
    expectNothingLost(result);
    expect(result.statuses['503 retry']).toBe(3);
    expect(result.ambiguous).toBe(3);
    // The held sends land after the abort: at most one extra message per ambiguous send.
    expect(result.duplicates).toBeLessThanOrEqual(3);
  });

  it('releases a claim whose every answer was lost, so the immediate retry is accepted', async () => {
    const result = await ambiguousClaims(emulators);
    expectNothingLost(result);
    expect(result.statuses['503 retry']).toBe(3);
    expect(result.statuses['redelivery 200 accepted']).toBe(3);
    expect(result.statuses['redelivery 409 in_progress']).toBeUndefined();
    expect(result.duplicates).toBe(0);
  });

  it('accepts every verified event whose content SQS refuses raw, escaped, never a 503', async () => {
    const result = await poisonContent(emulators);
    expectNothingLost(result);
    expect(result.statuses['200 accepted']).toBe(result.unique);
    expect(result.statuses['503 retry']).toBeUndefined();
  });

  it('enqueues at most one duplicate per process killed between enqueue and completion', async () => {
    const result = await killedAfterEnqueue(emulators);
    expectNothingLost(result);
    expect(result.crashes).toBe(5);
  });

  it('acknowledges an event whose completion write fails, and keeps duplicates within the failures', async () => {
    const result = await completionFails(emulators);
    expectNothingLost(result);
    expect(result.statuses['200 accepted']).toBe(30);
  });

  it('answers a delivery whose own claim or enqueue answer was lost, without blocking on itself', async () => {
    const result = await answersLost(emulators);
    expectNothingLost(result);
    // Lost PutItem answers are retried and find their own claim: accepted. Lost SendMessage
    // answers are ambiguous: 503, the claim released, at most one extra message each.
    expect(result.statuses['200 accepted']).toBe(27);
    expect(result.statuses['503 retry']).toBe(3);
    expect(result.ambiguous).toBe(3);
    expect(result.duplicates).toBeLessThanOrEqual(3);
  });
});
