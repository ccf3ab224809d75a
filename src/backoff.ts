/** The numbers that shape the reconnect delay. */
export interface BackoffOptions {
  initialDelay: number;
  maxDelay: number;
  factor: number;
  jitter: number;
}

/**
 * Delay before reconnect attempt `attempt` (1-based): `initialDelay · factor^(attempt−1)`,
 * capped at `maxDelay`, then shortened by a random share of up to `jitter`, so that many
 * clients dropped at the same moment come back spread out instead of all at once.
 */
export const backoff = (attempt: number, o: BackoffOptions, random: () => number = Math.random): number =>
  Math.round(Math.min(o.maxDelay, o.initialDelay * o.factor ** (attempt - 1)) * (1 - o.jitter * random()));
