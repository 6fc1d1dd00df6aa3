import { describe, expect, inject, it } from 'vitest';
import { ExitCode } from '../../cli/errors.js';
import { replayAnswerLost } from '../support/replay-faults.js';

describe('reliability: the operator CLI’s writes', () => {
  it('replay with one SendMessageBatch answer lost: nothing lost, each event at most one extra', async () => {
    const result = await replayAnswerLost(inject('emulators'), 25);
    const summary = JSON.stringify(result);
    // The batch SQS took and whose answer was lost: 10 events, sent once, named, exit 6.
    expect(result.firstExitCode, summary).toBe(ExitCode.Ambiguous);
    expect(result.ambiguous, summary).toBe(10);
    expect(result.named, summary).toHaveLength(10);
    expect(result.lost, summary).toBe(0);
    expect(result.unacknowledged, summary).toBe(0);
    expect(result.badRedeliveries, summary).toBe(0);
    expect(result.duplicates, summary).toBeLessThanOrEqual(result.crashes);
    expect(result.onQueue, summary).toBe(result.unique + result.duplicates);
  });
});
