/** What the views need of a message: its body, and how often SQS has handed it out. */
export interface ShownMessage {
  readonly messageId: string;
  readonly body: string;
  /** How many times SQS has handed it out, this time included (0: not from a queue). */
  readonly receiveCount: number;
}

interface EnvelopeView {
  provider?: unknown;
  type?: unknown;
  product?: unknown;
  id?: unknown;
  idempotencyKey?: unknown;
  receivedAt?: unknown;
  replay?: unknown;
  test?: unknown;
  payload?: { synthetic?: unknown } | null;
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
  return [
    envelope.replay === true ? ' [replay]' : '',
    envelope.test === true ? ' [test]' : '',
    // `webhook-ingress send` marks its sample bodies (see send.ts: markSynthetic).
    envelope.payload?.synthetic === true ? ' [synthetic]' : '',
  ].join('');
}

/** `receivedAt provider type[/product] key=… id=… [replay]` — one event per line. */
export function oneLine(message: ShownMessage): string {
  const envelope = parse(message.body);
  if (!envelope) return `(not an envelope) ${printable(message.body.slice(0, 120))}`;
  const type = envelope.product ? `${envelope.type} (${envelope.product})` : `${envelope.type}`;
  return printable(
    `${envelope.receivedAt} ${envelope.provider} ${type} key=${envelope.idempotencyKey} id=${envelope.id}${flags(envelope)}`,
  );
}

/** C0 and C1 controls (newline and ESC included), DEL, and the Unicode line separators. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it escapes.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Provider-controlled text made safe for a terminal and for line-oriented pipes: every
 * control character shown as its `\uXXXX` escape, so one event stays one line and an
 * identifier cannot move the cursor, clear the screen or forge a line.
 */
export function printable(text: string): string {
  return text.replace(CONTROLS, escapeChar);
}

function escapeChar(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** What `JSON.stringify` leaves raw inside strings that a terminal may still act on. */
const RAW_IN_JSON = /[\u007f-\u009f\u2028\u2029]/g;

/**
 * `JSON.stringify` for a terminal: C0 controls are escaped by JSON itself; DEL, C1
 * controls and the line separators are written as `\uXXXX` escapes too — the same
 * JSON values, so a reader of the output parses exactly what it would have.
 */
export function jsonForTerminal(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(RAW_IN_JSON, escapeChar);
}

/**
 * Indents JSON text without parsing it into JavaScript values: strings and
 * numbers are copied as written, so `12345678901234567890` and `1.10` keep the
 * provider's digits (a JSON.parse/JSON.stringify round trip would not).
 */
export function indentJson(text: string, indent = '  '): string {
  let out = '';
  let depth = 0;
  let index = 0;
  const newline = () => `\n${indent.repeat(depth)}`;
  while (index < text.length) {
    const char = text[index] as string;
    if (char === '"') {
      let end = index + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      // A JSON string may hold DEL, C1 controls and line separators raw: escaped, same value.
      out += printable(text.slice(index, end + 1));
      index = end + 1;
      continue;
    }
    if (char === ' ' || char === '\n' || char === '\r' || char === '\t') {
      index += 1;
      continue;
    }
    if (char === '{' || char === '[') {
      // An empty object or array stays on one line.
      let next = index + 1;
      while (/\s/.test(text[next] ?? '')) next += 1;
      const close = char === '{' ? '}' : ']';
      if (text[next] === close) {
        out += `${char}${close}`;
        index = next + 1;
        continue;
      }
      depth += 1;
      out += char + newline();
    } else if (char === '}' || char === ']') {
      depth -= 1;
      out += newline() + char;
    } else if (char === ',') {
      out += `,${newline()}`;
    } else if (char === ':') {
      out += ': ';
    } else {
      out += char;
    }
    index += 1;
  }
  return out;
}

/** A header line, then the envelope as indented JSON, exactly as it is on the queue. */
export function pretty(message: ShownMessage): string {
  const envelope = parse(message.body);
  if (!envelope) {
    return `── (not an envelope, message ${printable(message.messageId)})\n${printable(message.body)}`;
  }
  const received = message.receiveCount > 1 ? ` · received ${message.receiveCount}×` : '';
  return `── ${oneLine(message)}${received}\n${indentJson(message.body)}`;
}
