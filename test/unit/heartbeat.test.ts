import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Heartbeat, heartbeat } from '../../src/core/heartbeat';

describe('heartbeat', () => {
  let pings: number;
  let deaths: number;
  let hb: Heartbeat;
  beforeEach(() => {
    vi.useFakeTimers();
    pings = deaths = 0;
    hb = heartbeat(
      { interval: 1000, timeout: 500 },
      () => pings++,
      () => deaths++,
    );
  });
  afterEach(() => {
    hb.stop();
    vi.useRealTimers();
  });

  it('pings after interval and declares death after timeout without a pong', () => {
    hb.start();
    vi.advanceTimersByTime(999);
    expect(pings).toBe(0);
    vi.advanceTimersByTime(1);
    expect(pings).toBe(1);
    vi.advanceTimersByTime(499);
    expect(deaths).toBe(0);
    vi.advanceTimersByTime(1);
    expect(deaths).toBe(1);
  });

  it('a pong measures latency and schedules the next ping from the pong', () => {
    hb.start();
    vi.advanceTimersByTime(1000);
    vi.advanceTimersByTime(42);
    hb.alive(true);
    expect(hb.latency).toBe(42);
    vi.advanceTimersByTime(999);
    expect(pings).toBe(1);
    vi.advanceTimersByTime(1);
    expect(pings).toBe(2);
    expect(deaths).toBe(0);
  });

  it('a late check (throttled tab) pings again instead of declaring death', () => {
    hb.start();
    vi.advanceTimersByTime(1000);
    expect(pings).toBe(1);
    // the page was throttled: the wall clock moved 60 s, the timer had not fired yet
    vi.setSystemTime(Date.now() + 60_000);
    vi.advanceTimersByTime(500);
    expect(deaths).toBe(0);
    expect(pings).toBe(2);
    // and a fresh, on-time timeout without a pong is death
    vi.advanceTimersByTime(500);
    expect(deaths).toBe(1);
  });

  it('verify pings at once, but not twice while one is unanswered', () => {
    hb.start();
    hb.verify();
    hb.verify();
    expect(pings).toBe(1);
  });

  it('a non-pong proof of life keeps the connection without a latency', () => {
    hb.start();
    vi.advanceTimersByTime(1000);
    hb.alive(false);
    vi.advanceTimersByTime(600);
    expect(deaths).toBe(0);
    expect(hb.latency).toBeUndefined();
  });

  it('stop leaves no timer', () => {
    hb.start();
    vi.advanceTimersByTime(1000);
    hb.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('start(true) probes at once', () => {
    hb.start(true);
    expect(pings).toBe(1);
    vi.advanceTimersByTime(500);
    expect(deaths).toBe(1);
  });

  it('once stopped, verify sends nothing; a proof of life restarts the cycle', () => {
    hb.start();
    hb.stop();
    hb.verify();
    expect(pings).toBe(0);
    hb.alive(true);
    vi.advanceTimersByTime(1000);
    expect(pings).toBe(1);
  });

  it('a proof of life while running with no ping out changes nothing', () => {
    hb.start();
    vi.advanceTimersByTime(900);
    hb.alive(false);
    vi.advanceTimersByTime(100);
    expect(pings).toBe(1);
  });
});
