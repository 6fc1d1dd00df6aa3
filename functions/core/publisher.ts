import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DependencyError } from './errors.js';
import type { CallOptions } from './idempotency.js';

/** Message attributes the contract puts on every envelope, for filtering. */
export interface EnvelopeAttributes {
  readonly provider: string;
  readonly type: string;
}

/** Puts a verified event on its provider's queue. */
export interface EventPublisher {
  /** Resolves once the queue has accepted the message; throws {@link DependencyError}. */
  publish(body: string, attributes: EnvelopeAttributes, options?: CallOptions): Promise<void>;
}

/** {@link EventPublisher} for one standard SQS queue. */
export class SqsPublisher implements EventPublisher {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async publish(
    body: string,
    attributes: EnvelopeAttributes,
    options: CallOptions = {},
  ): Promise<void> {
    try {
      await this.client.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: body,
          MessageAttributes: {
            provider: { DataType: 'String', StringValue: attributes.provider },
            type: { DataType: 'String', StringValue: attributes.type },
          },
        }),
        { abortSignal: options.signal },
      );
    } catch (error) {
      throw new DependencyError('sqs', 'the queue did not accept the event', { cause: error });
    }
  }
}
