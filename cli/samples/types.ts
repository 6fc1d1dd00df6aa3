import type { ProviderName } from '../../functions/registry.js';

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
  /** Sigmate `x-sigmate-event`, Sigma `event`, Signifyd topic. */
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
}

/** How to sign: the provider's secrets, or a deliberately wrong one. */
export interface SigningOptions {
  /** Sign with a wrong secret, so the ingress must answer 401. */
  readonly badSignature?: boolean | undefined;
  /** Signifyd's dashboard test ping: topic `cases/test`, public key `ABCDE`. */
  readonly testPing?: boolean | undefined;
}

/** One provider as the CLI plays it: builds realistic bodies and signs them its way. */
export interface ProviderSampler<TSecrets> {
  readonly provider: ProviderName;
  /** The provider's secrets from the contract's environment variables (first of each list). */
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
  /** The signed delivery for a body. */
  sign(body: Buffer, secrets: TSecrets, options: SampleOptions, signing: SigningOptions): Delivery;
}
