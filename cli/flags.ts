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
  const refuse = () =>
    new UsageError(
      `${flag} must be an ISO-8601 time (UTC unless it carries an offset) or a duration like 15m, 2h, 3d`,
    );
  if (duration) {
    const ago = new Date(
      now.getTime() - Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS],
    );
    if (Number.isNaN(ago.getTime())) throw refuse();
    return ago;
  }
  // Strict ISO-8601: a date, or a date and time (`T` or one space), seconds and fraction
  // optional, UTC unless an offset is written — never the machine's zone.
  const iso = ISO_INSTANT.exec(trimmed);
  if (!iso) throw refuse();
  const [, day = '', time, offset] = iso;
  const zone =
    offset === undefined || offset.toUpperCase() === 'Z'
      ? 'Z'
      : `${offset.slice(0, 3)}:${offset.slice(-2)}`;
  const date = new Date(`${day}T${time ?? '00:00'}${zone}`);
  // `Date` rolls 2026-02-30 over to March 2 and accepts 24:00: refuse what the calendar lacks.
  const [year, month, dayOfMonth] = day.split('-').map(Number);
  const calendar = new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, dayOfMonth ?? 0));
  if (
    Number.isNaN(date.getTime()) ||
    calendar.getUTCMonth() !== (month ?? 0) - 1 ||
    calendar.getUTCDate() !== dayOfMonth ||
    (time !== undefined && Number(time.slice(0, 2)) > 23)
  ) {
    throw refuse();
  }
  return date;
}

const ISO_INSTANT =
  /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?))?(Z|[+-]\d{2}:?\d{2})?$/i;
