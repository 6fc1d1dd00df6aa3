import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** HMAC-SHA256 of `data` keyed with `key`, as raw bytes. */
export function hmacSha256(key: string | Uint8Array, data: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** SHA-256 of `data`, as raw bytes. */
export function sha256(data: string | Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** SHA-256 of `data`, as lower-case hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Constant-time equality. For equal lengths the time does not depend on the
 * contents; for unequal lengths it compares `expected` with itself, so the work
 * depends only on the (public) length of `expected`, never on secret bytes.
 */
export function constantTimeEqual(expected: Uint8Array, received: Uint8Array): boolean {
  const sameLength = expected.length === received.length;
  const other = sameLength ? received : expected;
  return timingSafeEqual(expected, other) && sameLength;
}

/**
 * True when `received` equals any of `candidates`. Every candidate is compared,
 * so the time does not reveal which secret of a rotation set matched.
 */
export function matchesAny(candidates: readonly Uint8Array[], received: Uint8Array): boolean {
  let matched = false;
  for (const candidate of candidates) {
    const equal = constantTimeEqual(candidate, received);
    matched = equal || matched;
  }
  return matched;
}

/**
 * True when any of `received` equals any of `candidates`: several signatures in one
 * header (a sender's rotation) against several live secrets (ours). Every pair is
 * compared, so the time does not reveal which one matched.
 */
export function anyMatches(
  candidates: readonly Uint8Array[],
  received: readonly Uint8Array[],
): boolean {
  let matched = false;
  for (const signature of received) matched = matchesAny(candidates, signature) || matched;
  return matched;
}

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes a 64-digit hex SHA-256 digest (either case); undefined when malformed. */
export function decodeHexDigest(text: string): Buffer | undefined {
  return HEX_SHA256.test(text) ? Buffer.from(text, 'hex') : undefined;
}

/**
 * Decodes a padded, canonical standard-base64 SHA-256 digest; undefined when
 * malformed. Non-canonical spellings of the same bytes are refused too.
 */
export function decodeBase64Digest(text: string): Buffer | undefined {
  return decodeBase64(text, 32);
}

/**
 * Decodes padded, canonical standard base64 of exactly `length` bytes (an ed25519
 * signature is 64); undefined when malformed or of another length.
 */
export function decodeBase64(text: string, length: number): Buffer | undefined {
  if (!BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === length && bytes.toString('base64') === text ? bytes : undefined;
}
