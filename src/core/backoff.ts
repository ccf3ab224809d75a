/** The numbers that shape the reconnect delay. */
export interface BackoffOptions {
  /** delay of the first attempt, ms (before jitter) */
  initialDelay: number;
  /** cap on any delay, ms */
  maxDelay: number;
  /** growth per attempt */
  factor: number;
  /** random share of each delay, 0–1 */
  jitter: number;
}

/**
 * Delay before reconnect attempt `attempt` (1-based): `d = initialDelay · factor^(attempt−1)`,
 * capped at `maxDelay`, then shortened by a random share of up to `jitter` (at most 1).
 *
 * The first attempt is drawn from the whole of `[0, d]` (unless `jitter` is 0): that is the
 * moment a server restart drops every client at once, and spreading their first tries widely
 * is what keeps them from returning in a bunch.
 */
export const backoff = (attempt: number, o: BackoffOptions, random: () => number = Math.random): number =>
  Math.round(
    Math.min(o.maxDelay, o.initialDelay * o.factor ** (attempt - 1)) *
      (1 - (attempt < 2 && o.jitter ? 1 : Math.min(1, o.jitter)) * random()),
  );
