import type { SchemeName } from '../../functions/schemes.js';

/** A delivery as the provider would make it: where to POST, the exact body bytes and headers. */
export interface Delivery {
  readonly path: string;
  readonly body: Buffer;
  readonly headers: Record<string, string>;
}

/** What shapes a sample: the flags of `send`, plus what makes each event unique. */
export interface SampleOptions {
  /** Sigma product: transaction-monitoring, aml or cdd. */
  readonly product?: string | undefined;
  /**
   * The event type: Sigmate `x-sigmate-event`, Sigma `event`, Signifyd topic, GitHub
   * `X-GitHub-Event`, Shopify `X-Shopify-Topic`, the body's `type` (Stripe, Standard
   * Webhooks), an `hmac` provider's type header or field.
   */
  readonly topic?: string | undefined;
  /** Signifyd API version: 2 (X-SIGNIFYD-* headers) or 3 (SIGNIFYD-* headers). */
  readonly apiVersion?: 2 | 3 | undefined;
  /** Signifyd v3 checkpoint. */
  readonly checkpoint?: string | undefined;
  /** Position in the run, for readable ids. */
  readonly sequence: number;
  readonly now: Date;
  /** A fresh UUID; injected so tests can fix it. */
  readonly uuid: () => string;
  /**
   * The event's id where the scheme sends it in a header (`webhook-id`,
   * `X-GitHub-Delivery`, `X-Shopify-Event-Id`, an `hmac` key header): fixed per event,
   * so every redelivery repeats it. Derived from the body when unset.
   */
  readonly deliveryId?: string | undefined;
}

/** How to sign: the provider's secrets, or a deliberately wrong one. */
export interface SigningOptions {
  /** Sign with a wrong secret, so the ingress must answer 401. */
  readonly badSignature?: boolean | undefined;
  /** Signifyd's dashboard test ping: topic `cases/test`, public key `ABCDE`. */
  readonly testPing?: boolean | undefined;
  /** Unix seconds the signature is made at (Stripe `t`, `webhook-timestamp`…); now when unset. */
  readonly timestamp?: number | undefined;
}

/** One provider as the CLI plays it: builds realistic bodies and signs them its way. */
export interface ProviderSampler<TSecrets> {
  /** The provider's name: its route, queue and envelope `provider`. */
  readonly provider: string;
  readonly scheme: SchemeName;
  /** The provider's secrets from its local variables (the first of each list that can sign). */
  secretsFromEnv(env: Readonly<Record<string, string | undefined>>): TSecrets;
  /** Names of the variables `secretsFromEnv` reads, for error messages. */
  readonly secretEnvNames: readonly string[];
  /** Checks the flags that shape this provider's samples; throws UsageError. */
  validate(
    options: Omit<SampleOptions, 'sequence' | 'now' | 'uuid'>,
    signing: SigningOptions,
  ): void;
  /** A realistic JSON body, unique per call. */
  sampleBody(options: SampleOptions): string;
  /** The signed delivery for a body; the same options give the same id headers. */
  sign(body: Buffer, secrets: TSecrets, options: SampleOptions, signing: SigningOptions): Delivery;
}
