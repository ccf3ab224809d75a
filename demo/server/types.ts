/**
 * The demo server's public types and the state every module shares (`Ctx`). No logic here.
 */
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { StatsResponse } from '../protocol';
import type { Bus } from './bus';
import type { HttpTransportLimits } from './http-transport';
import type { Limits } from './limits';

/** Options of {@link startDemoServer}. */
export interface DemoServerOptions {
  /** Default 0 (a random free port). */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Static pages. Default `demo/public`. */
  staticDir?: string;
  /** Second static dir, looked up after `staticDir` (built page bundles). Default `demo/dist`. */
  assetsDir?: string;
  /** Served at `/dist/` (the library builds). Default the repository's `dist/`. */
  libDir?: string;
  /** Default 10 000 (also `limits.authTimeoutMs`; this one wins). */
  authTimeoutMs?: number;
  /** The server's limits (sizes, timeouts, rooms); see `limits.ts` and docs/security.md. */
  limits?: Partial<Limits>;
  /**
   * Host names this server is reached by, checked against every request's `Host` (upgrades
   * and HTTP; anything else → 403), so a DNS-rebound name is refused. Always allowed:
   * localhost, 127.0.0.1, [::1] and `host` (for `0.0.0.0` / `::`, every local address); a list
   * adds names (`'app.example.com'`); `'any'` disables the check. Ports are not compared.
   */
  allowedHosts?: string[] | 'any';
  /**
   * Allowed `Origin`s on upgrade (and on chaos POSTs). Default: `http(s)` origins whose host
   * name is allowed (see `allowedHosts`), on any port. A list replaces the default (exact
   * match); `'any'` disables the check. Requests without `Origin` are always allowed.
   */
  allowedOrigins?: string[] | 'any';
  /**
   * Serve the chaos controls over HTTP (`POST /chaos/drop|stall|restart`, same-origin or
   * non-browser only). Demo-only: never on a server that faces the internet. The methods of the
   * returned {@link DemoServer} (`drop()`, …) work either way. Default false (404).
   */
  chaos?: boolean;
  /** No console output. */
  quiet?: boolean;
  /** Send a room's last 20 chat messages (marked `replay: true`) on `join`. Default false. */
  replay?: boolean;
  /** Price tick period; 0 disables the stream. Default 500. */
  priceIntervalMs?: number;
  /** Messages per second per connection (also the burst). Default 50 (also `limits.rateLimit`; this one wins). */
  rateLimit?: number;
  /** A stalled connection is finally destroyed after this long. Default 120 000. */
  stallReapMs?: number;
  /**
   * Join a cluster through Redis (`redis://host:port`). Default: none — an in-process bus, the
   * server stands alone. `REDIS_URL` is read by `demo/main.ts`, not here.
   */
  redis?: string;
  /**
   * The bus to use instead (tests inject one); wins over `redis`. The server closes it. Its own
   * room limits (`maxRooms`, `roomIdleMs` of `memoryBus` / `redisBus`) apply then, not `limits`'.
   */
  bus?: Bus;
  /**
   * Key that signs short-lived tokens. Default: shared through the bus (every instance of a
   * cluster gets the same), so any instance verifies a token another issued.
   */
  secret?: string;
  /** Limits of the HTTP transport (`/rt`, for clients whose WebSockets are blocked); see `http-transport.ts`. */
  httpTransport?: Partial<HttpTransportLimits>;
  /** WebSocket endpoints of the whole cluster, allowed in the pages' CSP `connect-src`. */
  endpoints?: string[];
}

/** One connection as the hooks see it. */
export interface ConnectionInfo {
  /** Per-server connection number, from 1. */
  id: number;
  /** The authenticated user, once authenticated. */
  user: string | undefined;
  origin: string | undefined;
  remoteAddress: string | undefined;
}

/** A frame as received. */
export interface ReceivedFrame {
  conn: number;
  /** The frame as text (binary frames as `<binary N bytes>`). */
  data: string;
  at: number;
}

/** Hooks for tests and logs. */
export interface DemoServerEvents {
  /** An upgrade was accepted. */
  connection: [info: ConnectionInfo];
  /** An authenticated connection. */
  auth: [info: ConnectionInfo];
  /** A frame arrived (before rate limiting and parsing). */
  frame: [info: ConnectionInfo, data: string];
  close: [info: ConnectionInfo, code: number, reason: string];
  /** An upgrade was refused. */
  rejected: [reason: 'path' | 'host' | 'origin' | 'down', origin: string | undefined];
}

/** A running demo server. */
export interface DemoServer {
  /** `http://host:port` */
  url: string;
  /** `ws://host:port/ws` */
  wsUrl: string;
  port: number;
  /** This instance's name on the bus. */
  instance: string;
  close(): Promise<void>;
  /** Terminate every connection abruptly. Returns how many. */
  drop(): number;
  /** Make every current connection half-open. Returns how many. */
  stall(): number;
  /** Close every connection and refuse upgrades for `downMs` (default 3000); resolves when up. */
  restart(downMs?: number): Promise<void>;
  /** Open sockets (stalled ones included). */
  connections(): number;
  stats(): StatsResponse;
  /** The last 5000 frames received, oldest first (tests may clear it with `length = 0`). */
  received: ReceivedFrame[];
  events: EventEmitter<DemoServerEvents>;
}

/** A connection's server-side state. */
export interface Conn {
  info: ConnectionInfo;
  ws: WebSocket;
  socket: Duplex;
  authed: boolean;
  closing: boolean;
  username: string;
  room: string | undefined;
  /** every room it joined (`limits.roomsPerConnection`) */
  joined: Set<string>;
  prices: boolean;
  stalled: boolean;
  alive: boolean;
  authTimer: NodeJS.Timeout | undefined;
  stallTimer: NodeJS.Timeout | undefined;
  killTimer: NodeJS.Timeout | undefined;
  /** unsent bytes beyond which it is closed as a slow reader (`limits.maxBufferedBytes`) */
  maxBuffered: number;
  /** token bucket (see `conn.ts`) */
  bucket: number;
  refilledAt: number;
  dropWindowStart: number;
  droppedInWindow: number;
  /** frames are handled one after the other, even when one waits for the bus */
  chain: Promise<void>;
  /** while a replay is being read, live room messages for this connection wait here, in order */
  held: Array<{ id: number | undefined; text: string }> | undefined;
}

/** What every module of one server instance shares. */
export interface Ctx {
  log: (...args: unknown[]) => void;
  events: EventEmitter<DemoServerEvents>;
  conns: Set<Conn>;
  bus: Bus;
  limits: Readonly<Limits>;
}

/** Chat lines a `join` replays. */
export const HISTORY = 20;
/** Chat lines kept per room for `resume` (the replay log). */
export const LOG_SIZE = 1000;
