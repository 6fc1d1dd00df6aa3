import { describe, expect, inject, it } from 'vitest';
import {
  answersLost,
  completionFails,
  dynamodbDown,
  killedAfterEnqueue,
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

  it('loses nothing when DynamoDB goes down mid-stream', async () => {
    const result = await dynamodbDown(emulators);
    expectNothingLost(result);
    expect(result.statuses['503 retry']).toBe(10);
    expect(result.duplicates).toBe(0);
  });

  it('loses nothing when SQS hangs past the function budget and the runtime kills it', async () => {
    const result = await sqsSlow(emulators);
    expectNothingLost(result);
    expect(result.statuses.killed).toBe(3);
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
    expect(result.statuses['200 accepted']).toBe(30);
  });
});
