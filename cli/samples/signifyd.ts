import { createHmac } from 'node:crypto';
import { secretEnvName } from '../../functions/core/declaration.js';
import { UsageError } from '../errors.js';
import { signingSecret } from './secrets.js';
import type { ProviderSampler } from './types.js';

export interface SignifydSigningSecrets {
  readonly apiKey: string;
}

/** The v2 topics of Signifyd's docs, plus the dashboard's test topic. */
export const SIGNIFYD_V2_TOPICS = [
  'cases/creation',
  'cases/rescore',
  'cases/review',
  'guarantees/completion',
] as const;
export const SIGNIFYD_TEST_TOPIC = 'cases/test';
/** The published key the dashboard's Test button signs with. */
export const SIGNIFYD_PUBLIC_TEST_KEY = 'ABCDE';
const DISPOSITIONS = ['APPROVED', 'DECLINED', 'PENDING'] as const;
const ACTIONS = ['ACCEPT', 'REJECT', 'HOLD'] as const;

function signifydTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, '+0000');
}

/** The docs' "Webhook Response" case, with fresh ids. */
function v2Case(sequence: number, now: Date, uuid: () => string): Record<string, unknown> {
  const caseId = 100_000 + sequence;
  return {
    analysisUrl: `https://api.signifyd.com/v2/cases/${caseId}/analysis`,
    entriesUrl: `https://api.signifyd.com/v2/cases/${caseId}/entries`,
    notesUrl: `https://api.signifyd.com/v2/cases/${caseId}/notes`,
    orderUrl: `https://api.signifyd.com/v2/cases/${caseId}/order`,
    guaranteeEligible: sequence % 2 === 0,
    status: 'OPEN',
    uuid: uuid(),
    headline: 'John Smith',
    reviewDisposition: null,
    associatedTeam: {
      teamName: 'anyTeam',
      teamId: 26,
      getAutoDismiss: true,
      getTeamDismissalDays: 2,
    },
    orderId: `ord-${uuid().slice(0, 8)}`,
    orderDate: signifydTime(now),
    orderAmount: Number((20 + (sequence % 500) + 0.99).toFixed(2)),
    createdAt: signifydTime(now),
    updatedAt: signifydTime(now),
    investigationId: caseId,
    score: 200 + (sequence % 800),
    caseId,
    guaranteeDisposition: DISPOSITIONS[sequence % DISPOSITIONS.length],
  };
}

/** A v3 decision, shaped like Signifyd's v3 decision object (not in the stored docs). */
function v3Decision(sequence: number, now: Date, uuid: () => string): Record<string, unknown> {
  return {
    signifydId: 600_000_000 + sequence,
    orderId: `ord-${uuid().slice(0, 8)}`,
    decision: {
      createdAt: now.toISOString(),
      checkpointAction: ACTIONS[sequence % ACTIONS.length],
      checkpointActionReason: 'SIGNIFYD_APPROVED',
      score: 200 + (sequence % 800),
    },
    coverage: { fraudChargebacks: { amount: 50 + (sequence % 400), currency: 'USD' } },
  };
}

/**
 * Signifyd (docs: signifyd-api-and-webhooks.txt): base64 HMAC-SHA256 of the raw body
 * keyed with the team API key, in `X-SIGNIFYD-SEC-HMAC-SHA256` + `X-SIGNIFYD-TOPIC`
 * (v2) or `SIGNIFYD-SEC-HMAC-SHA256` + `SIGNIFYD-TOPIC` / `SIGNIFYD-CHECKPOINT` (v3).
 * The dashboard's test ping is topic `cases/test` signed with the public key `ABCDE`.
 * The key is SIGNIFYD_API_KEY under its own name, else `<NAME>_WEBHOOK_SECRET`.
 */
export function signifydSampler(name = 'signifyd'): ProviderSampler<SignifydSigningSecrets> {
  const variable = name === 'signifyd' ? 'SIGNIFYD_API_KEY' : secretEnvName(name);
  return {
    provider: name,
    scheme: 'signifyd',
    secretEnvNames: [variable],

    secretsFromEnv(env) {
      // Under another name the variable may hold the Secrets Manager JSON too.
      return { apiKey: signingSecret(env, variable, name === 'signifyd' ? undefined : 'apiKeys') };
    },

    validate(options, signing) {
      if (options.product !== undefined) throw new UsageError('--product is for sigma only');
      if (
        signing.testPing &&
        options.topic !== undefined &&
        options.topic !== SIGNIFYD_TEST_TOPIC
      ) {
        throw new UsageError(`--test-ping always uses topic ${SIGNIFYD_TEST_TOPIC}`);
      }
    },

    sampleBody({ apiVersion = 2, sequence, now, uuid }) {
      return JSON.stringify(
        apiVersion === 3 ? v3Decision(sequence, now, uuid) : v2Case(sequence, now, uuid),
      );
    },

    sign(body, secrets, options, signing) {
      const v3 = options.apiVersion === 3;
      const key = signing.testPing
        ? SIGNIFYD_PUBLIC_TEST_KEY
        : signing.badSignature
          ? `${secrets.apiKey}-wrong`
          : secrets.apiKey;
      const signature = createHmac('sha256', key).update(body).digest('base64');
      const topic = signing.testPing ? SIGNIFYD_TEST_TOPIC : options.topic;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (v3) {
        headers['signifyd-sec-hmac-sha256'] = signature;
        if (topic !== undefined) headers['signifyd-topic'] = topic;
        headers['signifyd-checkpoint'] = options.checkpoint ?? 'CHECKOUT';
      } else {
        headers['x-signifyd-sec-hmac-sha256'] = signature;
        headers['x-signifyd-topic'] = topic ?? 'cases/creation';
      }
      return { path: `/webhooks/${name}`, body, headers };
    },
  };
}
