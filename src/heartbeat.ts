/** Timing of the app-level heartbeat. */
export interface HeartbeatTiming {
  interval: number;
  timeout: number;
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
export class Heartbeat {
  /** Round trip of the last answered ping, ms. */
  latency?: number;
  private timer?: ReturnType<typeof setTimeout>;
  /** wall-clock time the pending timer is due */
  private due = 0;
  /** wall-clock time of the unanswered ping, if any */
  private sentAt?: number;

  constructor(
    private o: HeartbeatTiming,
    private ping: () => void,
    private dead: () => void,
  ) {}

  /** (Re)start the cycle: next ping after `interval`. */
  start(): void {
    this.sentAt = undefined;
    this.wait(this.o.interval, () => this.beat());
  }

  /**
   * Proof of life arrived: a pong, or (if so configured) any message.
   * @returns the round trip, ms, when a pong answered a ping
   */
  alive(pong: boolean): number | undefined {
    const sent = this.sentAt;
    if (sent === undefined) return;
    this.start();
    if (pong) return (this.latency = Date.now() - sent);
  }

  /** Check now (tab shown again, network back), unless a ping is already unanswered. */
  verify(): void {
    if (this.sentAt === undefined) this.beat();
  }

  /** Stop; no timer is left. */
  stop(): void {
    clearTimeout(this.timer);
    this.sentAt = undefined;
  }

  private beat(): void {
    this.sentAt = Date.now();
    this.ping();
    this.wait(this.o.timeout, () => {
      // Ran well past its time: the tab was throttled or the machine slept. Ask afresh.
      if (Date.now() - this.due > Math.max(1000, this.o.timeout / 2)) this.beat();
      else this.dead();
    });
  }

  private wait(ms: number, fn: () => void): void {
    clearTimeout(this.timer);
    this.due = Date.now() + ms;
    this.timer = setTimeout(fn, ms);
  }
}
