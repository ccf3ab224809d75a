/**
 * Demo server for resilient-ws: one `node:http` server that serves the demo pages and
 * speaks a small chat-and-prices protocol on `/ws` (the `ws` package), plus chaos controls so a person — or
 * a test — can watch the SDK recover.
 *
 * ## WebSocket protocol (`/ws`, JSON text frames, every message has a string `type`)
 *
 * Authentication (the first message):
 *   → `{type:'auth', token}` within `authTimeoutMs` (default 10 s), otherwise close
 *     **4003** `auth timeout`. A first message without a token (or not JSON, or not `auth`)
 *     → close **4001**. An unknown or expired token → close **4002**.
 *   ← `{type:'auth_ok', user, expiresAt?}` (`expiresAt`, epoch ms, for short-lived tokens).
 *   Tokens: the fixed demo tokens `demo-token` (user `demo`), `alice`, `bob`; and short-lived
 *   tokens from `GET /token?ttl=seconds` (default 30 s). An expired token is refused (4002)
 *   at the next auth; a connection already open is not cut when its token expires.
 *
 * After `auth_ok`:
 *   → `{type:'ping', id?}`                 ← `{type:'pong', timestamp, id?}` (`Date.now()`)
 *   → `{type:'echo', ...}`                 ← the same frame back, verbatim
 *   → `{type:'set_username', username}`   ← `{type:'system', text}` (1–32 characters)
 *   → `{type:'join', room}`                ← room gets `{type:'system', text, room}`; with
 *                                            `replay: true` the joiner first gets the room's
 *                                            last 20 `chat` messages marked `replay: true`
 *   → `{type:'message', text}`             ← the room gets `{type:'chat', id, room, user, text, timestamp}`
 *   → `{type:'leave'}`                     ← `{type:'system', text, room}`
 *   → `{type:'subscribe'|'unsubscribe', channel:'prices'}`
 *   ← `{type:'price', symbol, price, change, timestamp}`: three symbols, random walk, every
 *     `priceIntervalMs` (500 ms). Every authenticated connection is subscribed by default;
 *     `unsubscribe` stops the stream for that connection.
 *   ← `{type:'error', message}` for anything wrong: invalid JSON, a message without a string
 *     `type`, an unknown type, bad fields, `rate limit`. The connection stays open.
 *
 * Delivery (the server side of `resilient-ws/delivery`):
 *   → any message with a string `id`      ← `{type:'ack', id}`; a repeat of an id already
 *                                            handled (the client re-sends what was in flight
 *                                            when a connection died) is acked and not handled again
 *   → `{type:'resume', lastId}`            ← the current room's chat messages with `id > lastId`
 *                                            (what this client missed while it was away)
 *   `chat` messages carry increasing numeric ids, so the client drops repeats.
 *
 * Request/response (the server side of `resilient-ws/request`):
 *   → `{type:'request', requestId, op:'time'|'who'}`
 *   ← `{type:'reply', requestId, time}` / `{type:'reply', requestId, users}` (the room's members)
 *
 * Security (the usual checklist for a WebSocket server): `Origin` is checked on upgrade (by default the server's
 * own host and localhost / 127.0.0.1 / [::1] on any port; no `Origin` — a non-browser
 * client — is allowed; anything else → HTTP 403); `maxPayload` 64 KiB (larger → close 1009);
 * a token bucket per connection (50 messages/s, burst 50): over it → `{type:'error',
 * message:'rate limit'}` and the message is dropped, far over it (more than 2 × the rate
 * dropped within a second) → close 1008; auth timeout; protocol-level pings every 30 s reap
 * dead peers; every handler is wrapped, bad input never crashes the server; user text is
 * only ever data (never interpreted, never logged). Tokens are never logged.
 *
 * ## HTTP
 *
 *   GET  /                 static files: `staticDir` (demo/public), then `assetsDir`
 *                          (demo/dist, the bundled page scripts), `/dist/*` → the package's
 *                          `dist/` (the `<script>` build)
 *   GET  /token?ttl=s      `{token, expiresAt, user}` — a short-lived token
 *   GET  /stats            `{connections, authenticated, stalled, totalConnections, ...}`
 *   POST|GET /chaos/drop          terminate every connection abruptly (no close frame)
 *   POST|GET /chaos/stall         every current connection goes half-open: the server stops
 *                                 reading and writing but keeps the TCP socket open
 *   POST|GET /chaos/restart?down=ms  close every connection (1012) and refuse upgrades
 *                                 (socket destroyed) for `down` ms (default 3000)
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import type { ChatMsg, ServerMsg, StatsResponse, TokenResponse } from './protocol';

const DEMO_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_DIR = path.resolve(DEMO_DIR, '..');

/** Fixed demo tokens → user name. A `Map`, so a token like `__proto__` is just a string. */
export const DEMO_TOKENS: ReadonlyMap<string, string> = new Map([
  ['demo-token', 'demo'],
  ['alice', 'alice'],
  ['bob', 'bob'],
]);

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
  /** Default 10 000. */
  authTimeoutMs?: number;
  /**
   * Allowed `Origin`s on upgrade (and on chaos POSTs). Default: the server's own host and
   * localhost / 127.0.0.1 / [::1] on any port. A list replaces the default (exact match);
   * `'any'` disables the check. Requests without `Origin` are always allowed.
   */
  allowedOrigins?: string[] | 'any';
  /** No console output. */
  quiet?: boolean;
  /** Send a room's last 20 chat messages (marked `replay: true`) on `join`. Default false. */
  replay?: boolean;
  /** Price tick period; 0 disables the stream. Default 500. */
  priceIntervalMs?: number;
  /** Messages per second per connection (also the burst). Default 50. */
  rateLimit?: number;
  /** A stalled connection is finally destroyed after this long. Default 120 000. */
  stallReapMs?: number;
}

