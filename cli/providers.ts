/**
 * The providers a target serves — from `npm start`'s endpoints file, a stack's outputs or,
 * for a bare URL, the project's `cdk.json` — and the provider a command names among them.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ProviderDeclarationError } from '../functions/core/errors.js';
import {
  PROVIDER_NAME,
  type ProviderDeclaration,
  parseProviderEntry,
  parseProviders,
  SEED_PROVIDERS,
} from '../functions/providers.js';
import { TargetNotFoundError, UsageError } from './errors.js';
import { printable } from './format.js';

/** The providers a target serves, by name, in the order it lists them. */
export type ServedProviders = Readonly<Record<string, ProviderDeclaration>>;

export function byName(declarations: readonly ProviderDeclaration[]): ServedProviders {
  return Object.fromEntries(declarations.map((declaration) => [declaration.name, declaration]));
}

/**
 * A provider name as typed: lower-cased, and refused at once (exit 2) when it cannot name
 * a provider at all; whether the target serves it is {@link servedProvider}'s to say.
 */
export function providerNameArgument(text: string): string {
  const name = text.trim().toLowerCase();
  if (!PROVIDER_NAME.test(name)) {
    throw new UsageError(
      `"${printable(text)}" is not a provider name (lowercase letters, digits and "-", starting with a letter, at most 32 characters)`,
    );
  }
  return name;
}

/** The declaration of a provider the target serves; UsageError (exit 2) naming those it does. */
export function servedProvider(providers: ServedProviders, name: string): ProviderDeclaration {
  const declaration = Object.hasOwn(providers, name) ? providers[name] : undefined;
  if (declaration === undefined) {
    throw new UsageError(
      `unknown provider "${printable(name)}" (this ingress serves ${Object.keys(providers).join(', ')})`,
    );
  }
  return declaration;
}

/**
 * Reads served providers from a target's description of them, each entry under the name
 * it is filed by: parsed as configuration is (`parseProviderEntry`); a bad one is a
 * TargetNotFoundError naming it by `where(name)` (e.g. `endpoints.json providers.pay`).
 */
export function parseServedProviders(
  entries: readonly [name: string, entry: unknown][],
  where: (name: string) => string,
): ServedProviders {
  return byName(
    entries.map(([name, entry]) => {
      try {
        const declaration = parseProviderEntry(entry, where(name));
        if (declaration.name !== name) {
          throw new ProviderDeclarationError(where(name), `names "${declaration.name}"`);
        }
        return declaration;
      } catch (error) {
        if (!(error instanceof ProviderDeclarationError)) throw error;
        throw new TargetNotFoundError(error.message, { cause: error });
      }
    }),
  );
}

/**
 * What an ingress deployed or started before providers were configuration serves: its
 * queues' names, each a seed provider under its own name.
 */
export function seedsByQueue(names: readonly string[], where: string): ServedProviders {
  return parseServedProviders(
    names.map((name) => [name, { name, scheme: name }]),
    (name) => `${where}.${name}`,
  );
}

/**
 * The providers of the project in `dir` (a bare URL target: no endpoints file or stack
 * outputs to list them): `cdk.json`'s context `providers`, as `cdk deploy` reads it;
 * the seeds without one. UsageError for a list that cannot be served.
 */
export function projectProviders(dir: string = process.cwd()): ServedProviders {
  const file = resolve(dir, 'cdk.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return byName(SEED_PROVIDERS);
  }
  try {
    const context = (JSON.parse(text) as { context?: { providers?: unknown } }).context;
    return byName(parseProviders(context?.providers, `${file}: context "providers"`));
  } catch (error) {
    if (error instanceof ProviderDeclarationError) throw new UsageError(error.message);
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
}
