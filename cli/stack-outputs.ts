import type { Output } from '@aws-sdk/client-cloudformation';
import { OutputFacts, parseOutputTag } from '../infra/output-tags.js';
import { TargetNotFoundError, UsageError } from './errors.js';
import { parseServedProviders, type ServedProviders, seedsByQueue } from './providers.js';

/** One provider's queue and dead-letter queue URLs. */
export interface QueueUrls {
  readonly queue: string;
  readonly deadLetterQueue: string;
}

/** What one WebhookIngress construct published in its stack's outputs (infra/outputs.ts). */
export interface IngressOutputs {
  /** The construct's path in its app, e.g. `Payments/Ingress`. */
  readonly ingress: string;
  /** The URL the providers call, before `/webhooks/…`. */
  readonly baseUrl: string;
  readonly table: string;
  /**
   * Every provider the ingress serves, by name: its `provider` outputs; a stack deployed
   * before providers were configuration has none, and serves the seeds its queues name.
   */
  readonly providers: ServedProviders;
  /** Every provider the ingress serves, with its queues. */
  readonly queues: Readonly<Record<string, QueueUrls>>;
  /** Each provider function's log group. */
  readonly logGroups: Readonly<Record<string, string>>;
  /** The audit archive; undefined when it is off. */
  readonly archive?: { readonly bucket: string; readonly prefix: string } | undefined;
  /** Archive buckets the current one replaced (`archivePreviousBuckets`): still read. */
  readonly previousArchives: readonly { readonly bucket: string; readonly prefix: string }[];
}

/**
 * Finds one ingress in a stack's outputs by the tags of their descriptions. `ingress`
 * picks one by its path (or the path's last part) when the stack holds several.
 * Throws TargetNotFoundError when there is none, UsageError when the pick is unclear.
 */
export function readIngressOutputs(
  stack: string,
  outputs: readonly Output[],
  ingress?: string,
): IngressOutputs {
  const byIngress = new Map<string, Map<string, string>>();
  for (const output of outputs) {
    const tag = parseOutputTag(output.Description);
    if (!tag || output.OutputValue === undefined) continue;
    const facts = byIngress.get(tag.ingress) ?? new Map<string, string>();
    facts.set(tag.provider ? `${tag.fact}:${tag.provider}` : tag.fact, output.OutputValue);
    byIngress.set(tag.ingress, facts);
  }
  const paths = [...byIngress.keys()];
  if (paths.length === 0) {
    throw new TargetNotFoundError(
      `stack "${stack}" has no webhook-ingress outputs: deploy it with webhook-ingress 0.2.0 or later, and leave the construct's outputs prop on`,
    );
  }
  const chosen = ingress
    ? paths.filter((path) => path === ingress || path.endsWith(`/${ingress}`))
    : paths;
  if (chosen.length !== 1 || !chosen[0]) {
    const list = paths.join(', ');
    throw ingress && chosen.length === 0
      ? new TargetNotFoundError(
          `stack "${stack}" has no webhook ingress "${ingress}" (it has ${list})`,
        )
      : new UsageError(
          `stack "${stack}" holds several webhook ingresses (${list}): pick one with --ingress PATH`,
        );
  }
  const path = chosen[0];
  const facts = byIngress.get(path) ?? new Map<string, string>();
  const need = (fact: string) => {
    const value = facts.get(fact);
    if (!value) throw new TargetNotFoundError(`stack "${stack}" has no ${fact} output for ${path}`);
    return value;
  };
  const named = (wanted: string) =>
    [...facts.keys()].flatMap((key) => {
      const [fact, provider] = key.split(':');
      return fact === wanted && provider ? [provider] : [];
    });
  const declared = named(OutputFacts.provider);
  const served =
    declared.length > 0
      ? parseServedProviders(
          declared.map((name) => [name, providerEntry(stack, path, name, need)]),
          (name) => `stack "${stack}" provider output ${name}`,
        )
      : seedsByQueue(named(OutputFacts.queue), `stack "${stack}" queue outputs`);
  const providers = Object.keys(served);
  const bucket = facts.get(OutputFacts.archiveBucket);
  return {
    ingress: path,
    providers: served,
    baseUrl: need(OutputFacts.baseUrl),
    table: need(OutputFacts.table),
    queues: Object.fromEntries(
      providers.map((p) => [
        p,
        {
          queue: need(`${OutputFacts.queue}:${p}`),
          deadLetterQueue: need(`${OutputFacts.deadLetterQueue}:${p}`),
        },
      ]),
    ),
    logGroups: Object.fromEntries(providers.map((p) => [p, need(`${OutputFacts.logGroup}:${p}`)])),
    archive: bucket ? { bucket, prefix: need(OutputFacts.archivePrefix) } : undefined,
    previousArchives: (facts.get(OutputFacts.archivePreviousBuckets) ?? '')
      .split(',')
      .filter((name) => name !== '')
      .map((name) => ({ bucket: name, prefix: need(OutputFacts.archivePrefix) })),
  };
}

/** A `provider` output's value, the provider's entry as JSON; TargetNotFoundError naming it. */
function providerEntry(
  stack: string,
  path: string,
  name: string,
  need: (fact: string) => string,
): unknown {
  try {
    return JSON.parse(need(`${OutputFacts.provider}:${name}`));
  } catch (error) {
    if (error instanceof TargetNotFoundError) throw error;
    throw new TargetNotFoundError(
      `stack "${stack}" provider output ${name} for ${path} is not JSON`,
    );
  }
}
