import { randomUUID } from 'node:crypto';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { localClients } from '../../local/ingress.js';

// SQS's rule for message bodies: #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF.
const ACCEPTED = {
  'tab, LF, CR': '\t\n\r',
  'U+0020': ' ',
  'U+D7FF': '\uD7FF',
  'U+E000': '\uE000',
  'U+FFFD': '\uFFFD',
  'U+10000 (first outside the BMP)': '\u{10000}',
  'an emoji, U+1F600': '😀',
  'U+10FFFF (the last code point)': '\u{10FFFF}',
};
const REFUSED = {
  'U+0000': '\u0000',
  'U+0008': '\u0008',
  'U+000B': '\u000B',
  'U+001F': '\u001F',
  'U+FFFE': '\uFFFE',
  'U+FFFF': '\uFFFF',
  'a lone high surrogate': '\uD800',
  'a lone low surrogate': '\uDC00',
};

describe('local mode: the SQS emulator accepts exactly what SQS accepts', () => {
  const clients = localClients(inject('emulators'));
  let queueUrl: string;

  beforeAll(async () => {
    const created = await clients.sqs.send(
      new CreateQueueCommand({ QueueName: `unicode-${randomUUID().slice(0, 8)}` }),
    );
    queueUrl = created.QueueUrl ?? '';
  });
  afterAll(async () => {
    await clients.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    clients.sqs.destroy();
    clients.dynamodb.destroy();
  });

  it.each(Object.entries(ACCEPTED))('accepts %s and hands it back unchanged', async (_, text) => {
    const body = `{"note":"a${text}b"}`;
    await clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    const { Messages = [] } = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
    );
    expect(Messages.map((message) => message.Body)).toEqual([body]);
    await clients.sqs.send(
      new DeleteMessageCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: Messages[0]?.ReceiptHandle,
      }),
    );
  });

  it.each(Object.entries(REFUSED))('refuses %s as InvalidMessageContents', async (_, text) => {
    await expect(
      clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `a${text}b` })),
    ).rejects.toMatchObject({ name: expect.stringMatching(/InvalidMessageContents$/) });
  });

  it('applies the same rule to each entry of a batch', async () => {
    const { Successful = [], Failed = [] } = await clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'emoji', MessageBody: 'pay 😀' },
          { Id: 'nonchar', MessageBody: 'pay \uFFFF' },
        ],
      }),
    );
    expect(Successful.map((entry) => entry.Id)).toEqual(['emoji']);
    expect(Failed).toMatchObject([{ Id: 'nonchar', Code: 'InvalidMessageContents' }]);
  });
});
