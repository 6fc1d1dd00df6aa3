import { createHmac } from 'node:crypto';
import { secretEnvName } from '../../functions/core/declaration.js';
import { UsageError } from '../errors.js';
import { signingSecret } from './secrets.js';
import type { ProviderSampler } from './types.js';

export interface SigmateSigningSecrets {
  readonly webhookSecret: string;
}

const TOKENS = [
  { address: '7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr', symbol: 'WIF', name: 'dogwifhat' },
  { address: 'DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263', symbol: 'BONK', name: 'Bonk' },
  { address: 'JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN', symbol: 'JUP', name: 'Jupiter' },
] as const;
const SIGNAL_TYPES = ['consensus_buy', 'whale_accumulation', 'smart_money_entry'] as const;
const RANKS = ['A', 'B', 'C'] as const;

/**
 * Sigmate (docs: sigmate-webhooks.txt): the signal frame of the docs' example,
 * `X-Sigmate-Signature: sha256=<hex HMAC-SHA256 of the raw body>`, `X-Sigmate-Event`.
 * The secret is `<NAME>_WEBHOOK_SECRET` (SIGMATE_WEBHOOK_SECRET under its own name).
 */
export function sigmateSampler(name = 'sigmate'): ProviderSampler<SigmateSigningSecrets> {
  const variable = secretEnvName(name);
  return {
    provider: name,
    scheme: 'sigmate',
    secretEnvNames: [variable],

    secretsFromEnv(env) {
      // Under another name the variable may hold the Secrets Manager JSON too.
      const field = name === 'sigmate' ? undefined : 'webhookSecrets';
      return { webhookSecret: signingSecret(env, variable, field) };
    },

    validate(options, signing) {
      if (options.product !== undefined) throw new UsageError('--product is for sigma only');
      if (signing.testPing) {
        throw new UsageError('--test-ping is for signifyd only (Sigmate documents no ping format)');
      }
    },

    sampleBody({ sequence, now, uuid }) {
      const token = TOKENS[sequence % TOKENS.length] ?? TOKENS[0];
      const price = 0.0069 * (1 + (sequence % 7) / 100);
      return JSON.stringify({
        id: uuid(),
        detected_at: now.toISOString(),
        signal_type: SIGNAL_TYPES[sequence % SIGNAL_TYPES.length],
        rank: RANKS[sequence % RANKS.length],
        rank_score: 60 + (sequence % 40),
        token: {
          ...token,
          dex: 'Raydium',
          market_cap_usd: 412_000 + sequence * 100,
          liquidity_usd: 88_300,
          price_usd: Number(price.toFixed(6)),
        },
        wallet_count: 3 + (sequence % 5),
        pool_wallet_count: 2 + (sequence % 3),
        rug_check: { risk: 'low' },
        latency_ms: 300 + (sequence % 200),
      });
    },

    sign(body, secrets, options, signing) {
      const key = signing.badSignature ? `${secrets.webhookSecret}-wrong` : secrets.webhookSecret;
      const hex = createHmac('sha256', key).update(body).digest('hex');
      return {
        path: `/webhooks/${name}`,
        body,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Sigmate-Webhook/1',
          'x-sigmate-signature': `sha256=${hex}`,
          'x-sigmate-event': options.topic ?? 'signal.fired',
        },
      };
    },
  };
}
