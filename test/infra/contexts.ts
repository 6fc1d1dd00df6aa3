/** A customer-managed key, an existing pager topic and a certificate, all imported. */
export const KMS_KEY_ARN =
  'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
export const PAGER_TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:platform-pager';

/** Every context key the app reads, each set to a non-default value (as `cdk -c` passes them: strings). */
export const EVERY_OPTION = {
  stage: 'staging',
  idempotencyRetentionDays: '10',
  queueRetentionDays: '14',
  logRetentionDays: '365',
  maxBodyBytes: '500000',
  sigmaAllowLegacySha256: 'true',
  signifydForwardTestEvents: 'true',
  storeEnvelopes: 'true',
  'sourceAllowlist.signifyd': '203.0.113.0/24',
  throttleRateLimit: '50',
  throttleBurstLimit: '100',
  'throttleRateLimit.sigmate': '20',
  'throttleBurstLimit.sigmate': '40',
  'throttleRateLimit.default': '5',
  'reservedConcurrency.sigma': '20',
  alarmEmail: 'ops@example.com',
  alarmTopicArn: PAGER_TOPIC_ARN,
  unauthorizedAlarmThreshold: '50',
  oldestMessageAlarmSeconds: '600',
  kmsKeyArn: KMS_KEY_ARN,
  domainName: 'webhooks.example.com',
  certificateArn:
    'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789',
  hostedZoneId: 'Z0123456789ABCDEFGHIJ',
  hostedZoneName: 'example.com',
  domainMappingPath: 'ingress',
  exampleConsumer: 'true',
} as const;
