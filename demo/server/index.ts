/**
 * Demo server for resilient-ws: one `node:http` server that serves the demo pages and
 * speaks a small chat-and-prices protocol on `/ws` (the `ws` package), plus chaos controls so a person — or
 * a test — can watch the SDK recover. Instances that share a Redis (`redis` option) form a
 * cluster: a client may land on any of them.
 *
 * One concern per module, wired here: `upgrade.ts` (the door: path, Origin, limits, each
 * connection's life), `messages.ts` (auth, ack/dedupe, dispatch by type), `tokens.ts`,
 * `rooms.ts` (rooms, presence, history and resume), `prices.ts`, `chaos.ts`, `http.ts`,
 * `conn.ts` (sending, closing, rate limit), and the bus that joins instances: `bus.ts`
 * (the interface and the in-process bus) and `redis-bus.ts`.
 *
 * ## WebSocket protocol (`/ws`, JSON text frames, every message has a string `type`)
 *
 * Authentication (the first message):
 *   → `{type:'auth', token}` within `authTimeoutMs` (default 10 s), otherwise close
 *     **4003** `auth timeout`. A first message without a token (or not JSON, or not `auth`)
 *     → close **4001**. An unknown or expired token → close **4002**.
 *   ← `{type:'auth_ok', user, expiresAt?}` (`expiresAt`, epoch ms, for short-lived tokens).
 *   Tokens: the fixed demo tokens `demo-token` (user `demo`), `alice`, `bob`; and short-lived
 *   tokens from `GET /token?ttl=seconds` (default 30 s), signed, so any instance of a cluster
 *   accepts them. An expired token is refused (4002) at the next auth; a connection already
 *   open is not cut when its token expires. The fixed tokens and `GET /token` are demo-only:
 *   they must never face the internet (docs/security.md).
 *
 * After `auth_ok`:
 *   → `{type:'ping', id?}`                 ← `{type:'pong', timestamp, id?}` (`Date.now()`)
 *   → `{type:'echo', ...}`                 ← the same frame back, verbatim
 *   → `{type:'set_username', username}`   ← `{type:'system', text}` (1–32 characters, no control
 *                                            characters, not another user's: see `names.ts`)
 *   → `{type:'join', room}`                ← room gets `{type:'system', text, room}` (or `{type:'error',
 *                                            message:'room limit: …'}` past `limits.roomsPerConnection`
 *                                            rooms for this connection, or `maxRooms` in all); with
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
 *   → any message with a string `id`      ← `{type:'ack', id}` once handled (refused ones too); a
 *                                            repeat of an id already handled — on any instance —
 *                                            (the client re-sends what was in flight when a
 *                                            connection died) is acked and not handled again. The
 *                                            last 1000 ids of each client session are remembered,
 *                                            per user: another user's ids never count as repeats.
 *   → `{type:'resume', lastId}`            ← `{type:'resumed', lastId: X}`, then the current room's
 *                                            chat messages with `id > X` from the shared log (what
 *                                            this client missed), then live lines — which wait
 *                                            meanwhile. X is the client's `lastId`; for `null`,
 *                                            the newest id (from now); when lines after `lastId`
 *                                            were trimmed, the newest trimmed id, with `gap: true`
 *                                            (the client reports RESUME_GAP). Not in a room: just
 *                                            `resumed`. Room lines flow from `join` on — a server
 *                                            cannot tell which clients will resume; a client in
 *                                            resume mode ignores them until `resumed`, and the
 *                                            replay brings them in their place.
 *   `chat` messages carry numeric ids that increase across rooms, instances and restarts, so
 *   the client drops repeats.
 *
 * Request/response (the server side of `resilient-ws/request`):
 *   → `{type:'request', requestId, op:'time'|'who'}`
 *   ← `{type:'reply', requestId, time}` / `{type:'reply', requestId, users}` (the room's members)
 *
 * Security (the usual checklist for a WebSocket server; docs/security.md has them all): `Host` is
 * checked on every request against the configured names (`allowedHosts`: localhost, 127.0.0.1,
 * [::1], `host`), `Origin` on upgrade (by default an allowed host name on any port; no `Origin` —
 * a non-browser client — is allowed; anything else → HTTP 403); `maxPayload` 64 KiB (larger → close 1009);
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
 *   Only with the `chaos` option (demo-only; 404 otherwise), POST only, same-origin or no `Origin`:
 *   POST /chaos/drop          terminate every connection abruptly (no close frame)
 *   POST /chaos/stall         every current connection goes half-open: the server stops
 *                             reading and writing but keeps the TCP socket open
 *   POST /chaos/restart?down=ms  close every connection (1012) and refuse upgrades
 *                             (socket destroyed) for `down` ms (default 3000)
 *
 * What must never face the internet, and every limit: docs/security.md.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StatsResponse } from '../protocol';
import { type Bus, memoryBus } from './bus';
import { chaos as makeChaos } from './chaos';
import { DEMO_ONLY, hostChecks, isLoopbackHost } from './hosts';
import { httpHandler, listen } from './http';
import { httpTransport } from './http-transport';
import { resolveLimits } from './limits';
import { messages } from './messages';
import { startPrices } from './prices';
import { redisBus } from './redis-bus';
import { rooms as makeRooms } from './rooms';
import { tokens as makeTokens } from './tokens';
import type { Conn, Ctx, DemoServer, DemoServerEvents, DemoServerOptions, ReceivedFrame } from './types';
import { upgrades } from './upgrade';

export type { Bus, ChatDraft, RoomEvent } from './bus';
export { memoryBus } from './bus';
export { DEFAULT_LIMITS, type Limits } from './limits';
export { redisBus } from './redis-bus';
export { DEMO_TOKENS } from './tokens';
export type { ConnectionInfo, DemoServer, DemoServerEvents, DemoServerOptions, ReceivedFrame } from './types';

/** Start one instance: alone (in-process bus), or in a cluster (`redis` or `bus`). */
export async function startDemoServer(opts: DemoServerOptions = {}): Promise<DemoServer> {
  const host = opts.host ?? '127.0.0.1';
  const quiet = opts.quiet ?? false;
  const limits = resolveLimits({
    ...opts.limits,
    authTimeoutMs: opts.authTimeoutMs ?? opts.limits?.authTimeoutMs,
    rateLimit: opts.rateLimit ?? opts.limits?.rateLimit,
  });
  const rate = limits.rateLimit;
  const startedAt = Date.now();
  const log = (...args: unknown[]): void => {
    if (!quiet) console.log('[demo]', ...args);
  };
  const { maxRooms, roomIdleMs } = limits;
  const bus: Bus =
    opts.bus ??
    (opts.redis ? await redisBus({ url: opts.redis, log, maxRooms, roomIdleMs }) : memoryBus({ maxRooms, roomIdleMs }));
  const ctx: Ctx = { log, events: new EventEmitter<DemoServerEvents>(), conns: new Set<Conn>(), bus, limits };
  const received: ReceivedFrame[] = [];
  let closed = false;

  if (!isLoopbackHost(host)) console.warn(`[demo] warning: listening on ${host}, not loopback.\n${DEMO_ONLY}`);
  const hosts = hostChecks(host, opts.allowedHosts, opts.allowedOrigins);
  const tokens = makeTokens(opts.secret ?? (await bus.secret()));
  const rooms = makeRooms(ctx, { replay: opts.replay ?? false });
  const chaos = makeChaos(ctx, opts.stallReapMs ?? 120_000);
  const stopPrices = startPrices(ctx.conns, opts.priceIntervalMs ?? 500);
  const door = upgrades(ctx, {
    rooms,
    onFrame: messages(ctx, { rooms, tokens, rate, received }),
    isDown: () => chaos.down || closed,
    hosts,
    authTimeoutMs: limits.authTimeoutMs,
    rate,
  });

  const stats = (): StatsResponse => ({
    ...door.stats(),
    rooms: rooms.counts(),
    down: chaos.down,
    uptimeMs: Date.now() - startedAt,
  });

  const rt = httpTransport({
    accept: door.accept,
    isDown: () => chaos.down || closed,
    hosts,
    limits: { maxPayload: limits.maxPayload, postRate: rate * 2, ...opts.httpTransport },
    log,
  });
  const onPage = httpHandler({
    staticDir: opts.staticDir,
    assetsDir: opts.assetsDir,
    libDir: opts.libDir,
    endpoints: opts.endpoints ?? [],
    hosts,
    chaos: opts.chaos === true ? chaos : undefined,
    connections: () => ctx.conns.size,
    issueToken: tokens.issue,
    stats,
  });
  const onRequest = (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/rt') return onPage(req, res);
    rt.handle(req, res, url);
    return Promise.resolve();
  };
  let server: Server;
  try {
    server = await listen({ host, port: opts.port ?? 0, onRequest, onUpgrade: door.onUpgrade, log, limits });
  } catch (err) {
    door.close();
    stopPrices();
    await bus.close();
    throw err;
  }

  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    wsUrl: `ws://${urlHost}:${port}/ws`,
    port,
    instance: bus.instance,
    async close() {
      if (closed) return;
      closed = true;
      stopPrices();
      chaos.close();
      rt.close();
      door.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await bus.close();
    },
    drop: chaos.drop,
    stall: chaos.stall,
    restart: chaos.restart,
    connections: () => ctx.conns.size,
    stats,
    received,
    events: ctx.events,
  };
}
