import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

interface Entry {
  /** The receive count SQS reported the last time `tail` received the message. */
  readonly count: number;
  /** When the message leaves the queue anyway (sent + retention), epoch ms. */
  readonly expiresAt: number;
}

type LedgerFile = Record<string, Record<string, Entry>>;

/**
 * What `tail` has seen of each queue's messages, kept on this machine between
 * runs. SQS shows a message's receive count only on a receive, so the only way to
 * know, before looking, that a look would take a receive the consumer needs is to
 * remember what the last look saw.
 */
export class ReceiveLedger {
  private data: LedgerFile = {};

  constructor(readonly file: string) {}

  async load(): Promise<this> {
    try {
      const parsed: unknown = JSON.parse(await readFile(this.file, 'utf8'));
      if (typeof parsed === 'object' && parsed !== null) this.data = parsed as LedgerFile;
    } catch {
      // No ledger yet, or an unreadable one: start afresh (it only ever makes tail more careful).
      this.data = {};
    }
    return this;
  }

  /** Remembers each message's receive count until it would leave the queue anyway. */
  record(
    queueUrl: string,
    messages: readonly { messageId: string; receiveCount: number; sentAt?: number | undefined }[],
    retentionSeconds: number,
    now: number,
  ): void {
    const queue = { ...(this.data[queueUrl] ?? {}) };
    for (const message of messages) {
      queue[message.messageId] = {
        count: message.receiveCount,
        expiresAt: (message.sentAt ?? now) + retentionSeconds * 1000,
      };
    }
    this.data[queueUrl] = queue;
  }

  /** Messages last seen with a receive count of `threshold` or more that may still be queued. */
  atOrAbove(
    queueUrl: string,
    threshold: number,
    now: number,
  ): { messages: number; highest: number } {
    let messages = 0;
    let highest = 0;
    for (const entry of Object.values(this.data[queueUrl] ?? {})) {
      if (entry.expiresAt <= now || entry.count < threshold) continue;
      messages += 1;
      highest = Math.max(highest, entry.count);
    }
    return { messages, highest };
  }

  /** Forgets a queue (it was seen empty: nothing it remembered is still there). */
  forget(queueUrl: string): void {
    delete this.data[queueUrl];
  }

  async save(now: number): Promise<void> {
    for (const [queueUrl, entries] of Object.entries(this.data)) {
      const live = Object.entries(entries).filter(([, entry]) => entry.expiresAt > now);
      if (live.length === 0) delete this.data[queueUrl];
      else this.data[queueUrl] = Object.fromEntries(live);
    }
    await mkdir(dirname(this.file), { recursive: true });
    const staging = `${this.file}.${process.pid}.tmp`;
    await writeFile(staging, `${JSON.stringify(this.data)}\n`);
    await rename(staging, this.file);
  }
}
