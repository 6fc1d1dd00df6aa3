import { createRequire } from 'node:module';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCEPTED_FILTER_PATTERN, type FilterLogEvents } from '../../cli/follow-logs.js';
import { MemoryIo } from '../../cli/io.js';
import { tail } from '../../cli/tail.js';
import { stackTarget } from '../../cli/target.js';
import { cli, describeStacksAnswer } from './cli-support.js';

const logsClientInstalled = (() => {
  try {
    createRequire(import.meta.url).resolve('@aws-sdk/client-cloudwatch-logs');
    return true;
  } catch {
    return false;
  }
})();

function webhookLine(fields: Record<string, string>): string {
  return JSON.stringify({ level: 'INFO', message: 'webhook', outcome: 'accepted', ...fields });
}

describe('cli tail --follow on a stack: the functions’ logs, never the queue (mocked AWS)', () => {
  let cloudFormation: AwsClientStub<CloudFormationClient>;
  let dynamodb: AwsClientStub<DynamoDBClient>;

  beforeAll(() => {
    cloudFormation = mockClient(CloudFormationClient);
    dynamodb = mockClient(DynamoDBClient);
    cloudFormation.on(DescribeStacksCommand).resolves(describeStacksAnswer('s'));
    dynamodb.on(GetItemCommand).resolves({});
  });
  afterAll(() => {
    cloudFormation.restore();
    dynamodb.restore();
  });

  it('shows each accepted event once, from its log line, reading nothing else', async () => {
    const calls: Parameters<FilterLogEvents>[0][] = [];
    const events = [
      {
        eventId: 'e1',
        timestamp: 1,
        message: webhookLine({ provider: 'sigmate', key: 'k-1', id: 'env-1' }),
      },
      {
        eventId: 'e2',
        timestamp: 2,
        message: webhookLine({
          provider: 'sigmate',
          key: 'k-2',
          id: 'env-2',
          subject: 'k-2',
          messageId: 'm-2',
          type: 'signal.fired',
        }),
      },
    ];
    // Every poll answers everything since the start, in two pages: the follow shows each once.
    const filter: FilterLogEvents = async (input) => {
      calls.push(input);
      return input.nextToken
        ? { events: events.slice(1) }
        : { events: events.slice(0, 1), nextToken: 'page-2' };
    };
    const target = await stackTarget({ stack: 's', region: 'eu-west-1' }, {});
    const io = new MemoryIo();
    let now = 1_000;
    const report = await tail(
      target,
      {
        providers: ['sigmate'],
        follow: true,
        format: 'json',
        durationMs: 5_000,
        clock: () => now,
        sleep: async (ms) => {
          now += ms;
        },
        filterLogEvents: filter,
      },
      io,
    );
    target.close();
    expect(report).toMatchObject({ shown: 2, consumed: 0, refusedQueues: [] });
    expect(JSON.parse(io.stdout[0] ?? '')).toMatchObject({ id: 'env-1', idempotencyKey: 'k-1' });
    expect(JSON.parse(io.stdout[1] ?? '')).toMatchObject({
      id: 'env-2',
      idempotencyKey: 'k-2',
      subject: 'k-2',
      messageId: 'm-2',
      shown: 'the function’s log line (the envelope itself is in the audit archive)',
      log: { message: 'webhook', outcome: 'accepted', key: 'k-2' },
    });
    // The records keep no envelope any more: nothing is read from the table per event.
    expect(dynamodb.calls()).toHaveLength(0);
    expect(calls[0]).toEqual({
      logGroupName: 'sigmate-logs',
      filterPattern: ACCEPTED_FILTER_PATTERN,
      startTime: 1_000,
      nextToken: undefined,
    });
    expect(calls.length).toBeGreaterThan(2);
  });

  it.skipIf(logsClientInstalled)(
    'without the CloudWatch Logs client, says how to install it and gives the AWS CLI command',
    async () => {
      const run = await cli([
        'tail',
        '--follow',
        '-p',
        'sigmate',
        '--stack',
        's',
        '--region',
        'eu-west-1',
      ]);
      expect(run.code).toBe(2);
      expect(run.stderr).toHaveLength(1);
      expect(run.stderr[0]).toMatch(
        /needs @aws-sdk\/client-cloudwatch-logs, not installed here .* aws logs tail sigmate-logs --follow --filter-pattern/,
      );
    },
  );
});
