import type { ProviderDeclaration } from '../../functions/providers.js';
import { declaredSampler } from './declared.js';
import type { ProviderSampler } from './types.js';

const NAMES = ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Katherine Johnson'] as const;

/**
 * Standard Webhooks 1.0 (standardwebhooks.com; Svix): the spec's payload
 * `{ type, timestamp, data }` — its example is `contact.created` — with `webhook-id`,
 * `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC>` over
 * `<id>.<timestamp>.<body>` (`v1a,<ed25519>` with a `whsk_` private key).
 */
export function standardWebhooksSampler(declaration: ProviderDeclaration): ProviderSampler<string> {
  return declaredSampler(declaration, {
    sampleBody({ topic = 'contact.created', sequence, now, uuid }) {
      const object = topic.split('.')[0] || 'event';
      return JSON.stringify({
        type: topic,
        timestamp: now.toISOString(),
        data: {
          id: uuid(),
          type: object,
          name: NAMES[sequence % NAMES.length],
          email: `${object}-${1000 + sequence}@example.com`,
          created_at: now.toISOString(),
        },
      });
    },
    formatId: (id) => `msg_${id.replaceAll('-', '')}`,
    extraHeaders: () => ({ 'user-agent': 'Svix-Webhooks/1.0' }),
    canSign: (secret) => secret.startsWith('whsec_') || secret.startsWith('whsk_'),
    unusable:
      'holds no signing secret: a whsec_… secret, or the sender’s whsk_… private key (a whpk_… public key verifies; it cannot sign)',
  });
}