export interface ConnectionInfo {
  /** Per-server connection number, from 1. */
  id: number;
  /** The authenticated user, once authenticated. */
  user: string | undefined;
  origin: string | undefined;
  remoteAddress: string | undefined;
}

export interface ReceivedFrame {
  conn: number;
  /** The frame as text (binary frames as `<binary N bytes>`). */
  data: string;
  at: number;
}

export interface DemoServerEvents {
  /** An upgrade was accepted. */
  connection: [info: ConnectionInfo];
  /** An authenticated connection. */
  auth: [info: ConnectionInfo];
  /** A frame arrived (before rate limiting and parsing). */
  frame: [info: ConnectionInfo, data: string];
  close: [info: ConnectionInfo, code: number, reason: string];
  /** An upgrade was refused. */
  rejected: [reason: 'path' | 'origin' | 'down', origin: string | undefined];
}

export interface DemoServer {
  /** `http://host:port` */
  url: string;
  /** `ws://host:port/ws` */
  wsUrl: string;
  port: number;
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

interface Conn {
  info: ConnectionInfo;
  ws: WebSocket;
  socket: Duplex;
  authed: boolean;
  closing: boolean;
  username: string;
  room: string | undefined;
  prices: boolean;
  stalled: boolean;
  alive: boolean;
  authTimer: NodeJS.Timeout | undefined;
  stallTimer: NodeJS.Timeout | undefined;
  killTimer: NodeJS.Timeout | undefined;
  bucket: number;
  refilledAt: number;
  dropWindowStart: number;
  droppedInWindow: number;
}

interface IssuedToken {
  user: string;
  expiresAt: number;
}

const MAX_PAYLOAD = 64 * 1024;
const MAX_NAME = 32;
const MAX_TEXT = 1000;
/** How many client message ids the server remembers to drop repeats. */
const HANDLED_IDS = 10_000;
const HISTORY = 20;
const RECEIVED_LOG = 5000;
const KEEPALIVE_MS = 30_000;
const TOKEN_TTL_DEFAULT = 30;
const TOKEN_TTL_MAX = 3600;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const LOCAL_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

const SYMBOLS: ReadonlyArray<{ symbol: string; open: number }> = [
  { symbol: 'BTC-USD', open: 64_000 },
  { symbol: 'ETH-USD', open: 3_200 },
  { symbol: 'ACME', open: 120 },
];

/** A trimmed string of 1..max characters, or undefined. */
function field(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const s = value.trim();
  return s.length >= 1 && s.length <= max ? s : undefined;
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data.byteLength;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Standard normal deviate (Box–Muller). */
function gaussian(): number {
  const u = 1 - Math.random();
  const v = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

export async function startDemoServer(opts: DemoServerOptions = {}): Promise<DemoServer> {
  const host = opts.host ?? '127.0.0.1';
  const staticDir = path.resolve(opts.staticDir ?? path.join(DEMO_DIR, 'public'));
  const assetsDir = path.resolve(opts.assetsDir ?? path.join(DEMO_DIR, 'dist'));
  const libDir = path.resolve(opts.libDir ?? path.join(REPO_DIR, 'dist'));
  const authTimeoutMs = opts.authTimeoutMs ?? 10_000;
  const allowedOrigins = opts.allowedOrigins;
  const quiet = opts.quiet ?? false;
  const replay = opts.replay ?? false;
  const priceIntervalMs = opts.priceIntervalMs ?? 500;
  const rate = opts.rateLimit ?? 50;
  const stallReapMs = opts.stallReapMs ?? 120_000;
  const startedAt = Date.now();

  const log = (...args: unknown[]): void => {
    if (!quiet) console.log('[demo]', ...args);
  };

  const events = new EventEmitter<DemoServerEvents>();
  const received: ReceivedFrame[] = [];
  const conns = new Set<Conn>();
  const rooms = new Map<string, Set<Conn>>();
  const history = new Map<string, ChatMsg[]>();
  const issued = new Map<string, IssuedToken>();
  const prices = SYMBOLS.map((s) => ({ symbol: s.symbol, open: s.open, price: s.open }));
  let nextConnId = 1;
  let nextChatId = 1;
  /** client message ids already handled (delivery dedupe), oldest first, bounded */
  const handledIds = new Set<string>();
  let totalConnections = 0;
  let rejectedUpgrades = 0;
  let down = false;
  let downUntil = 0;
  let upTimer: NodeJS.Timeout | undefined;
  let upWaiters: Array<() => void> = [];
  let closed = false;

  // ---------------------------------------------------------------- tokens

  function issueToken(ttlSeconds: number): TokenResponse {
    const now = Date.now();
    // Forget tokens long expired (kept a while so they are refused as "expired", not unknown).
    for (const [t, v] of issued) if (v.expiresAt < now - 600_000) issued.delete(t);
    while (issued.size >= 10_000) {
      const oldest = issued.keys().next().value;
      if (oldest === undefined) break;
      issued.delete(oldest);
    }
    const token = `tmp_${randomBytes(16).toString('base64url')}`;
    const user = `guest-${randomBytes(2).toString('hex')}`;
    const expiresAt = now + Math.round(ttlSeconds * 1000);
    issued.set(token, { user, expiresAt });
    return { token, expiresAt, user };
  }

  type TokenCheck = { ok: true; user: string; expiresAt?: number } | { ok: false; reason: string };

  function checkToken(token: string): TokenCheck {
    const fixed = DEMO_TOKENS.get(token);
    if (fixed !== undefined) return { ok: true, user: fixed };
    const t = issued.get(token);
    if (t === undefined) return { ok: false, reason: 'invalid token' };
    if (t.expiresAt <= Date.now()) return { ok: false, reason: 'token expired' };
    return { ok: true, user: t.user, expiresAt: t.expiresAt };
  }

  // ---------------------------------------------------------------- sending

  function send(c: Conn, msg: ServerMsg): void {
    sendRaw(c, JSON.stringify(msg));
  }

  function sendRaw(c: Conn, text: string): void {
    if (c.stalled || c.closing || c.ws.readyState !== WebSocket.OPEN) return;
    c.ws.send(text);
  }

  function sendError(c: Conn, message: string): void {
    send(c, { type: 'error', message });
  }

  function system(text: string, room?: string): ServerMsg {
    return room === undefined
      ? { type: 'system', text, timestamp: Date.now() }
      : { type: 'system', text, room, timestamp: Date.now() };
  }

  function broadcastRoom(room: string, msg: ServerMsg, except?: Conn): void {
    const members = rooms.get(room);
    if (members === undefined) return;
    const text = JSON.stringify(msg);
    for (const m of members) if (m !== except) sendRaw(m, text);
  }

  /** Close with a code; a peer that never answers the close frame is destroyed after 2 s. */
  function closeConn(c: Conn, code: number, reason: string): void {
    if (c.closing) return;
    c.closing = true;
    clearTimeout(c.authTimer);
    if (c.stalled) {
      c.ws.terminate();
      return;
    }
    try {
      c.ws.close(code, reason);
    } catch {
      c.ws.terminate();
      return;
    }
    c.killTimer = setTimeout(() => c.ws.terminate(), 2000);
    c.killTimer.unref();
  }

  // ---------------------------------------------------------------- rooms

  function leaveRoom(c: Conn, notifySelf: boolean): void {
    const room = c.room;
    if (room === undefined) return;
    c.room = undefined;
    const members = rooms.get(room);
    if (members !== undefined) {
      members.delete(c);
      if (members.size === 0) rooms.delete(room);
      else broadcastRoom(room, system(`${c.username} left`, room));
    }
    if (notifySelf) send(c, system(`you left ${room}`, room));
  }

  function joinRoom(c: Conn, room: string): void {
    if (c.room !== room) {
      leaveRoom(c, false);
      let members = rooms.get(room);
      if (members === undefined) {
        members = new Set();
        rooms.set(room, members);
      }
      members.add(c);
      c.room = room;
    }
    if (replay) {
      for (const m of history.get(room) ?? []) send(c, { ...m, replay: true });
    }
    broadcastRoom(room, system(`${c.username} joined`, room));
  }

  function postChat(c: Conn, room: string, text: string): void {
    const msg: ChatMsg = {
      type: 'chat',
      id: nextChatId++,
      room,
      user: c.username,
      text,
      timestamp: Date.now(),
    };
    let h = history.get(room);
    if (h === undefined) {
      if (history.size >= 100) {
        const oldest = history.keys().next().value;
        if (oldest !== undefined) history.delete(oldest);
      }
      h = [];
      history.set(room, h);
    }
    h.push(msg);
    if (h.length > HISTORY) h.shift();
    broadcastRoom(room, msg);
  }

  // ---------------------------------------------------------------- messages

  /** Token bucket. Returns false when the message must be dropped. */
  function takeToken(c: Conn): boolean {
    const now = Date.now();
    c.bucket = Math.min(rate, c.bucket + ((now - c.refilledAt) / 1000) * rate);
    c.refilledAt = now;
    if (c.bucket >= 1) {
      c.bucket -= 1;
      return true;
    }
    if (now - c.dropWindowStart > 1000) {
      c.dropWindowStart = now;
      c.droppedInWindow = 0;
    }
    c.droppedInWindow++;
    if (c.droppedInWindow > rate * 2) {
      log(`#${c.info.id} far over the rate limit, closing`);
      closeConn(c, 1008, 'rate limit exceeded');
    } else if (c.droppedInWindow === 1) {
      sendError(c, 'rate limit');
    }
    return false;
  }

  function onFrame(c: Conn, data: RawData, isBinary: boolean): void {
    if (c.stalled || c.closing) return;
    const text = isBinary ? `<binary ${rawLength(data)} bytes>` : rawToString(data);
    received.push({ conn: c.info.id, data: text, at: Date.now() });
    if (received.length > RECEIVED_LOG) received.splice(0, received.length - RECEIVED_LOG);
    events.emit('frame', c.info, text);

    if (!takeToken(c)) return;

    let msg: unknown;
    if (!isBinary) {
      try {
        msg = JSON.parse(text);
      } catch {
        msg = undefined;
      }
    }

    if (!c.authed) {
      handleAuth(c, msg);
      return;
    }
    if (isBinary) {
      sendError(c, 'binary frames are not supported');
      return;
    }
    if (msg === undefined) {
      sendError(c, 'invalid JSON');
      return;
    }
    if (!isRecord(msg) || typeof msg.type !== 'string') {
      sendError(c, 'a message must be an object with a string "type"');
      return;
    }
    const id = msg.id;
    if (typeof id === 'string' && msg.type !== 'ping') {
      // at-least-once from the client: ack every copy (the earlier ack may be what was lost),
      // handle each id once
      if (id.length > 64) return sendError(c, 'id too long');
      send(c, { type: 'ack', id });
      if (handledIds.has(id)) return;
      handledIds.add(id);
      if (handledIds.size > HANDLED_IDS) handledIds.delete(handledIds.values().next().value as string);
    }
    handleMessage(c, msg, msg.type, text);
  }

  function handleAuth(c: Conn, msg: unknown): void {
    clearTimeout(c.authTimer);
    c.authTimer = undefined;
    if (!isRecord(msg) || msg.type !== 'auth') {
      closeConn(c, 4001, 'auth required');
      return;
    }
    const token = msg.token;
    if (typeof token !== 'string' || token.length === 0) {
      closeConn(c, 4001, 'no token');
      return;
    }
    const check = checkToken(token);
    if (!check.ok) {
      log(`#${c.info.id} auth refused: ${check.reason}`);
      closeConn(c, 4002, check.reason);
      return;
    }
    c.authed = true;
    c.info.user = check.user;
    c.username = check.user;
    log(`#${c.info.id} authenticated as ${check.user}`);
    send(
      c,
      check.expiresAt === undefined
        ? { type: 'auth_ok', user: check.user }
        : { type: 'auth_ok', user: check.user, expiresAt: check.expiresAt },
    );
    events.emit('auth', c.info);
  }

  function handleMessage(c: Conn, msg: Record<string, unknown>, type: string, raw: string): void {
    switch (type) {
      case 'ping': {
        const id = msg.id;
        const pong: ServerMsg =
          (typeof id === 'string' && id.length <= 64) || (typeof id === 'number' && Number.isFinite(id))
            ? { type: 'pong', timestamp: Date.now(), id }
            : { type: 'pong', timestamp: Date.now() };
        send(c, pong);
        return;
      }
      case 'echo':
        sendRaw(c, raw);
        return;
      case 'auth':
        sendError(c, 'already authenticated');
        return;
      case 'set_username': {
        const name = field(msg.username, MAX_NAME);
        if (name === undefined) {
          sendError(c, `username must be 1-${MAX_NAME} characters`);
          return;
        }
        const old = c.username;
        c.username = name;
        send(c, system(`username set to ${name}`));
        if (c.room !== undefined && old !== name) {
          broadcastRoom(c.room, system(`${old} is now ${name}`, c.room), c);
        }
        return;
      }
      case 'join': {
        const room = field(msg.room, MAX_NAME);
        if (room === undefined) {
          sendError(c, `room must be 1-${MAX_NAME} characters`);
          return;
        }
        joinRoom(c, room);
        return;
      }
      case 'message': {
        if (c.room === undefined) {
          sendError(c, 'join a room first');
          return;
        }
        const text = msg.text;
        if (typeof text !== 'string' || text.trim().length === 0) {
          sendError(c, 'text must be a non-empty string');
          return;
        }
        if (text.length > MAX_TEXT) {
          sendError(c, `text too long (max ${MAX_TEXT} characters)`);
          return;
        }
        postChat(c, c.room, text);
        return;
      }
      case 'leave':
        if (c.room === undefined) sendError(c, 'not in a room');
        else leaveRoom(c, true);
        return;
      case 'resume': {
        const lastId = msg.lastId;
        if (typeof lastId !== 'number') return sendError(c, 'lastId must be a number');
        if (c.room === undefined) return;
        for (const m of history.get(c.room) ?? []) if (m.id > lastId) send(c, m);
        return;
      }
      case 'request': {
        const requestId = msg.requestId;
        if (typeof requestId !== 'string' || requestId.length > 64)
          return sendError(c, 'requestId must be a short string');
        if (msg.op === 'time') return send(c, { type: 'reply', requestId, time: Date.now() });
        if (msg.op === 'who') {
          const users = [...conns]
            .filter((o) => o.authed && c.room !== undefined && o.room === c.room)
            .map((o) => o.username);
          return send(c, { type: 'reply', requestId, users });
        }
        return send(c, { type: 'reply', requestId, error: 'unknown op (time, who)' });
      }
      case 'subscribe':
      case 'unsubscribe':
        if (msg.channel !== 'prices') {
          sendError(c, 'unknown channel (only "prices")');
          return;
        }
        c.prices = type === 'subscribe';
        send(c, system(`${type}d: prices`));
        return;
      default:
        sendError(c, `unknown type ${JSON.stringify(type.slice(0, 40))}`);
    }
  }

  // ---------------------------------------------------------------- connections

  function onConnection(ws: WebSocket, req: IncomingMessage, socket: Duplex): void {
    totalConnections++;
    const c: Conn = {
      info: {
        id: nextConnId++,
        user: undefined,
        origin: req.headers.origin,
        remoteAddress: req.socket.remoteAddress,
      },
      ws,
      socket,
      authed: false,
      closing: false,
      username: 'anonymous',
      room: undefined,
      prices: true,
      stalled: false,
      alive: true,
      authTimer: undefined,
      stallTimer: undefined,
      killTimer: undefined,
      bucket: rate,
      refilledAt: Date.now(),
      dropWindowStart: 0,
      droppedInWindow: 0,
    };
    conns.add(c);
    log(`#${c.info.id} connected from ${c.info.remoteAddress ?? '?'} (${conns.size} open)`);

    c.authTimer = setTimeout(() => {
      c.authTimer = undefined;
      if (!c.authed && !c.stalled) {
        log(`#${c.info.id} auth timeout`);
        closeConn(c, 4003, 'auth timeout');
      }
    }, authTimeoutMs);

    ws.on('message', (data, isBinary) => {
      try {
        onFrame(c, data, isBinary);
      } catch (err) {
        log(`#${c.info.id} handler error:`, err);
        try {
          sendError(c, 'internal error');
        } catch {
          /* the socket is gone */
        }
      }
    });
    ws.on('pong', () => {
      c.alive = true;
    });
    ws.on('error', (err) => {
      // e.g. a frame over maxPayload: ws closes the connection (1009) itself.
      log(`#${c.info.id} socket error: ${err.message}`);
    });
    ws.on('close', (code, reasonBuf) => {
      try {
        clearTimeout(c.authTimer);
        clearTimeout(c.stallTimer);
        clearTimeout(c.killTimer);
        conns.delete(c);
        c.closing = true;
        leaveRoom(c, false);
        const reason = reasonBuf.toString('utf8');
        log(`#${c.info.id} closed ${code}${reason ? ` ${reason}` : ''} (${conns.size} open)`);
        events.emit('close', c.info, code, reason);
      } catch (err) {
        log('close handler error:', err);
      }
    });
    events.emit('connection', c.info);
  }

  function originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true; // not a browser
    if (allowedOrigins === 'any') return true;
    if (Array.isArray(allowedOrigins)) return allowedOrigins.includes(origin);
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      return false; // includes the opaque origin "null"
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
    return LOCAL_HOSTNAMES.has(u.hostname) || u.host === req.headers.host;
  }

  function refuseUpgrade(socket: Duplex, status: number, text: string): void {
    rejectedUpgrades++;
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
        'Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
    );
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD, clientTracking: false });
  wss.on('error', (err) => log('wss error:', err.message));

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {
      /* ECONNRESET and friends: the socket is destroyed, nothing to do */
    });
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      pathname = '';
    }
    if (pathname !== '/ws') {
      events.emit('rejected', 'path', req.headers.origin);
      refuseUpgrade(socket, 404, 'not found');
      return;
    }
    if (down || closed) {
      // A server that is down does not answer: the client sees the connection fail.
      rejectedUpgrades++;
      events.emit('rejected', 'down', req.headers.origin);
      socket.destroy();
      return;
    }
    if (!originAllowed(req)) {
      log(`upgrade refused: origin ${JSON.stringify(req.headers.origin)}`);
      events.emit('rejected', 'origin', req.headers.origin);
      refuseUpgrade(socket, 403, 'forbidden origin');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (down || closed) {
        ws.terminate();
        return;
      }
      onConnection(ws, req, socket);
    });
  }

  // ---------------------------------------------------------------- chaos

  function drop(): number {
    const n = conns.size;
    for (const c of [...conns]) c.ws.terminate();
    log(`chaos: dropped ${n} connection(s)`);
    return n;
  }

  function stall(): number {
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
  }

  function flushUpWaiters(): void {
    const waiters = upWaiters;
    upWaiters = [];
    for (const w of waiters) w();
  }

  function restart(downMs = 3000): Promise<void> {
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
  }

  function stats(): StatsResponse {
    let authenticated = 0;
    let stalled = 0;
    for (const c of conns) {
      if (c.authed) authenticated++;
      if (c.stalled) stalled++;
    }
    const roomCounts: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const [name, members] of rooms) roomCounts[name] = members.size;
    return {
      connections: conns.size,
      authenticated,
      stalled,
      totalConnections,
      rejectedUpgrades,
      rooms: roomCounts,
      down,
      uptimeMs: Date.now() - startedAt,
    };
  }

  // ---------------------------------------------------------------- timers

  const priceTimer =
    priceIntervalMs > 0
      ? setInterval(() => {
          const now = Date.now();
          for (const p of prices) {
            p.price = Math.max(0.01, p.price * Math.exp(gaussian() * 0.001));
            const msg: ServerMsg = {
              type: 'price',
              symbol: p.symbol,
              price: round2(p.price),
              change: round2((p.price / p.open - 1) * 100),
              timestamp: now,
            };
            const text = JSON.stringify(msg);
            for (const c of conns) {
              // A slow consumer skips ticks instead of buffering without bound.
              if (c.authed && c.prices && c.ws.bufferedAmount < 256 * 1024) sendRaw(c, text);
            }
          }
        }, priceIntervalMs)
      : undefined;
  priceTimer?.unref();

  const keepaliveTimer = setInterval(() => {
    for (const c of conns) {
      if (c.stalled || c.closing) continue;
      if (!c.alive) {
        log(`#${c.info.id} no pong to protocol ping, terminating`);
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      try {
        c.ws.ping();
      } catch {
        c.ws.terminate();
      }
    }
  }, KEEPALIVE_MS);
  keepaliveTimer.unref();

  // ---------------------------------------------------------------- HTTP

  function json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(text);
  }

  function text(res: ServerResponse, status: number, body: string, extra?: Record<string, string>): void {
    res.writeHead(status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'X-Content-Type-Options': 'nosniff',
      ...extra,
    });
    res.end(body);
  }

  /** Resolve `rel` inside `root`, or undefined if it escapes. */
  function inside(root: string, rel: string): string | undefined {
    const p = path.resolve(root, `.${path.posix.sep}${rel}`);
    return p === root || p.startsWith(root + path.sep) ? p : undefined;
  }

  async function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    let rel: string;
    try {
      rel = decodeURIComponent(pathname);
    } catch {
      text(res, 400, 'bad request');
      return;
    }
    if (rel.includes('\0') || rel.includes('\\') || rel.split('/').includes('..')) {
      text(res, 400, 'bad request');
      return;
    }
    if (rel === '/') rel = '/index.html';
    const candidates: Array<string | undefined> = rel.startsWith('/dist/')
      ? [inside(libDir, rel.slice('/dist/'.length))]
      : [inside(staticDir, rel), inside(assetsDir, rel)];
    for (const file of candidates) {
      if (file === undefined) continue;
      let size: number;
      try {
        const st = await stat(file);
        if (!st.isFile()) continue;
        size = st.size;
      } catch {
        continue;
      }
      const ext = path.extname(file).toLowerCase();
      const headers: Record<string, string | number> = {
        'Content-Type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
        'Content-Length': size,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
      };
      if (ext === '.html') headers['Content-Security-Policy'] = CSP;
      res.writeHead(200, headers);
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      const stream = createReadStream(file);
      stream.on('error', () => res.destroy());
      stream.pipe(res);
      return;
    }
    text(res, 404, 'not found');
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const pathname = url.pathname;
    const method = req.method ?? 'GET';

    if (pathname.startsWith('/chaos/')) {
      if (method !== 'POST' && method !== 'GET') {
        text(res, 405, 'method not allowed', { Allow: 'GET, POST' });
        return;
      }
      if (!originAllowed(req)) {
        text(res, 403, 'forbidden origin');
        return;
      }
      req.resume(); // ignore any body
      switch (pathname) {
        case '/chaos/drop':
          json(res, 200, { ok: true, dropped: drop() });
          return;
        case '/chaos/stall':
          json(res, 200, { ok: true, stalled: stall() });
          return;
        case '/chaos/restart': {
          const param = url.searchParams.get('down');
          const parsed = param === null ? 3000 : Number(param);
          const downMs = Number.isFinite(parsed) ? Math.max(0, Math.min(60_000, parsed)) : 3000;
          const closedCount = conns.size;
          void restart(downMs);
          json(res, 200, { ok: true, closed: closedCount, downMs });
          return;
        }
        default:
          text(res, 404, 'not found');
          return;
      }
    }

    if (method !== 'GET' && method !== 'HEAD') {
      text(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
      return;
    }
    if (pathname === '/token') {
      const param = url.searchParams.get('ttl');
      const parsed = param === null ? TOKEN_TTL_DEFAULT : Number(param);
      const ttl = Number.isFinite(parsed) ? Math.max(0.1, Math.min(TOKEN_TTL_MAX, parsed)) : TOKEN_TTL_DEFAULT;
      json(res, 200, issueToken(ttl));
      return;
    }
    if (pathname === '/stats') {
      json(res, 200, stats());
      return;
    }
    await serveStatic(req, res, pathname);
  }

  const server: Server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      log('request error:', err);
      if (!res.headersSent) text(res, 500, 'internal error');
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      onUpgrade(req, socket, head);
    } catch (err) {
      log('upgrade error:', err);
      socket.destroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log('server error:', err.message));

  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    clearInterval(priceTimer);
    clearInterval(keepaliveTimer);
    clearTimeout(upTimer);
    flushUpWaiters();
    for (const c of [...conns]) {
      clearTimeout(c.authTimer);
      clearTimeout(c.stallTimer);
      clearTimeout(c.killTimer);
      c.ws.terminate();
    }
    wss.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  return {
    url: `http://${urlHost}:${port}`,
    wsUrl: `ws://${urlHost}:${port}/ws`,
    port,
    close,
    drop,
    stall,
    restart,
    connections: () => conns.size,
    stats,
    received,
    events,
  };
}
