import { describe, expect, it } from 'vitest';
import { backoff } from '../../src/core/backoff';

const o = { initialDelay: 1000, maxDelay: 30_000, factor: 2, jitter: 0.5 };

describe('backoff', () => {
  it('grows by the factor per attempt without jitter', () => {
    const d = [1, 2, 3, 4].map((n) => backoff(n, { ...o, jitter: 0 }));
    expect(d).toEqual([1000, 2000, 4000, 8000]);
  });

  it('is capped at maxDelay', () => {
    expect(backoff(20, { ...o, jitter: 0 })).toBe(30_000);
  });

  it('draws the first attempt from all of [0, d], to spread a fleet dropped at once', () => {
    expect(backoff(1, o, () => 0)).toBe(1000);
    expect(backoff(1, o, () => 0.999_999)).toBe(0);
    expect(backoff(1, o, () => 0.25)).toBe(750);
  });

  it('keeps the first attempt exact with jitter 0', () => {
    expect(backoff(1, { ...o, jitter: 0 }, () => 0.5)).toBe(1000);
  });

  it('shortens later attempts by at most the jitter share', () => {
    expect(backoff(2, o, () => 0)).toBe(2000);
    expect(backoff(2, o, () => 0.999_999)).toBe(1000);
    expect(backoff(2, o, () => 0.5)).toBe(1500);
  });

  it('keeps random delays within [d·(1−jitter), d]', () => {
    for (let i = 0; i < 1000; i++) {
      const d = backoff(3, o);
      expect(d).toBeGreaterThanOrEqual(2000);
      expect(d).toBeLessThanOrEqual(4000);
    }
  });

  it('spreads clients apart: 100 draws are not all the same', () => {
    const draws = new Set(Array.from({ length: 100 }, () => backoff(1, o)));
    expect(draws.size).toBeGreaterThan(50);
  });
});
