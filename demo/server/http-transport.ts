/**
 * The HTTP transport of `resilient-ws/fallback` (the wire contract is docs/fallback.md): for
 * clients whose WebSockets are blocked. Each session is handed to the WebSocket door's own
 * connection code as a `ws`-like object, so auth, rate limiting, rooms, delivery and chaos
 * are one code path for both transports.
 *
 *   POST /rt[?query]                   open: 200 `text/event-stream`; `event: open` with
 *                                      `{"sid"}`, then a `data:` event per frame, `event: close`
 *                                      with `{"code","reason"}` at the end
 *   POST /rt?sid=S&seq=N[&close=C&reason=R]   frames, one per line; 204
 *
 * Bounds: the same `Origin` check as the upgrade, a cap on sessions, a body limit, a POST rate
 * limit per session; a session ends when its stream does, and the door's keepalive reaps one
 * whose client has not POSTed for `idleMs` (the client POSTs at least every 25 s).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import type { HostChecks } from './hosts';

/** Limits of the HTTP transport. */
export interface HttpTransportLimits {
  /** Open sessions at most; more → 503. @default 1000 */
  maxSessions: number;
  /** Largest POST body, bytes; larger → 413 and the session ends (1009). @default 1048576 */
  maxBody: number;
  /** Largest frame, bytes, as the WebSocket door's `maxPayload`; larger → the session ends (1009). @default 65536 */
  maxPayload: number;
  /** POSTs per second per session (also the burst); more → 429. @default 100 */
  postRate: number;
  /** A comment line on an idle stream this often, ms, so proxies keep it open. @default 15000 */
  keepaliveMs: number;
  /** A session whose client has not POSTed for this long is reaped by the door's keepalive round. @default 120000 */
  idleMs: number;
}

export const HTTP_TRANSPORT_LIMITS: Readonly<HttpTransportLimits> = Object.freeze({
  maxSessions: 1000,
  maxBody: 1 << 20,
  maxPayload: 64 * 1024,
  postRate: 100,
  keepaliveMs: 15_000,
  idleMs: 120_000,
});

/** What the transport needs of the server. */
export interface HttpTransportDeps {
  /** The door's connection code: takes a session as a WebSocket. */
  accept: (ws: WebSocket, req: IncomingMessage) => void;
  isDown: () => boolean;
  /** The door's `Host` and `Origin` checks. */
  hosts: HostChecks;
  limits?: Partial<HttpTransportLimits>;
  log: (...args: unknown[]) => void;
}

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Accel-Buffering': 'no', // nginx: do not buffer the stream
  'X-Content-Type-Options': 'nosniff',
};

/**
 * One session, as the door's connection code sees a `ws` WebSocket: `send`, `close`,
 * `terminate`, `pause` (stall), `ping` (answered with `pong` when the client has POSTed since
 * the last ping), `readyState`, `bufferedAmount`, and the events `message`, `pong`, `close`, `error`.
 */
export class HttpSession extends EventEmitter {
  readyState = 1;
  /** the next frame number expected */
  next = 0;
  paused = false;
  /** when the client last POSTed (the open counts) */
  postedAt = Date.now();
  /** POSTs left unanswered while stalled */
  held: ServerResponse[] = [];
  bucket: number;
  refilledAt = Date.now();
  private keepalive: NodeJS.Timeout;
  private idleMs: number;

  constructor(
    readonly sid: string,
    private res: ServerResponse,
    limits: HttpTransportLimits,
    private onGone: (s: HttpSession) => void,
  ) {
    super();
    this.bucket = limits.postRate;
    this.idleMs = limits.idleMs;
    this.keepalive = setInterval(() => {
      if (!this.paused) res.write(':\n\n');
    }, limits.keepaliveMs);
    this.keepalive.unref();
    res.on('close', () => this.gone(1006, ''));
  }

  get bufferedAmount(): number {
    return this.res.writableLength;
  }

  send(text: string): void {
    if (this.readyState !== 1 || this.paused) return;
    this.res.write(`data: ${text.replace(/\r\n|\r|\n/g, '\ndata: ')}\n\n`);
  }

  /** A clean close: the `close` event to the client, then the end of the stream. */
  close(code = 1000, reason = ''): void {
    if (this.readyState !== 1) return;
    if (!this.paused) this.res.end(`event: close\ndata: ${JSON.stringify({ code, reason })}\n\n`);
    else this.res.destroy();
    this.gone(code, reason);
  }

  /** Cut: the stream ends without a `close` event (the client sees 1006). */
  terminate(): void {
    this.res.destroy();
    this.gone(1006, '');
  }

  /** Half-open: nothing more is written, and POSTs are left unanswered. */
  pause(): void {
    this.paused = true;
  }

  /**
   * The door's keepalive: a client that POSTed within `idleMs` is there (it POSTs at least every
   * 25 s; a background tab's timers may run only once a minute).
   */
  ping(): void {
    if (Date.now() - this.postedAt < this.idleMs && !this.paused) queueMicrotask(() => this.emit('pong'));
  }

