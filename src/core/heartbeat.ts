/** Timing of the app-level heartbeat. */
export interface HeartbeatTiming {
  interval: number;
  timeout: number;
}

/** A running heartbeat; see {@link heartbeat}. */
export interface Heartbeat {
  /** Round trip of the last answered ping, ms. */
  latency?: number;
  /** (Re)start the cycle: next ping after `interval`, or at once with `now` (a probe). */
  start(now?: boolean): void;
  /**
   * Proof of life arrived: a pong, or (if so configured) any message. Restarts a stopped
   * cycle: a server that answers late is checked from then on.
   * @returns the round trip, ms, when a pong answered a ping
   */
  alive(pong: boolean): number | undefined;
  /** Check now (tab shown again, network back), unless stopped or a ping is already unanswered. */
  verify(): void;
  /** Stop; no timer is left. */
  stop(): void;
}

/**
 * App-level liveness check. Sends a ping `interval` ms after the last proof of life and
 * declares the connection dead when no proof arrives within `timeout`.
 *
 * It judges by wall-clock time and by data actually received, never by a timer merely
 * firing late: background tabs run timers as rarely as once a minute, and a machine that
 * slept fires them all at once. A check that runs late proves nothing, so it pings again
 * and gives the connection a fresh `timeout`.
 */
export const heartbeat = (o: HeartbeatTiming, ping: () => void, dead: () => void): Heartbeat => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** wall-clock time of the unanswered ping, if any */
  let sentAt: number | undefined;
  const wait = (ms: number, fn: () => void) => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
  const beat = () => {
    const sent = (sentAt = Date.now());
    ping();
    wait(o.timeout, () => {
      // Ran well past its time: the tab was throttled or the machine slept. Ask afresh.
      if (Date.now() - sent - o.timeout > Math.max(1000, o.timeout / 2)) beat();
      else dead();
    });
  };
  const hb: Heartbeat = {
    start(now) {
      sentAt = undefined;
      now ? beat() : wait(o.interval, beat);
    },
    alive(pong) {
      const sent = sentAt;
      // running with no ping out: nothing to learn, and no timer churn per message
      if (sent === undefined && timer) return;
      hb.start();
      if (pong && sent !== undefined) return (hb.latency = Date.now() - sent);
    },
    verify() {
      if (timer && sentAt === undefined) beat();
    },
    stop() {
      clearTimeout(timer);
      timer = sentAt = undefined;
    },
  };
  return hb;
};
