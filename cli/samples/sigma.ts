import { createHmac } from 'node:crypto';
import { secretEnvName } from '../../functions/core/declaration.js';
import { SigmaEnvNames } from '../../functions/sigma/names.js';
import { UsageError } from '../errors.js';
import { type SigmaSigningSecrets, sigmaSecretsFromJson, signingSecret } from './secrets.js';
import type { ProviderSampler } from './types.js';

export type { SigmaSigningSecrets };

export const SIGMA_PRODUCTS = ['transaction-monitoring', 'aml', 'cdd'] as const;

/** The `event` each product sends; only `transaction.decision` is in Sigma's docs. */
export const SIGMA_DEFAULT_EVENTS: Record<(typeof SIGMA_PRODUCTS)[number], string> = {
  'transaction-monitoring': 'transaction.decision',
  aml: 'aml.screening.completed',
  cdd: 'cdd.workflow.completed',
};

const ACTIONS = ['APPROVE', 'REVIEW', 'DECLINE'] as const;
const RISK = ['low', 'medium', 'high'] as const;
const RULES = ['Large Transaction Amount', 'Velocity Spike', 'New Beneficiary'] as const;

function data(product: string, sequence: number, uuid: () => string): Record<string, unknown> {
  switch (product) {
    case 'aml':
      return {
        screening_id: `scr-${uuid()}`,
        customer_id: `cus-${1000 + sequence}`,
        result: sequence % 5 === 0 ? 'POTENTIAL_MATCH' : 'NO_MATCH',
        lists_checked: ['OFAC SDN', 'UN Consolidated', 'EU Sanctions', 'PEP'],
        matches: sequence % 5 === 0 ? [{ list: 'PEP', name: 'J. Smith', score: 0.87 }] : [],
      };
    case 'cdd':
      return {
        workflow_id: `wf-${uuid()}`,
        customer_id: `cus-${1000 + sequence}`,
        outcome: sequence % 4 === 0 ? 'MANUAL_REVIEW' : 'APPROVED',
        risk_rating: RISK[sequence % RISK.length],
        checks: { identity: 'PASSED', address: 'PASSED', sanctions: 'CLEAR' },
      };
    default:
      return {
        transaction_id: `txn-${uuid()}`,
        action: ACTIONS[sequence % ACTIONS.length],
        risk_level: RISK[sequence % RISK.length],
        triggered_rules: sequence % 3 === 0 ? [] : [RULES[sequence % RULES.length]],
      };
  }
}

const SIGMA_VARIABLES = [SigmaEnvNames.apiKey, SigmaEnvNames.apiSecret, SigmaEnvNames.businessId];

/**
 * Sigma (docs: sigma-api-keys-and-webhooks.txt, sigma-webhook-signature.txt): one URL
 * per product, body `{ event, timestamp, data }`, and `x-signature` = hex
 * HMAC-SHA256 keyed `apiKey + apiSecret` over the businessId — not over the body.
 * Under its own name the contract's three variables hold the credentials; under another,
 * `<NAME>_WEBHOOK_SECRET` holds them as JSON.
 */
export function sigmaSampler(name = 'sigma'): ProviderSampler<SigmaSigningSecrets> {
  const variable = secretEnvName(name);
  return {
    provider: name,
    scheme: 'sigma',
    secretEnvNames: name === 'sigma' ? SIGMA_VARIABLES : [variable],

    secretsFromEnv(env) {
      if (name !== 'sigma') return sigmaSecretsFromJson(env, variable);
      // Keys and secrets pair by position: the first of each.
      const [apiKey, apiSecret, businessId] = SIGMA_VARIABLES.map((each) =>
        signingSecret(env, each, undefined),
      ) as [string, string, string];
      return { apiKey, apiSecret, businessId };
    },

    validate(options, signing) {
      const product = options.product ?? 'transaction-monitoring';
      if (!(SIGMA_PRODUCTS as readonly string[]).includes(product)) {
        throw new UsageError(
          `unknown Sigma product "${product}" (expected ${SIGMA_PRODUCTS.join(', ')})`,
        );
      }
      if (signing.testPing) {
        throw new UsageError('--test-ping is for signifyd only (Sigma documents no test delivery)');
      }
    },

    sampleBody({ product = 'transaction-monitoring', topic, sequence, now, uuid }) {
      const event = topic ?? SIGMA_DEFAULT_EVENTS[product as keyof typeof SIGMA_DEFAULT_EVENTS];
      return JSON.stringify({
        event,
        timestamp: now.toISOString(),
        data: data(product, sequence, uuid),
      });
    },

    sign(body, secrets, { product = 'transaction-monitoring' }, signing) {
      const key = `${secrets.apiKey}${secrets.apiSecret}${signing.badSignature ? '-wrong' : ''}`;
      const signature = createHmac('sha256', key).update(secrets.businessId).digest('hex');
      return {
        path: `/webhooks/${name}/${product}`,
        body,
        headers: { 'content-type': 'application/json', 'x-signature': signature },
      };
    },
  };
}
