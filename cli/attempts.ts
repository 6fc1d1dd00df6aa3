/**
 * One idempotency key's archived attempts, and which of them was acknowledged: what
 * `replay` sends and what `find` reports (docs/decisions.md §20).
 */
import { acknowledgedBy, Settlement, settle } from '../functions/core/archive.js';
import { Defaults } from '../functions/core/config.js';
import { sha256Hex } from '../functions/core/crypto.js';
import { DynamoDbClaimLedger } from '../functions/core/idempotency.js';
import type { ArchivedEvent } from './archive.js';
import { fromAwsError } from './errors.js';
import type { StoreTarget } from './target.js';

/** One idempotency key's attempts, as read from the archive. */
export interface KeyAttempts {
  readonly idempotencyKey: string;
  /** Every distinct attempt read (exact copies dropped), oldest first. */
  readonly attempts: readonly ArchivedEvent[];
  /**
   * The acknowledged attempt: the one whose envelope (id and digest) the completed
   * idempotency record named. Several (the key came again after its record expired and
   * was acknowledged again): the latest.
   */
  readonly acknowledged: ArchivedEvent | undefined;
  /**
   * None acknowledged: the latest verified attempt that nothing ties to another one —
   * what `replay --include-unacknowledged` recovers.
   */
  readonly recoverable: ArchivedEvent | undefined;
  /** A line says another attempt of the key was acknowledged, and it was not read (outside the range). */
  readonly acknowledgedElsewhere: boolean;
  /** Two different records claim one envelope id: none of them can be tied to the acknowledged attempt. */
  readonly conflicting: boolean;
}

/** The fields that make an archived attempt: two lines equal in these are copies of one. */
const ATTEMPT_FIELDS = [
  'provider',
  'type',
  'product',
  'subject',
  'idempotencyKey',
  'receivedAt',
  'sourceIp',
  'requestId',
  'envelope',
] as const;

const sameAttempt = (left: ArchivedEvent, right: ArchivedEvent) =>
  ATTEMPT_FIELDS.every((field) => left[field] === right[field]);

/** Latest receive time first, then the greater envelope id: never the order objects were read in. */
const later = (left: ArchivedEvent, right: ArchivedEvent) =>
  Date.parse(left.receivedAt) - Date.parse(right.receivedAt) ||
  (left.envelopeId > right.envelopeId ? 1 : left.envelopeId < right.envelopeId ? -1 : 0);

/**
 * Groups archived attempts by idempotency key. Exact copies (one `envelopeId`, the same
 * attempt: an archiver retry) are dropped, keeping the strongest settlement read. Two
 * lines that claim one envelope id with different content cannot both be the attempt
 * they name: their keys are marked conflicting and never replayed.
 */
export class ArchivedAttempts {
  private readonly byEnvelope = new Map<string, ArchivedEvent>();
  private readonly conflicts = new Set<string>();
  /** Lines dropped as exact copies of one already read. */
  copies = 0;
  /** Lines dropped because the record's digest showed another line is the attempt they claim to be. */
  contradicting = 0;

  add(event: ArchivedEvent): void {
    const held = this.byEnvelope.get(event.envelopeId);
    if (held === undefined) {
      this.byEnvelope.set(event.envelopeId, event);
      return;
    }
    if (!sameAttempt(held, event)) {
      // The archiver compared each with the record's digest: the one it matched is the
      // attempt; the other contradicts the record. Otherwise neither can be told apart.
      const verified = [held, event].filter((item) => item.settlement === Settlement.Completed);
      const refuted = [held, event].filter((item) => item.settlement === Settlement.DigestMismatch);
      if (verified.length === 1 && refuted.length === 1) {
        this.contradicting += 1;
        this.byEnvelope.set(event.envelopeId, verified[0] as ArchivedEvent);
        return;
      }
      this.conflicts.add(held.idempotencyKey);
      this.conflicts.add(event.idempotencyKey);
      return;
    }
    this.copies += 1;
    // A copy settled later may know more (a claim completed since): true wins, then unknown.
    const rank = (item: ArchivedEvent) =>
      item.acknowledged === true ? 2 : item.acknowledged === false ? 0 : 1;
    if (rank(event) > rank(held)) this.byEnvelope.set(event.envelopeId, event);
  }

