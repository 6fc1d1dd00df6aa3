import { InvalidArgumentError } from 'commander';
import { UsageError } from './errors.js';

/** Commander parsers for numeric flags: a malformed value is a usage error, never NaN. */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `expected a whole number of at least ${min}`
          : `expected a whole number from ${min} to ${max}`,
      );
    }
    return value;
  };
}

/** A share from 0 up to (not including) 1. */
export function ratio(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value >= 1) {
    throw new InvalidArgumentError('expected a ratio from 0 up to (not including) 1, e.g. 0.2');
  }
  return value;
}

/** Commander's own refusals as one line, `<program>: <reason> (see --help)`. */
export function oneLineErrors(program: string) {
  return {
    outputError: (text: string, write: (text: string) => void) =>
      write(
        `${program}: ${text
          .trim()
          .replace(/^error: /, '')
          .replace(/\s*\n\s*/g, ' ')} (see --help)\n`,
      ),
  };
}

const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * An instant from `--since`/`--until`: ISO-8601, or a duration before `now`. A time
 * written without an offset is UTC (as the archive's dates are), never the machine's zone.
 */
export function parseInstant(text: string, flag: string, now: Date): Date {
  const trimmed = text.trim();
  const duration = DURATION.exec(trimmed);
  const date = duration
    ? new Date(now.getTime() - Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS])
    : new Date(/T[\d:.]+$/.test(trimmed) ? `${trimmed}Z` : trimmed);
  if (Number.isNaN(date.getTime()) || (!duration && !/^\d{4}-\d{2}-\d{2}/.test(trimmed))) {
    throw new UsageError(`${flag} must be an ISO-8601 time or a duration like 15m, 2h, 3d`);
  }
  return date;
}
