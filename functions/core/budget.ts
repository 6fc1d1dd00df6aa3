import type { CallOptions } from './idempotency.js';

/** The part of the Lambda context the pipeline uses. */
export interface InvocationContext {
  getRemainingTimeInMillis?(): number;
}

/**
 * The invocation's time: every AWS call on the request path runs with a signal that
 * aborts it `reserveMs` before Lambda would end the invocation.
 */
export class Budget {
  private readonly started = performance.now();

  private constructor(private readonly remainingMs: number | undefined) {}

  static of(context: InvocationContext | undefined): Budget {
    const remaining = context?.getRemainingTimeInMillis?.();
    return new Budget(
      remaining !== undefined && Number.isFinite(remaining) && remaining > 0
        ? remaining
        : undefined,
    );
  }

  /** How long a claim must stay ours: past the end of this invocation. */
  leaseMs(fallbackMs: number): number {
    return this.remainingMs === undefined ? fallbackMs : this.remainingMs + 1000;
  }

  /** Runs `call` aborted `reserveMs` before the invocation's time runs out (real time). */
  async run<T>(reserveMs: number, call: (options: CallOptions) => Promise<T>): Promise<T> {
    if (this.remainingMs === undefined) return call({});
    const ms = this.remainingMs - reserveMs - (performance.now() - this.started);
    // A plain timer, cleared when the call settles: `AbortSignal.timeout` can be
    // collected (and never fire) while a hung call holds no reference to it.
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error('the invocation budget ran out')),
      Math.max(1, Math.floor(ms)),
    );
    try {
      return await call({ signal: controller.signal });
    } finally {
      clearTimeout(timer);
    }
  }
}
