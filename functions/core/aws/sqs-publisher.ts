import { createHash } from 'node:crypto';
import { DependencyError } from '../errors.js';
import type { EnvelopeAttributes, EventPublisher } from '../publisher.js';
import { AwsTransportError, type JsonCaller, type JsonCallOptions } from './client.js';

interface SendMessageOutput {
  readonly MessageId?: string;
  readonly MD5OfMessageBody?: string;
}

/** {@link EventPublisher} for one standard SQS queue, on the lean JSON client. */
export class LeanSqsPublisher implements EventPublisher {
  constructor(
    private readonly client: JsonCaller,
    private readonly queueUrl: string,
  ) {}

  async publish(
    body: string,
    attributes: EnvelopeAttributes,
    options: JsonCallOptions = {},
  ): Promise<void> {
    try {
      const output = await this.client.call<SendMessageOutput>(
        'SendMessage',
        {
          QueueUrl: this.queueUrl,
          MessageBody: body,
          MessageAttributes: {
            provider: { DataType: 'String', StringValue: attributes.provider },
            type: { DataType: 'String', StringValue: attributes.type },
          },
        },
        options,
      );
      // As the SDK does: the queue must have stored the very bytes we sent.
      const expected = createHash('md5').update(body, 'utf8').digest('hex');
      if (output.MD5OfMessageBody !== expected) {
        throw new AwsTransportError(
          'sqs',
          'SendMessage',
          'InvalidChecksumError',
          'MD5OfMessageBody does not match the message sent',
        );
      }
    } catch (error) {
      throw new DependencyError('sqs', 'the queue did not accept the event', { cause: error });
    }
  }
}
