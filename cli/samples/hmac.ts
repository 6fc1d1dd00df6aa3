import type { HmacOptions } from '../../functions/hmac/options.js';
import type { ProviderDeclaration } from '../../functions/providers.js';
import { declaredSampler } from './declared.js';
import type { ProviderSampler, SampleOptions } from './types.js';

/** The type a sample gets when neither `--topic` nor the declaration's default names one. */
export const HMAC_SAMPLE_TYPE = 'sample.event';

function sampleType(options: HmacOptions, topic: string | undefined): string {
  const declared = 'default' in options.type ? options.type.default : undefined;
  return topic ?? declared ?? HMAC_SAMPLE_TYPE;
}

/**
 * A generic event: an id, a type, a time and a small object. The declaration's key
 * field and type field are filled in, whatever they are called.
 */
function payload(options: HmacOptions, sample: SampleOptions): string {
  const { sequence, now, uuid } = sample;
  const body: Record<string, unknown> = {
    id: `evt_${uuid().replaceAll('-', '')}`,
    created_at: now.toISOString(),
    data: {
      object: 'order',
      reference: `ord-${1000 + sequence}`,
      amount: 1_000 + (sequence % 50) * 250,
      currency: 'EUR',
    },
  };
  if ('field' in options.type) body[options.type.field] = sampleType(options, sample.topic);
  if ('field' in options.key) body[options.key.field] = `evt_${uuid().replaceAll('-', '')}`;
  return JSON.stringify(body);
}

/**
 * A declarative `hmac` provider, signed as its options say: the signature header, prefix
 * and encoding; a timestamp header when the signed payload has one (signed now); the key
 * in its header or field; the type in its header or field, or fixed.
 */
export function hmacSampler(
  declaration: Extract<ProviderDeclaration, { scheme: 'hmac' }>,
): ProviderSampler<string> {
  const { options } = declaration;
  const fixed = 'value' in options.type ? options.type.value : undefined;
  return declaredSampler(declaration, {
    sampleBody: (sample) => payload(options, sample),
    ...('header' in options.type
      ? { headerType: (sample: SampleOptions) => sampleType(options, sample.topic) }
      : {}),
    ...(fixed === undefined ? {} : { fixedType: `is fixed by its declaration ("${fixed}")` }),
  });
}
