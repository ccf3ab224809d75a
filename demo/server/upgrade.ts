/**
 * The WebSocket door: path `/ws` only, the `Origin` check, refusal while down, `maxPayload`,
 * and each accepted connection's life (auth timeout, frames, protocol-level keepalive, close).
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { closeConn } from './conn';
import type { HostChecks } from './hosts';
import type { Rooms } from './rooms';
import type { Conn, Ctx } from './types';

/** Protocol-level pings reap peers that are gone without a close. */
const KEEPALIVE_MS = 30_000;

/** What the door needs to know. */
export interface UpgradeDeps {
  rooms: Rooms;
  onFrame: (c: Conn, data: RawData, isBinary: boolean) => void;
  isDown: () => boolean;
  hosts: HostChecks;
  authTimeoutMs: number;
  rate: number;
}

/** The `upgrade` handler, counters, and `close()` (stops keepalive, terminates every socket). */
export function upgrades(ctx: Ctx, deps: UpgradeDeps) {
  const { conns, log, events } = ctx;
  const counters = { total: 0, rejected: 0 };
  let nextConnId = 1;
  const wss = new WebSocketServer({ noServer: true, maxPayload: ctx.limits.maxPayload, clientTracking: false });
  wss.on('error', (err) => log('wss error:', err.message));

  function onConnection(ws: WebSocket, req: IncomingMessage, socket: Duplex): void {
    counters.total++;
    const c: Conn = {
      info: { id: nextConnId++, user: undefined, origin: req.headers.origin, remoteAddress: req.socket.remoteAddress },
      ws,
      socket,
      authed: false,
      closing: false,
      username: 'anonymous',
      room: undefined,
      joined: new Set(),
      prices: true,
      stalled: false,
      alive: true,
      authTimer: undefined,
      stallTimer: undefined,
      killTimer: undefined,
      maxBuffered: ctx.limits.maxBufferedBytes,
      bucket: deps.rate,
      refilledAt: Date.now(),
      dropWindowStart: 0,
      droppedInWindow: 0,
      chain: Promise.resolve(),
      held: undefined,
    };
    conns.add(c);
    log(`#${c.info.id} connected from ${c.info.remoteAddress ?? '?'} (${conns.size} open)`);
    c.authTimer = setTimeout(() => {
      c.authTimer = undefined;
      if (!c.authed && !c.stalled) {
        log(`#${c.info.id} auth timeout`);
        closeConn(c, 4003, 'auth timeout');
      }
    }, deps.authTimeoutMs);

    ws.on('message', (data, isBinary) => deps.onFrame(c, data, isBinary));
    ws.on('pong', () => {
      c.alive = true;
    });
    ws.on('error', (err) => {
      // e.g. a frame over maxPayload: ws closes the connection (1009) itself.
      log(`#${c.info.id} socket error: ${err.message}`);
    });
    ws.on('close', (code, reasonBuf) => {
      clearTimeout(c.authTimer);
      clearTimeout(c.stallTimer);
      clearTimeout(c.killTimer);
      conns.delete(c);
      c.closing = true;
      deps.rooms.leave(c, false);
      const reason = reasonBuf.toString('utf8');
      log(`#${c.info.id} closed ${code}${reason ? ` ${reason}` : ''} (${conns.size} open)`);
      events.emit('close', c.info, code, reason);
    });
    events.emit('connection', c.info);
  }

  function refuse(socket: Duplex, status: number, text: string): void {
    counters.rejected++;
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
      return refuse(socket, 404, 'not found');
    }
    if (deps.isDown()) {
      // A server that is down does not answer: the client sees the connection fail.
      counters.rejected++;
      events.emit('rejected', 'down', req.headers.origin);
      socket.destroy();
      return;
    }
    if (!deps.hosts.hostAllowed(req)) {
      log(`upgrade refused: host ${JSON.stringify(req.headers.host)}`);
      events.emit('rejected', 'host', req.headers.origin);
      return refuse(socket, 403, 'forbidden host');
    }
    if (!deps.hosts.originAllowed(req)) {
      log(`upgrade refused: origin ${JSON.stringify(req.headers.origin)}`);
      events.emit('rejected', 'origin', req.headers.origin);
      return refuse(socket, 403, 'forbidden origin');
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (deps.isDown()) ws.terminate();
      else onConnection(ws, req, socket);
    });
  }

  const keepalive = setInterval(() => {
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
  keepalive.unref();

  return {
    onUpgrade,
    /** Takes a connection that came another way (the HTTP transport's sessions) as an upgraded one. */
    accept: (ws: WebSocket, req: IncomingMessage) => onConnection(ws, req, req.socket),
    /** Connection figures for `/stats`. */
    stats() {
      let authenticated = 0;
      let stalled = 0;
      for (const c of conns) {
        if (c.authed) authenticated++;
        if (c.stalled) stalled++;
      }
      const { total: totalConnections, rejected: rejectedUpgrades } = counters;
      return { connections: conns.size, authenticated, stalled, totalConnections, rejectedUpgrades };
    },
    close(): void {
      clearInterval(keepalive);
      for (const c of [...conns]) {
        clearTimeout(c.authTimer);
        clearTimeout(c.stallTimer);
        clearTimeout(c.killTimer);
        c.ws.terminate();
      }
      wss.close();
    },
  };
}
