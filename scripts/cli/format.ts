import type { HeldMessage } from './queue.js';

interface EnvelopeView {
  provider?: unknown;
  type?: unknown;
  product?: unknown;
  id?: unknown;
  idempotencyKey?: unknown;
  receivedAt?: unknown;
  replay?: unknown;
  test?: unknown;
}

function parse(body: string): EnvelopeView | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null ? (value as EnvelopeView) : undefined;
  } catch {
    return undefined;
  }
}

function flags(envelope: EnvelopeView): string {
  return `${envelope.replay === true ? ' [replay]' : ''}${envelope.test === true ? ' [test]' : ''}`;
}

/** `receivedAt provider type[/product] key=… id=… [replay]` — one event per line. */
export function oneLine(message: HeldMessage): string {
  const envelope = parse(message.body);
  if (!envelope) return `(not an envelope) ${message.body.slice(0, 120)}`;
  const type = envelope.product ? `${envelope.type} (${envelope.product})` : `${envelope.type}`;
  return `${envelope.receivedAt} ${envelope.provider} ${type} key=${envelope.idempotencyKey} id=${envelope.id}${flags(envelope)}`;
}

/** A header line, then the envelope as indented JSON. */
export function pretty(message: HeldMessage): string {
  const envelope = parse(message.body);
  if (!envelope) return `── (not an envelope, message ${message.messageId})\n${message.body}`;
  const received = message.receiveCount > 1 ? ` · received ${message.receiveCount}×` : '';
  return `── ${oneLine(message)}${received}\n${JSON.stringify(envelope, null, 2)}`;
}
