import * as crypto from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';

/** Every call the helpers make into Node's constant-time primitive. */
const calls = vi.hoisted(() => [] as [NodeJS.ArrayBufferView, NodeJS.ArrayBufferView][]);

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return {
    ...actual,
    timingSafeEqual: (left: NodeJS.ArrayBufferView, right: NodeJS.ArrayBufferView) => {
      calls.push([left, right]);
      return actual.timingSafeEqual(left, right);
    },
  };
});

const { constantTimeEqual, matchesAny } = await import('../../functions/core/crypto.js');

const expected = crypto.createHmac('sha256', 'k').update('body').digest();

function flipped(position: number): Buffer {
  const copy = Buffer.from(expected);
  copy[position] = (copy[position] ?? 0) ^ 0x01;
  return copy;
}

describe('crypto: constant-time comparison', () => {
  beforeEach(() => calls.splice(0));

  it('compares equal lengths with one timingSafeEqual over the received bytes, wherever they differ', () => {
    for (let position = 0; position < expected.length; position += 1) {
      calls.splice(0);
      const received = flipped(position);
      expect(constantTimeEqual(expected, received)).toBe(false);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.[1]).toBe(received);
    }
    expect(constantTimeEqual(expected, Buffer.from(expected))).toBe(true);
  });

  it('compares unequal lengths as the expected value against itself, so no secret byte steers it', () => {
    for (const length of [0, 1, 31, 33, 64, 1024]) {
      calls.splice(0);
      const received = Buffer.alloc(length, 0x41);
      expect(constantTimeEqual(expected, received)).toBe(false);
      expect(calls).toHaveLength(1);
      const [left, right] = calls[0] ?? [];
      expect(left).toBe(expected);
      expect(right).toBe(expected);
    }
  });

  it('refuses a prefix of the expected value', () => {
    expect(constantTimeEqual(expected, expected.subarray(0, 16))).toBe(false);
    expect(constantTimeEqual(expected.subarray(0, 16), expected)).toBe(false);
  });

  it('compares every candidate of a rotation set whichever matches', () => {
    const candidates = ['a', 'b', 'c', 'd'].map((key) =>
      crypto.createHmac('sha256', key).update('body').digest(),
    );
    for (const [index, candidate] of candidates.entries()) {
      calls.splice(0);
      expect(matchesAny(candidates, Buffer.from(candidate)), `candidate ${index}`).toBe(true);
      expect(calls).toHaveLength(candidates.length);
    }
    calls.splice(0);
    expect(matchesAny(candidates, flipped(0))).toBe(false);
    expect(calls).toHaveLength(candidates.length);
  });
});
