/**
 * Every limit of the reference server, in one place, with its default: what `upgrade.ts`,
 * `conn.ts`, `http.ts`, `messages.ts`, `rooms.ts` and the buses enforce (and what a channel
 * module reuses). `docs/security.md` lists them; `DemoServerOptions.limits` changes them.
 */

/** The server's limits. Sizes in bytes, times in ms. */
export interface Limits {
  /** Largest frame accepted; larger → close 1009. @default 65536 */
  maxPayload: number;
  /** Messages per second per connection (also the burst). @default 50 */
  rateLimit: number;
  /** Time to authenticate after the upgrade; later → close 4003. @default 10000 */
  authTimeoutMs: number;
  /**
   * Unsent bytes a connection may have queued (the `ws` `bufferedAmount`) before it is closed
   * as a slow reader: the socket is destroyed, since no close frame gets through a full
   * backlog. @default 1048576
   */
  maxBufferedBytes: number;
  /** Time for a request's (or an upgrade's) headers to arrive in full. @default 10000 */
  headersTimeoutMs: number;
  /** Time for a whole HTTP request (headers and body) to arrive. @default 30000 */
  requestTimeoutMs: number;
  /** A TCP connection that sends nothing for this long before a request is complete is closed. @default 15000 */
  idleTimeoutMs: number;
  /** Distinct rooms one connection may join over its life; more → an error frame. @default 10 */
  roomsPerConnection: number;
  /** Rooms in total (on the bus: cluster-wide with Redis); a new room beyond → an error frame. @default 100 */
  maxRooms: number;
  /** A room log with no join and no line for this long is forgotten (Redis: `PEXPIRE`). @default 3600000 */
  roomIdleMs: number;
  /** Longest display name and room name, in characters. @default 32 */
  maxName: number;
  /** Longest chat line, in characters. @default 1000 */
  maxText: number;
}

/** The defaults. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxPayload: 64 * 1024,
  rateLimit: 50,
  authTimeoutMs: 10_000,
  maxBufferedBytes: 1024 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 15_000,
  roomsPerConnection: 10,
  maxRooms: 100,
  roomIdleMs: 3_600_000,
  maxName: 32,
  maxText: 1000,
});

/** The defaults with `overrides` applied; a value that is not a positive number throws, naming it. */
export function resolveLimits(overrides: Partial<Limits> = {}): Readonly<Limits> {
  const out: Limits = { ...DEFAULT_LIMITS };
  for (const [name, value] of Object.entries(overrides) as Array<[keyof Limits, unknown]>) {
    if (!(name in DEFAULT_LIMITS)) throw new TypeError(`limits.${name}: unknown limit`);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      throw new TypeError(`limits.${name} must be a positive number, got ${String(value)}`);
    out[name] = value;
  }
  return Object.freeze(out);
}

/**
 * Control and formatting characters (NUL, newlines, C0/C1, bidi overrides and isolates,
 * zero-width marks, line/paragraph separators): refused in names and room names, where they
 * could fake another name or reorder what a reader sees.
 */
export const UNSAFE_NAME_CHARS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
