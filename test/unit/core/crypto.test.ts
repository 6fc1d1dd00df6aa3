import * as nodeCrypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import {
  constantTimeEqual,
  decodeBase64Digest,
  decodeHexDigest,
  matchesAny,
} from '../../../functions/core/crypto.js';

vi.mock('node:crypto', { spy: true });

describe('core: constant-time comparison', () => {
  it('accepts equal bytes and refuses any single-bit difference', () => {
    const expected = Buffer.alloc(32, 7);
    expect(constantTimeEqual(expected, Buffer.alloc(32, 7))).toBe(true);
    const flipped = Buffer.alloc(32, 7);
    flipped[31] = 6;
    expect(constantTimeEqual(expected, flipped)).toBe(false);
  });

  it('refuses unequal lengths while still doing a full-length compare of the expected value', () => {
    const spy = vi.mocked(nodeCrypto.timingSafeEqual);
    spy.mockClear();
    const expected = Buffer.alloc(32, 1);
    expect(constantTimeEqual(expected, Buffer.alloc(5, 1))).toBe(false);
    expect(constantTimeEqual(expected, Buffer.alloc(64, 1))).toBe(false);
    expect(constantTimeEqual(expected, Buffer.alloc(0))).toBe(false);
    // One timingSafeEqual per call, always over the expected value's own length.
    expect(spy).toHaveBeenCalledTimes(3);
    for (const [a, b] of spy.mock.calls) {
      expect((a as Buffer).length).toBe(32);
      expect((b as Buffer).length).toBe(32);
    }
  });

  it('compares against every live secret, not stopping at the first match', () => {
    const spy = vi.mocked(nodeCrypto.timingSafeEqual);
    spy.mockClear();
    const secrets = [Buffer.alloc(32, 1), Buffer.alloc(32, 2), Buffer.alloc(32, 3)];
    expect(matchesAny(secrets, Buffer.alloc(32, 1))).toBe(true);
    expect(spy).toHaveBeenCalledTimes(3);
    expect(matchesAny(secrets, Buffer.alloc(32, 3))).toBe(true);
    expect(matchesAny(secrets, Buffer.alloc(32, 4))).toBe(false);
    expect(matchesAny([], Buffer.alloc(32, 4))).toBe(false);
  });
});

describe('core: digest decoding', () => {
  it('decodes 64 hex digits in either case and nothing else', () => {
    expect(decodeHexDigest('ab'.repeat(32))?.length).toBe(32);
    expect(decodeHexDigest('AB'.repeat(32))?.equals(Buffer.alloc(32, 0xab))).toBe(true);
    expect(decodeHexDigest('ab'.repeat(31))).toBeUndefined();
    expect(decodeHexDigest(`${'ab'.repeat(32)}00`)).toBeUndefined();
    expect(decodeHexDigest(`${'ab'.repeat(31)}zz`)).toBeUndefined();
    expect(decodeHexDigest(` ${'ab'.repeat(32)}`)).toBeUndefined();
  });

  it('decodes canonical padded base64 of 32 bytes and refuses other spellings', () => {
    const canonical = Buffer.alloc(32, 0xab).toString('base64');
    expect(decodeBase64Digest(canonical)?.equals(Buffer.alloc(32, 0xab))).toBe(true);
    expect(decodeBase64Digest(canonical.replace('=', ''))).toBeUndefined();
    expect(decodeBase64Digest(Buffer.alloc(32, 0xab).toString('base64url'))).toBeUndefined();
    // Same bytes, non-canonical final character.
    const last = canonical.at(-2) ?? '';
    const sibling = String.fromCharCode(last.charCodeAt(0) + 1);
    expect(decodeBase64Digest(`${canonical.slice(0, -2)}${sibling}=`)).toBeUndefined();
  });
});
