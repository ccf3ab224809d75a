/**
 * The wire protocol of the demo server (see `demo/server/`), shared by the server and the
 * demo pages. JSON text frames, one message per frame, every message has a string `type`.
 *
 * Type-only module: importing it costs nothing at run time.
 */

/** Messages the client sends. */
export type ClientMsg =
  | { type: 'auth'; token: string }
  | { type: 'ping'; id?: string | number }
  | { type: 'set_username'; username: string }
  | { type: 'join'; room: string }
  | { type: 'message'; text: string }
  | { type: 'leave' }
  | { type: 'subscribe'; channel: 'prices' }
  | { type: 'unsubscribe'; channel: 'prices' }
  | { type: 'echo'; [key: string]: unknown }
  | { type: 'resume'; lastId: number | null }
  | { type: 'request'; op: 'time' | 'who' };

/** A chat line (type aliases, not interfaces, so they fit the SDK's `Message` index signature). `id` increases per server; `replay: true` marks history sent on `join`. */
export type ChatMsg = {
  type: 'chat';
  id: number;
  room: string;
  user: string;
  text: string;
  timestamp: number;
  replay?: boolean;
};

export type PriceMsg = {
  type: 'price';
  symbol: string;
  price: number;
  /** Percent change since the server started. */
  change: number;
  timestamp: number;
};

/** Messages the server sends. */
export type ServerMsg =
  | { type: 'auth_ok'; user: string; expiresAt?: number }
  | { type: 'pong'; timestamp: number; id?: string | number }
  | ChatMsg
  | { type: 'system'; text: string; room?: string; timestamp: number }
  | { type: 'error'; message: string }
  | PriceMsg
  | { type: 'echo'; [key: string]: unknown }
  | { type: 'ack'; id?: string; ids?: string[] }
  /** The answer to `resume`, before its replay; `gap`: lines after the client's `lastId` are gone. */
  | { type: 'resumed'; lastId: number; gap?: boolean }
  | { type: 'reply'; requestId: string; time?: number; users?: string[]; error?: string };

/** Close codes used by the server. */
export const CloseCodes = {
  /** First message had no token. */
  NO_TOKEN: 4001,
  /** Unknown or expired token. */
  BAD_TOKEN: 4002,
  /** No auth message within the auth timeout. */
  AUTH_TIMEOUT: 4003,
  /** Policy violation: far over the rate limit. */
  POLICY: 1008,
  /** Frame larger than `maxPayload`. */
  TOO_BIG: 1009,
  /** `/chaos/restart`: the server is going down for a moment. */
  RESTART: 1012,
} as const;

/** Response of `GET /token?ttl=seconds`. */
export interface TokenResponse {
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  user: string;
}

/** Response of `GET /stats`. */
export interface StatsResponse {
  /** Open sockets (including stalled ones). */
  connections: number;
  /** Open sockets that completed auth. */
  authenticated: number;
  /** Sockets currently stalled by `/chaos/stall`. */
  stalled: number;
  /** Upgrades accepted since start. */
  totalConnections: number;
  /** Upgrades refused (bad origin, bad path, server down). */
  rejectedUpgrades: number;
  /** Rooms with at least one member: name → member count. */
  rooms: Record<string, number>;
  /** True while `/chaos/restart` keeps the server down. */
  down: boolean;
  uptimeMs: number;
}
