/** Exit codes of the operator CLI; documented in docs/cli.md. */
export const ExitCode = {
  Ok: 0,
  /** `send`: at least one answer differed from what the flags predict. */
  Unexpected: 1,
  /** Bad arguments: unknown provider or command, malformed option, unreadable payload file. */
  Usage: 2,
  /** The target cannot be found: no `.local/endpoints.json`, no such stack, missing output. */
  TargetNotFound: 3,
  /** AWS refused the credentials, or there are none. */
  Credentials: 4,
  /** The ingress, a queue or the table could not be reached or failed. */
  Unavailable: 5,
  /**
   * A write's outcome is unknown: it was sent and no answer came back (a timeout, a lost
   * answer), so it may have been applied. It was not sent again; the entries are named.
   */
  Ambiguous: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one line and an exit code, never a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.Usage, options);
    this.name = 'UsageError';
  }
}

export class TargetNotFoundError extends CliError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.TargetNotFound, options);
    this.name = 'TargetNotFoundError';
  }
}

export class CredentialsError extends CliError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.Credentials, options);
    this.name = 'CredentialsError';
  }
}

export class UnavailableError extends CliError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.Unavailable, options);
    this.name = 'UnavailableError';
  }
}

/** Ctrl-C, SIGTERM or a closed stdout stopped a command before it acted: nothing more was done. */
export class InterruptedError extends CliError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.Unexpected, options);
    this.name = 'InterruptedError';
  }
}

// Error names the AWS SDK v3 uses when credentials are absent, wrong, expired or not allowed.
const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
  'AccessDenied',
  'AccessDeniedException',
  'NotAuthorized',
  'TokenRefreshRequired',
]);

/** One line for an AWS SDK failure; credential problems get their own exit code. */
export function fromAwsError(error: unknown, doing: string): CliError {
  if (error instanceof CliError) return error;
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
  if (CREDENTIAL_ERRORS.has(name)) {
    return new CredentialsError(`AWS refused the credentials while ${doing}: ${name}: ${message}`, {
      cause: error,
    });
  }
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || name === 'TimeoutError') {
    const hint = /127\.0\.0\.1|localhost/.test(message) ? ' (is npm start running?)' : '';
    return new UnavailableError(`could not connect while ${doing}: ${message}${hint}`, {
      cause: error,
    });
  }
  return new UnavailableError(`${doing} failed: ${name}: ${message}`, { cause: error });
}
