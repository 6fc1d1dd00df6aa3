import { LogFormatter, Logger, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { SERVICE_NAME } from './names.js';
import type { ProviderName } from './provider.js';

export { SERVICE_NAME };

/**
 * The frame of every line: `level`, `message` and `service` (a dimension of the metrics
 * CloudWatch derives from the lines, infra/request-metrics.ts), then the line's own fields.
 * Powertools' default frame also writes `timestamp` (CloudWatch stamps each event itself:
 * `@timestamp`), `sampling_rate` and, in Lambda, `xray_trace_id`: about 110 bytes a
 * request that no query reads, at $0.50 per GB ingested (docs/decisions.md §21).
 */
export class IngressLogFormatter extends LogFormatter {
  override formatAttributes(
    attributes: UnformattedAttributes,
    additionalLogAttributes: LogAttributes,
  ): LogItem {
    // One shallow object: the line's fields are flat values and small records, so the
    // default's deep merge into the frame would only copy them.
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        service: attributes.serviceName,
        ...additionalLogAttributes,
      },
    });
  }
}

/** The structured JSON logger every handler uses. */
export function createLogger(provider: ProviderName): Logger {
  return new Logger({
    serviceName: SERVICE_NAME,
    persistentKeys: { provider },
    logFormatter: new IngressLogFormatter(),
  });
}
