import { InvalidArgumentError } from 'commander';

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
