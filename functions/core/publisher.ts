import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { isAmbiguousFailure } from './aws.js';
import { DependencyError } from './errors.js';
import type { CallOptions } from './idempotency.js';

/** Message attributes the contract puts on every envelope, for filtering. */
// A type literal, not an interface, so it is assignable to `MessageAttributes`.
export type EnvelopeAttributes = {
  readonly provider: string;
  readonly type: string;
};

/** The envelope's attributes and any more (the archive queue's metadata), all String. */
export type MessageAttributes = EnvelopeAttributes & Readonly<Record<string, string>>;

/** What the queue said when it took the message. */
export interface Published {
  /** The queue's id of the message, for operators following an event. */
  readonly messageId: string | undefined;
}

/** Puts a verified event on its provider's queue. */
export interface EventPublisher {
  /** Resolves once the queue has accepted the message; throws {@link DependencyError}. */
  publish(body: string, attributes: MessageAttributes, options?: CallOptions): Promise<Published>;
}

/**
 * {@link EventPublisher} for one standard SQS queue, through the SDK's `SQSClient` (which
 * checks `MD5OfMessageBody` against what it sent). A failure is marked ambiguous when the
 * message may be on the queue all the same.
 */
export class SqsPublisher implements EventPublisher {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async publish(
    body: string,
    attributes: MessageAttributes,
    options: CallOptions = {},
  ): Promise<Published> {
    try {
      const output = await this.client.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: body,
          MessageAttributes: Object.fromEntries(
            Object.entries(attributes).map(([name, value]) => [
              name,
              { DataType: 'String', StringValue: value },
            ]),
          ),
        }),
        { abortSignal: options.signal },
      );
      return { messageId: output.MessageId };
    } catch (error) {
      throw new DependencyError('sqs', 'the queue did not accept the event', {
        cause: error,
        ambiguous: isAmbiguousFailure(error),
      });
    }
  }
}