  /** Lines whose settlement is still missing: written before the archiver settled attempts. */
  unsettled(): ArchivedEvent[] {
    return [...this.byEnvelope.values()].filter((event) => event.settlement === undefined);
  }

  /** Replaces unsettled lines by their settlement (see {@link settleUnsettled}). */
  settled(events: readonly ArchivedEvent[]): void {
    for (const event of events) this.byEnvelope.set(event.envelopeId, event);
  }

  /** Every key read, oldest first by its latest attempt. */
  keys(): KeyAttempts[] {
    const grouped = new Map<string, ArchivedEvent[]>();
    for (const event of this.byEnvelope.values()) {
      const list = grouped.get(event.idempotencyKey) ?? [];
      list.push(event);
      grouped.set(event.idempotencyKey, list);
    }
    const keys = [...grouped].map(([idempotencyKey, list]): KeyAttempts => {
      const attempts = list.sort(later);
      const latest = (items: ArchivedEvent[]) => items.at(-1);
      const conflicting = this.conflicts.has(idempotencyKey);
      const acknowledged = conflicting
        ? undefined
        : latest(attempts.filter((item) => item.acknowledged === true));
      const acknowledgedElsewhere = attempts.some(
        (item) => item.settlement === Settlement.OtherCompleted,
      );
      const recoverable =
        conflicting || acknowledged !== undefined || acknowledgedElsewhere
          ? undefined
          : latest(attempts.filter((item) => item.settlement !== Settlement.DigestMismatch));
      return {
        idempotencyKey,
        attempts,
        acknowledged,
        recoverable,
        acknowledgedElsewhere,
        conflicting,
      };
    });
    const shown = (key: KeyAttempts) =>
      key.acknowledged ?? key.recoverable ?? (key.attempts.at(-1) as ArchivedEvent);
    return keys.sort((left, right) => later(shown(left), shown(right)));
  }
}

/**
 * Settles lines written before the archiver settled attempts (version 1) against the
 * idempotency table now, as the archiver would have: one consistent read per record,
 * while the records last (the deduplication window, 7 days by default); past it their
 * acknowledgement is unknown. The table has no digest for them: the envelope id ties.
 */
export async function settleUnsettled(
  target: StoreTarget,
  attempts: ArchivedAttempts,
  now: Date,
): Promise<number> {
  const unsettled = attempts.unsettled();
  if (unsettled.length === 0) return 0;
  const ledger = new DynamoDbClaimLedger(target.clients().dynamodb, target.table);
  let records: Awaited<ReturnType<DynamoDbClaimLedger['read']>>;
  try {
    records = await ledger.read(
      unsettled.map((event) => `${event.provider}#${event.idempotencyKey}`),
    );
  } catch (error) {
    throw fromAwsError(error, 'reading the idempotency table');
  }
  attempts.settled(
    unsettled.map((event) => {
      const found = settle(
        records.get(`${event.provider}#${event.idempotencyKey}`),
        {
          envelopeId: event.envelopeId,
          digest: sha256Hex(event.envelope),
          receivedAt: event.receivedAt,
        },
        now.getTime(),
        Defaults.retentionDays * 86_400_000,
      );
      const settlement = found === 'pending' ? Settlement.NotCompleted : found;
      return { ...event, settlement, acknowledged: acknowledgedBy(settlement) };
    }),
  );
  return unsettled.length;
}

/** How an archived attempt's acknowledgement reads in `find` and `replay`'s reports. */
export function describeAcknowledgement(settlement: Settlement | undefined): string {
  switch (settlement) {
    case Settlement.Completed:
      return 'acknowledged (the idempotency record names this attempt)';
    case Settlement.OtherCompleted:
      return 'not acknowledged: another attempt of this key was';
    case Settlement.OtherInProgress:
    case Settlement.NoRecord:
      return 'never acknowledged: answered 503 (nothing was acknowledged), or the provider gave up';
    case Settlement.DigestMismatch:
      return 'not acknowledged: its content differs from the attempt the idempotency record names';
    case Settlement.NotCompleted:
      return 'acknowledgement unknown: its completion was never written (a completion write that failed after the enqueue was answered 200; a function that died was not)';
    case Settlement.RecordExpired:
      return 'acknowledgement unknown: settled after its idempotency record expired';
    default:
      return 'acknowledgement not recorded (archived before attempts were settled)';
  }
}
