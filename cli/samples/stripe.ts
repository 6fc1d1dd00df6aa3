import type { ProviderDeclaration } from '../../functions/providers.js';
import { declaredSampler } from './declared.js';
import type { ProviderSampler, SampleOptions } from './types.js';

/** Stripe's ids: a prefix and 24 letters and digits (a UUID's last 24 hex digits, all random). */
const stripeId = (prefix: string, uuid: () => string) =>
  `${prefix}_${uuid().replaceAll('-', '').slice(-24)}`;

/** The object an event of `type` carries, shaped as Stripe's API returns it. */
function dataObject(type: string, { sequence, now, uuid }: SampleOptions): Record<string, unknown> {
  const created = Math.floor(now.getTime() / 1000);
  const customer = `cus_${String(100_000 + sequence).padStart(14, '0')}`;
  const amount = 1_000 + (sequence % 50) * 250;
  if (type.startsWith('invoice.')) {
    return {
      id: stripeId('in', uuid),
      object: 'invoice',
      amount_due: amount,
      amount_paid: type === 'invoice.paid' ? amount : 0,
      currency: 'eur',
      customer,
      status: type === 'invoice.paid' ? 'paid' : 'open',
      created,
    };
  }
  if (type.startsWith('customer.') && !type.startsWith('customer.subscription')) {
    return {
      id: customer,
      object: 'customer',
      email: `jenny.rosen+${sequence}@example.com`,
      created,
    };
  }
  if (type.startsWith('charge.')) {
    return {
      id: stripeId('ch', uuid),
      object: 'charge',
      amount,
      currency: 'eur',
      customer,
      paid: true,
      status: 'succeeded',
      created,
    };
  }
  return {
    id: stripeId('pi', uuid),
    object: 'payment_intent',
    amount,
    amount_received: type === 'payment_intent.succeeded' ? amount : 0,
    currency: 'eur',
    customer,
    payment_method_types: ['card'],
    status: type === 'payment_intent.succeeded' ? 'succeeded' : 'requires_payment_method',
    created,
  };
}

/**
 * Stripe (docs.stripe.com, "Webhooks"): an Event object — its `id` (`evt_…`) is the
 * key, its `type` the type — signed `Stripe-Signature: t=<now>,v1=<hex HMAC of
 * "<t>.<body>">` with the endpoint secret as Stripe shows it (`whsec_…`).
 */
export function stripeSampler(declaration: ProviderDeclaration): ProviderSampler<string> {
  return declaredSampler(declaration, {
    sampleBody(options) {
      const type = options.topic ?? 'payment_intent.succeeded';
      return JSON.stringify({
        id: stripeId('evt', options.uuid),
        object: 'event',
        api_version: '2025-06-30.basil',
        created: Math.floor(options.now.getTime() / 1000),
        data: { object: dataObject(type, options) },
        livemode: false,
        pending_webhooks: 1,
        request: { id: stripeId('req', options.uuid), idempotency_key: options.uuid() },
        type,
      });
    },
    extraHeaders: () => ({ 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' }),
  });
}
