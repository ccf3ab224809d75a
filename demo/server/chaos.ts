/**
 * Chaos controls, so a person — or a test — can watch a client recover: drop every
 * connection (no close frame), stall them (half-open), or restart (close 1012 and refuse
 * upgrades for a while).
 */
import { closeConn } from './conn';
import type { Ctx } from './types';

/** The chaos controls of one instance. */
export interface Chaos {
  /** True while a restart keeps the instance down. */
  readonly down: boolean;
  drop(): number;
  stall(): number;
  restart(downMs?: number): Promise<void>;
  /** Clear timers and release anyone waiting for `restart`. */
  close(): void;
}

/** Chaos on the connections of `ctx`; a stalled connection is destroyed after `stallReapMs`. */
export function chaos(ctx: Ctx, stallReapMs: number): Chaos {
  const { conns, log } = ctx;
  let down = false;
  let downUntil = 0;
  let closed = false;
  let upTimer: NodeJS.Timeout | undefined;
  let upWaiters: Array<() => void> = [];

  const flushUpWaiters = (): void => {
    const waiters = upWaiters;
    upWaiters = [];
    for (const w of waiters) w();
  };

  return {
    get down() {
      return down;
    },
    drop() {
      const n = conns.size;
      for (const c of [...conns]) c.ws.terminate();
      log(`chaos: dropped ${n} connection(s)`);
      return n;
    },
    stall() {
      let n = 0;
      for (const c of conns) {
        if (c.stalled || c.closing) continue;
        n++;
        c.stalled = true;
        clearTimeout(c.authTimer);
        c.authTimer = undefined;
        // Stop reading (ws keeps the socket paused; nothing answers pings) and, through the
        // `stalled` flag, stop writing. The TCP socket stays open.
        c.ws.pause();
        c.stallTimer = setTimeout(() => c.ws.terminate(), stallReapMs);
        c.stallTimer.unref();
      }
      log(`chaos: stalled ${n} connection(s)`);
      return n;
    },
    restart(downMs = 3000) {
      const ms = Math.max(0, Math.min(60_000, Number.isFinite(downMs) ? downMs : 3000));
      down = true;
      downUntil = Math.max(downUntil, Date.now() + ms);
      const n = conns.size;
      for (const c of [...conns]) {
        if (c.stalled) c.ws.terminate();
        else closeConn(c, 1012, 'server restart');
      }
      log(`chaos: restart — closed ${n} connection(s), down for ${ms} ms`);
      clearTimeout(upTimer);
      upTimer = setTimeout(
        () => {
          upTimer = undefined;
          down = false;
          downUntil = 0;
          log('chaos: back up');
          flushUpWaiters();
        },
        Math.max(0, downUntil - Date.now()),
      );
      return new Promise((resolve) => {
        if (closed) resolve();
        else upWaiters.push(resolve);
      });
    },
    close() {
      closed = true;
      clearTimeout(upTimer);
      flushUpWaiters();
    },
  };
}
