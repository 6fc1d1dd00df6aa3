/**
 * What the samplers of the schemes a sender signs with one secret share
 * (`standard-webhooks`, `github`, `stripe`, `shopify`, `hmac`): the secret from
 * `<NAME>_WEBHOOK_SECRET`, the flags they refuse, and signing with the scheme signer
 * (./signing.ts) at the time of sending.
 */
import { createHash } from 'node:crypto';
import { secretEnvName } from '../../functions/core/declaration.js';
import type { ProviderDeclaration } from '../../functions/providers.js';
import { UsageError } from '../errors.js';
import { signingSecret, wrongSecret } from './secrets.js';
import { signedRequest } from './signing.js';
import type { ProviderSampler, SampleOptions } from './types.js';

/** An event type the ingress takes from an unsigned header (functions/core/scheme.ts). */
const HEADER_EVENT_TYPE = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$/;

/** What a scheme's sampler adds to the shared part. */
export interface DeclaredSamplerSpec {
  /** A realistic JSON body of the event type given (or the scheme's default), unique per call. */
  sampleBody(options: SampleOptions): string;
  /** The event type to sign with, for schemes whose type travels in a header. */
  headerType?: ((options: SampleOptions) => string) | undefined;
  /** Refuses `--topic` with this reason (a type fixed by the declaration). */
  readonly fixedType?: string | undefined;
  /** The event's id as the sender writes it, from the run's id for the event. */
  formatId?: ((id: string) => string) | undefined;
  /** Headers the sender also sends (user agent, shop domain…), from the event's id. */
  extraHeaders?: ((id: string) => Record<string, string>) | undefined;
  /** Which of the provider's secrets can sign, and what to say when none can. */
  canSign?: ((secret: string) => boolean) | undefined;
  readonly unusable?: string | undefined;
}

/** An id in UUID form from the SHA-256 of `bytes`: the same bytes, the same id. */
export function uuidOf(bytes: Buffer): string {
  const hex = createHash('sha256').update(bytes).digest('hex');
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    `4${hex.slice(13, 16)}`,
    `a${hex.slice(17, 20)}`,
    hex.slice(20, 32),
  ].join('-');
}

/** The sampler of a declared provider whose sender signs with one shared secret. */
export function declaredSampler(
  declaration: ProviderDeclaration,
  spec: DeclaredSamplerSpec,
): ProviderSampler<string> {
  const variable = secretEnvName(declaration.name);
  const scheme = declaration.scheme;
  return {
    provider: declaration.name,
    scheme,
    secretEnvNames: [variable],

    secretsFromEnv: (env) => signingSecret(env, variable, 'secrets', spec.canSign, spec.unusable),

    validate(options, signing) {
      if (options.product !== undefined) throw new UsageError('--product is for sigma only');
      if (signing.testPing) {
        throw new UsageError(`--test-ping is for signifyd only (the ${scheme} scheme has no ping)`);
      }
      if (options.topic === undefined) return;
      if (spec.fixedType !== undefined) {
        throw new UsageError(`--topic: ${declaration.name}'s event type ${spec.fixedType}`);
      }
      if (spec.headerType && !HEADER_EVENT_TYPE.test(options.topic)) {
        throw new UsageError(
          `--topic travels in a header for ${declaration.name}: letters, digits and _ . : / - (at most 128), or the ingress answers 400`,
        );
      }
    },

    sampleBody: spec.sampleBody,

    sign(body, secret, options, signing) {
      const id = options.deliveryId ?? uuidOf(body);
      const signed = signedRequest(
        declaration,
        signing.badSignature ? wrongSecret(secret) : secret,
        body,
        {
          ...(signing.timestamp === undefined ? {} : { timestamp: signing.timestamp }),
          id: spec.formatId?.(id) ?? id,
          ...(spec.headerType ? { type: spec.headerType(options) } : {}),
        },
      );
      return {
        path: signed.path,
        body: signed.body,
        headers: { ...spec.extraHeaders?.(id), ...signed.headers },
      };
    },
  };
}
