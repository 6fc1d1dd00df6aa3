import { sha256Hex } from '../../../functions/core/crypto.js';
import { SignatureVerificationError } from '../../../functions/core/errors.js';
import { normaliseEvent, type WebhookRequest } from '../../../functions/core/http.js';
import type {
  EventDescription,
  IgnoredDelivery,
  ProviderAdapter,
} from '../../../functions/core/provider.js';
import { httpApiDelivery } from '../../fixtures/events.js';
import type { SignedRequest } from '../../fixtures/schemes.js';

/** A signed request as the ingress sees it, through API Gateway (HTTP API, payload 2.0). */
export function received(
  signed: SignedRequest,
  change: { headers?: Record<string, string>; body?: string | Buffer; base64?: boolean } = {},
): WebhookRequest {
  return normaliseEvent(
    httpApiDelivery(signed.path, change.body ?? signed.body, change.headers ?? signed.headers, {
      base64: change.base64 ?? true,
    }),
  );
}

/** The signature failure `run` throws, or undefined when it accepts. */
export function failure(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof SignatureVerificationError) return error.detail;
    throw error;
  }
  return undefined;
}

/** The adapter's verdict on a request: undefined when verified, else the failure's detail. */
export function verdict<T>(
  adapter: ProviderAdapter<T>,
  secrets: T,
  request: WebhookRequest,
): string | undefined {
  return failure(() => adapter.verify(request, secrets, adapter.matchRoute(request.path) ?? {}));
}

/** Runs the adapter's describe step on a verified request, as the pipeline would. */
export function described<T>(
  adapter: ProviderAdapter<T>,
  request: WebhookRequest,
): EventDescription | IgnoredDelivery {
  return adapter.describe({
    request,
    route: adapter.matchRoute(request.path) ?? {},
    verification: {},
    body: JSON.parse(request.body.toString('utf8')),
    bodySha256: sha256Hex(request.body),
  });
}

/** A header map with one header's value changed (or removed, with undefined). */
export function withHeader(
  headers: Record<string, string>,
  name: string,
  value: string | undefined,
): Record<string, string> {
  const copy = { ...headers };
  if (value === undefined) delete copy[name];
  else copy[name] = value;
  return copy;
}

/**
 * Timestamps exactly at and one second beyond the tolerance, in the past and in the
 * future, each with the verdict it must get.
 */
export function toleranceEdges(
  now: number,
  tolerance = 300,
): [string, number, string | undefined][] {
  return [
    [`exactly ${tolerance} s old`, now - tolerance, undefined],
    [`${tolerance + 1} s old`, now - tolerance - 1, 'stale_timestamp'],
    [`exactly ${tolerance} s ahead`, now + tolerance, undefined],
    [`${tolerance + 1} s ahead`, now + tolerance + 1, 'stale_timestamp'],
  ];
}

/** One entry per scheme, as a cdk.json `providers` list would hold them. */
export const EVERY_SCHEME = [
  { name: 'sigma', scheme: 'sigma' },
  { name: 'sigma-eu', scheme: 'sigma', allowLegacySha256: false },
  { name: 'sigmate', scheme: 'sigmate' },
  { name: 'signifyd', scheme: 'signifyd', forwardTestEvents: true },
  { name: 'billing', scheme: 'standard-webhooks' },
  { name: 'github', scheme: 'github' },
  { name: 'stripe-us', scheme: 'stripe' },
  { name: 'stripe-eu', scheme: 'stripe', toleranceSeconds: 600 },
  { name: 'shop', scheme: 'shopify' },
  {
    name: 'acme',
    scheme: 'hmac',
    signatureHeader: 'X-Acme-Signature',
    prefix: 'sha256=',
    encoding: 'hex',
    key: { header: 'x-acme-delivery' },
    type: { field: 'event' },
  },
];
