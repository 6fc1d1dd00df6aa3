import { MAX_TOLERANCE_SECONDS } from './declaration.js';
import { ProviderDeclarationError } from './errors.js';

/** A value as an error message may quote it: JSON, on one line, cut short. */
export function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 48 ? `${text.slice(0, 45)}…` : text;
}

/**
 * Reads one `providers` entry's scheme options, each check failing with a
 * {@link ProviderDeclarationError} that names the entry and the option. {@link done}
 * refuses the options nobody read, so a typo fails loudly instead of being ignored.
 */
export class OptionReader {
  private readonly read = new Set<string>();

  constructor(
    private readonly raw: Readonly<Record<string, unknown>>,
    readonly entry: string,
  ) {}

  fail(problem: string): never {
    throw new ProviderDeclarationError(this.entry, problem);
  }

  /** The raw value, marked as read; undefined when absent (or null). */
  value(key: string): unknown {
    this.read.add(key);
    return Object.hasOwn(this.raw, key) ? (this.raw[key] ?? undefined) : undefined;
  }

  /** A non-empty string matching `pattern` (described by `expected`). */
  string(key: string, expected = 'a non-empty string', pattern = /^.+$/s): string | undefined {
    const value = this.value(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !pattern.test(value)) {
      this.fail(`option "${key}" must be ${expected}, not ${quote(value)}`);
    }
    return value;
  }

  /** A whole number from `min` to `max`. */
  integer(key: string, min: number, max: number): number | undefined {
    const value = this.value(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      this.fail(
        `option "${key}" must be a whole number from ${min} to ${max}, not ${quote(value)}`,
      );
    }
    return value;
  }

  boolean(key: string): boolean | undefined {
    const value = this.value(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') this.fail(`option "${key}" must be true or false`);
    return value;
  }

  /** One of `values`. */
  choice<T extends string>(key: string, values: readonly T[]): T | undefined {
    const value = this.value(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
      this.fail(`option "${key}" must be one of ${values.join(', ')}, not ${quote(value)}`);
    }
    return value as T;
  }

  /**
   * A required option holding an object: a reader for its fields, named
   * `<entry> option "<key>"` in errors.
   */
  nested(key: string, expected: string): OptionReader {
    const value = this.required(key, this.value(key), expected);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(`option "${key}" must be an object, ${expected}, not ${quote(value)}`);
    }
    return new OptionReader(value as Record<string, unknown>, `${this.entry} option "${key}"`);
  }

  /** A required option: its value, or a failure naming it and what it should be. */
  required<T>(key: string, value: T | undefined, expected: string): T {
    if (value === undefined) this.fail(`option "${key}" is missing (${expected})`);
    return value;
  }

  /** Refuses every option no check read: a misspelt or foreign option. */
  done(): void {
    const unknown = Object.keys(this.raw).filter((key) => !this.read.has(key));
    if (unknown.length === 0) return;
    const known = [...this.read].map((key) => `"${key}"`).join(', ');
    this.fail(
      `unknown option ${quote(unknown[0])}${known ? ` (this scheme takes ${known})` : ' (this scheme takes none)'}`,
    );
  }
}

/** The options of a scheme whose format is fixed: none. */
export type NoOptions = Readonly<Record<string, never>>;

/** Checks that an entry of such a scheme sets no option. Throws ProviderDeclarationError. */
export function parseNoOptions(raw: Readonly<Record<string, unknown>>, entry: string): NoOptions {
  new OptionReader(raw, entry).done();
  return {};
}

/** The options of a scheme whose one option is its replay window (Stripe, Standard Webhooks). */
export interface ToleranceOptions {
  /** Replay window either side of now, in seconds, 1 to 3600. Default 300. */
  readonly toleranceSeconds?: number | undefined;
}

/** Checks such an entry's options. Throws ProviderDeclarationError naming `entry`. */
export function parseToleranceOptions(
  raw: Readonly<Record<string, unknown>>,
  entry: string,
): ToleranceOptions {
  const reader = new OptionReader(raw, entry);
  const toleranceSeconds = reader.integer('toleranceSeconds', 1, MAX_TOLERANCE_SECONDS);
  reader.done();
  return { toleranceSeconds };
}