  /**
   * The client ended the session (a POST with `close`): the answers to its last frames, which
   * the connection code writes in the microtasks after them, still go out before the close.
   */
  closedByClient(code: number, reason: string): void {
    setImmediate(() => this.close(code, reason));
  }

  private gone(code: number, reason: string): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    clearInterval(this.keepalive);
    for (const r of this.held) r.destroy();
    this.onGone(this);
    this.emit('close', code, Buffer.from(reason));
  }
}

/** The `/rt` handler of one server, and `close()`. */
export function httpTransport(deps: HttpTransportDeps) {
  const limits: HttpTransportLimits = { ...HTTP_TRANSPORT_LIMITS, ...deps.limits };
  const sessions = new Map<string, HttpSession>();

  const reply = (res: ServerResponse, status: number, extra?: Record<string, string>): void => {
    res.writeHead(status, { 'Cache-Control': 'no-store', 'Content-Length': 0, ...extra });
    res.end();
  };

  /** CORS for an allowed cross-origin page: it may read the stream and the answers. */
  const cors = (req: IncomingMessage): Record<string, string> =>
    req.headers.origin ? { 'Access-Control-Allow-Origin': req.headers.origin, Vary: 'Origin' } : {};

  function open(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (deps.isDown()) return void res.socket?.destroy(); // down: as the upgrade, no answer
    if (sessions.size >= limits.maxSessions) return reply(res, 503, { 'Retry-After': '5', ...cors(req) });
    const sid = randomBytes(16).toString('base64url');
    res.writeHead(200, { ...SSE_HEADERS, ...cors(req) });
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    // the stream is idle by nature: the session's keepalive and the door's pings watch it instead
    res.socket?.setTimeout(0);
    const s = new HttpSession(sid, res, limits, (x) => sessions.delete(x.sid));
    sessions.set(sid, s);
    res.write(`event: open\ndata: ${JSON.stringify({ sid })}\n\n`);
    deps.accept(s as unknown as WebSocket, req);
  }

  /** Token bucket of `postRate` POSTs per second per session. */
  const allowed = (s: HttpSession): boolean => {
    const now = Date.now();
    s.bucket = Math.min(limits.postRate, s.bucket + ((now - s.refilledAt) / 1000) * limits.postRate);
    s.refilledAt = now;
    if (s.bucket < 1) return false;
    s.bucket -= 1;
    return true;
  };

  function post(req: IncomingMessage, res: ServerResponse, url: URL, s: HttpSession): void {
    s.postedAt = Date.now();
    if (s.paused) {
      // stalled: never answered (until the session is reaped)
      req.resume();
      s.held.push(res);
      return;
    }
    if (!allowed(s)) {
      req.resume();
      return reply(res, 429, { 'Retry-After': '1', ...cors(req) });
    }
    const seq = Number(url.searchParams.get('seq'));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (b: Buffer) => {
      if (size > limits.maxBody) return; // answered already; the rest is read and dropped
      size += b.length;
      if (size <= limits.maxBody) return void chunks.push(b);
      reply(res, 413, { Connection: 'close', ...cors(req) });
      s.close(1009, 'message too big');
    });
    req.on('end', () => {
      if (size > limits.maxBody) return;
      if (s.readyState !== 1) return reply(res, 404, cors(req));
      if (!Number.isInteger(seq) || seq < 0 || seq > s.next) {
        // a gap: frames were lost on the way, the session cannot go on in order
        reply(res, 409, cors(req));
        return s.close(1002, 'out of order');
      }
      const body = Buffer.concat(chunks).toString('utf8');
      const frames = body ? body.split('\n') : [];
      // frames before `next` were applied already: this is a POST tried again after its answer was lost
      for (const f of frames.slice(s.next - seq)) {
        if (Buffer.byteLength(f) > limits.maxPayload) {
          reply(res, 413, cors(req));
          return s.close(1009, 'message too big');
        }
        s.next++;
        s.emit('message', Buffer.from(f), false);
        if (s.readyState !== 1) break;
      }
      reply(res, 204, cors(req));
      const code = url.searchParams.get('close');
      if (code !== null) s.closedByClient(Number(code) || 1005, url.searchParams.get('reason') ?? '');
    });
  }

  return {
    /** Answers a request to the transport's path. */
    handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
      if (req.method !== 'POST') {
        req.resume();
        return reply(res, 405, { Allow: 'POST' });
      }
      if (!deps.hosts.hostAllowed(req) || !deps.hosts.originAllowed(req)) {
        req.resume();
        deps.log(
          `http transport refused: host ${JSON.stringify(req.headers.host)}, origin ${JSON.stringify(req.headers.origin)}`,
        );
        return reply(res, 403);
      }
      const sid = url.searchParams.get('sid');
      if (sid === null) return open(req, res);
      const s = sessions.get(sid);
      if (!s) {
        req.resume();
        return reply(res, 404, cors(req));
      }
      post(req, res, url, s);
    },
    /** Open sessions. */
    get size(): number {
      return sessions.size;
    },
    close(): void {
      for (const s of [...sessions.values()]) s.terminate();
    },
  };
}
