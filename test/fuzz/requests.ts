/**
 * What the fuzz suites share: the contract's answers, requests as API Gateway may hand
 * them over (honest or lying about base64), and arbitrary bodies.
 */
import fc from 'fast-check';
import { apiEvent } from '../support/providers.js';

/** Every status code the contract names. */
export const CONTRACT_CODES = new Set([200, 400, 401, 403, 404, 405, 409, 413, 503]);
export const CONTRACT_STATUSES = new Set([
  'accepted',
  'duplicate',
  'ignored',
  'rejected',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'in_progress',
  'conflict',
  'too_large',
  'retry',
]);
export const RUNS = 120;

/** How the event's `isBase64Encoded` relates to its body. */
export type Encoding = 'text' | 'base64' | 'claims-base64' | 'hides-base64';

export interface FuzzRequest {
  readonly path: string;
  readonly headers: [string, string][];
  readonly body: Buffer;
  readonly encoding: Encoding;
}

/** The bytes the handler must verify: what API Gateway's event says, decoded as the contract says. */
export function effectiveBody(request: FuzzRequest): Buffer {
  switch (request.encoding) {
    case 'text':
      return Buffer.from(request.body.toString('utf8'), 'utf8');
    case 'base64':
      return request.body;
    case 'claims-base64':
      return Buffer.from(request.body.toString('utf8'), 'base64');
    case 'hides-base64':
      return Buffer.from(request.body.toString('base64'), 'utf8');
  }
}

/** The API Gateway event of a request, its `isBase64Encoded` honest or not as it says. */
export function toEvent(request: FuzzRequest): unknown {
  const event = apiEvent(request, { base64: request.encoding === 'base64' });
  if (request.encoding === 'claims-base64') {
    return { ...event, body: request.body.toString('utf8'), isBase64Encoded: true };
  }
  if (request.encoding === 'hides-base64') {
    return { ...event, body: request.body.toString('base64'), isBase64Encoded: false };
  }
  return event;
}

/** Arbitrary bodies: bytes, text, JSON objects, empty, and one over the size limit. */
export const bodies = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 3, arbitrary: fc.string({ maxLength: 256 }).map((text) => Buffer.from(text)) },
  {
    weight: 3,
    arbitrary: fc
      .dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 })
      .map((value) => Buffer.from(JSON.stringify(value))),
  },
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
  // Over the 256 KiB default limit, and invalid UTF-8 throughout.
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(300 * 1024, 0xff)) },
);
