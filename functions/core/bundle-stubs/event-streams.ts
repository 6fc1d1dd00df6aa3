/**
 * Bundle stand-in for `@smithy/core/event-streams` (see tools/bundling.ts): loaded by the
 * protocol layer only for operations with event streams, which DynamoDB, SQS and Secrets
 * Manager do not have.
 */
function unavailable(): never {
  throw new Error('event streams are not bundled: no operation of these clients uses them');
}
export const eventStreamSerdeProvider = unavailable;
export class EventStreamSerde {
  constructor() {
    unavailable();
  }
}
/**
 * S3's client resolves its event-stream configuration when it is built; only
 * SelectObjectContent uses it, which the archiver never calls.
 */
export const resolveEventStreamSerdeConfig = <T>(config: T): T => config;
