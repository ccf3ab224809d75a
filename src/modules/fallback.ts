import type { CloseInfo, WebSocketConstructor, WebSocketLike } from 'resilient-ws';
import { type Fetch, HttpSocket } from './fallback-http';

export type { Fetch };
export { HttpSocket };

/** What carries a connection's frames. */
export type Transport = 'websocket' | 'http';

/** Options of {@link fallback}. */
export interface FallbackOptions {
  /**
   * The HTTP transport's endpoint: a path or URL resolved against the WebSocket url (its `ws:`
   * read as `http:`, `wss:` as `https:`), or a function of the WebSocket url that returns one.
   * @default undefined (required)
   */
  http: string | ((url: string) => string);
  /** A WebSocket still connecting after this many ms: HTTP is tried, and used if it works. @default 2000 */
  timeout?: number;
  /**
   * While on HTTP, WebSocket is tried again in the background this often, ms; when it works, the
   * connection moves back (a reconnect, close code 1012). `false`: never. @default 30000
   */
  retry?: number | false;
  /** A background WebSocket that opens and stays up this long (or gets a message) works, ms. @default 2000 */
  hold?: number;
  /**
   * Where the choice of HTTP is kept for the page session, so a reload skips the probe;
   * `false`: only in memory, for the sockets this `fallback()` makes. @default sessionStorage
   */
  storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | false;
  /** The WebSocket class. @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor;
  /** The fetch function of the HTTP transport. @default globalThis.fetch */
  fetch?: Fetch;
  /** Told which transport each connection uses, once it is chosen. @default undefined */
  onTransport?: (transport: Transport) => void;
}

/** Detach a socket the connection no longer uses, and close it. */
const drop = (s?: WebSocketLike): void => {
  if (!s) return;
  s.onopen = s.onmessage = s.onclose = null;
  try {
    s.close();
  } catch {}
};

/**
 * A WebSocket class (for the client's `WebSocket` option) that uses WebSocket where it works
 * and an HTTP transport where it is blocked, so everything above it (auth, heartbeat, queue,
 * delivery, channels, shared tabs, outbox) works unchanged. docs/fallback.md has the timings
 * and the wire contract a server implements.
 *
 * Each connection tries WebSocket first. HTTP is used when WebSocket fails (before opening, or
 * by dying before its first message) twice in a row with the HTTP endpoint answering in
 * between, or does not open within `timeout` while HTTP does: a server that is simply down
 * fails both and is left to the client's reconnect, never a fallback. What the client wrote on
 * a WebSocket that died before its first message is written again on the next transport.
 *
 * The choice is remembered for the page session (`storage`); WebSocket is re-tried every
 * `retry` ms, and when it works the HTTP connection ends with code 1012 after its last POST,
 * so the client reconnects over WebSocket through its own path (with `delivery`: resume, ack,
 * dedupe) and nothing is lost or sent twice.
 *
 * ```ts
 * const client = new WebSocketClient(url, { WebSocket: fallback({ http: '/rt' }) });
 * ```
 */
export const fallback = (options: FallbackOptions): WebSocketConstructor => {
  const { timeout = 2000, retry = 30_000, hold = 2000 } = options;
  const g = globalThis as { WebSocket?: WebSocketConstructor; sessionStorage?: Storage };
  /** the choice per HTTP endpoint, for when no storage keeps it */
  const mem: Record<string, boolean> = {};
  const store = () => (options.storage === false ? undefined : (options.storage ?? g.sessionStorage));
  const keep = (key: string, on: boolean): void => {
    mem[key] = on;
    try {
      on ? store()?.setItem(key, '1') : store()?.removeItem(key);
    } catch {}
  };
  const kept = (key: string): boolean => {
    try {
      return mem[key] ?? !!store()?.getItem(key);
    } catch {
      return !!mem[key];
    }
  };

  return class FallbackSocket implements WebSocketLike {
    onopen: WebSocketLike['onopen'] = null;
    onmessage: WebSocketLike['onmessage'] = null;
    onclose: WebSocketLike['onclose'] = null;
    onerror: WebSocketLike['onerror'] = null;
    binaryType = 'blob';
    /** The transport in use, once chosen. */
    transport?: Transport;

    /** the socket that carries the frames now */
    private s?: WebSocketLike;
    /** an open HTTP session held while WebSocket is tried once more */
    private h?: WebSocketLike;
    private probing?: boolean;
    /** the background WebSocket attempt, while on HTTP */
    private p?: WebSocketLike;
    /** 0 connecting, 1 open (the client was told), 2 closed */
    private up = 0;
    /** what the client wrote while no WebSocket message has proven the connection; `n`: its length */
    private log?: string[] = [];
    private n = 0;
    /** moving back: what the client writes now waits, and goes back to it with the close */
    private moving?: number;
    private t?: ReturnType<typeof setTimeout>;
    private WS?: WebSocketConstructor;
    private base: string;
    private query: string;
    private key: string;

    constructor(
      private url: string,
      private protocols?: string | string[],
    ) {
      const http = options.http;
      this.base = typeof http === 'function' ? http(url) : new URL(http, url.replace(/^ws/, 'http')).href;
      this.query = new URL(url).search;
      this.key = `resilient-ws:fallback ${this.base}`;
      this.WS = options.WebSocket ?? g.WebSocket;
      // no WebSocket at all is the most blocked it gets
      if (kept(this.key) || !this.WS) this.http();
      else this.ws();
    }

    get readyState(): number {
      return this.up > 1 ? 3 : this.up;
    }

    get bufferedAmount(): number {
      return this.log ? this.n : (this.s?.bufferedAmount ?? 0) + (this.moving ?? 0);
    }

    send(data: string): void {
      if (this.up > 1) return;
      if (!this.up) throw new Error('InvalidStateError: still connecting');
      if (this.moving !== undefined) {
        this.moving += data.length;
        return;
      }
      if (this.log) {
        this.log.push(data);
        this.n += data.length;
      }
      if (this.s?.readyState === 1) this.s.send(data);
    }

    close(code?: number, reason?: string): void {
      if (this.up > 1) return;
      // the socket refuses a bad code or reason before anything here changes
      if (this.s?.readyState === 1) this.s.close(code, reason);
      const s = this.s;
      this.s = undefined;
      this.end();
      drop(s);
    }

    /** A WebSocket attempt. */
    private ws(): void {
      const w = (this.s = this.socket());
      this.wait(timeout, () => this.trouble(w, true));
      w.onopen = () => {
        this.wait();
        if (!this.up) return this.open();
        // a second attempt: what the client wrote on the first goes again
        for (const d of this.log!) w.send(d);
      };
      w.onmessage = (e) => {
        if (this.log) {
          // a message: this WebSocket works
          this.log = undefined;
          drop(this.h);
          this.h = undefined;
          this.chose('websocket');
        }
        this.onmessage?.(e);
      };
      w.onclose = (e) => (this.log ? this.trouble(w, false) : this.closed(e));
    }

    private socket(): WebSocketLike {
      const w = new this.WS!(this.url, this.protocols);
      w.binaryType = this.binaryType;
      w.onerror = () => {}; // a close event follows; `ws` in Node throws on an unheard error
      return w;
    }

    /** A WebSocket failed (`slow`: still connecting at the deadline): HTTP, if it works. */
    private trouble(w: WebSocketLike, slow: boolean): void {
      if (w !== this.s || this.up > 1) return;
      // WebSocket failed again while HTTP works
      if (this.h) {
        drop(w);
        return this.use(this.h);
      }
      if (!slow) this.s = undefined;
      if (this.probing) return;
      this.probing = true;
      const h = this.session();
      h.onopen = () => {
        this.probing = false;
        // closed, or a WebSocket proved itself meanwhile
        if (this.up > 1 || !this.log) return drop(h);
        this.h = h;
        h.onclose = () => {
          if (this.h === h) this.h = undefined;
        };
        const s = this.s;
        // failed: once more, now that HTTP is known to work; still connecting: HTTP it is
        if (!s) this.ws();
        else if (s.readyState !== 1) {
          drop(s);
          this.use(h);
        }
      };
      h.onclose = (e: CloseInfo) => {
        this.probing = false;
        // both down: an outage, for the client's reconnect
        if (!this.s) this.closed(e);
      };
    }

    private session(): WebSocketLike {
      return new HttpSocket(this.base, this.query, options.fetch ?? ((u, i) => fetch(u, i)));
    }

    /** Straight to HTTP: the choice made earlier in this page session. */
    private http(): void {
      const h = (this.s = this.session());
      h.onopen = () => this.use(h);
      h.onclose = (e: CloseInfo) => {
        // not even HTTP: the next connection decides afresh
        keep(this.key, false);
        this.closed(e);
      };
    }

    /** Carry the connection over HTTP from now on. */
    private use(h: WebSocketLike): void {
      this.h = undefined;
      this.s = h;
      keep(this.key, true);
      h.onmessage = (e) => this.onmessage?.(e);
      h.onclose = (e) => this.closed(e);
      const log = this.log!;
      this.log = undefined;
      this.chose('http');
      if (!this.up) this.open();
      else for (const d of log) h.send(d);
      this.later();
    }

    /** While on HTTP: try WebSocket again in `retry` ms. */
    private later(): void {
      if (retry === false || this.up > 1) return;
      this.wait(retry, () => {
        const p = (this.p = this.socket());
        const ok = () => {
          this.wait();
          drop(p);
          this.back();
        };
        p.onopen = () => this.wait(hold, ok);
        p.onmessage = ok;
        // closed by a server (not a proxy's cut): WebSocket reaches it
        p.onclose = (e: CloseInfo) => (e.wasClean && e.code !== 1006 ? ok() : this.later());
      });
    }

    /** WebSocket works again: end the HTTP session after its last POST; the client reconnects. */
    private back(): void {
      const h = this.s!;
      keep(this.key, false);
      this.moving = 0;
      h.onclose = (e: CloseInfo) =>
        this.closed(e.wasClean ? { code: 1012, reason: 'websocket is back', wasClean: true } : e);
      h.close(1000, 'websocket is back');
    }

    private chose(t: Transport): void {
      this.transport = t;
      options.onTransport?.(t);
    }

    private open(): void {
      this.up = 1;
      this.onopen?.({ type: 'open' });
    }

    private closed(e: CloseInfo): void {
      if (this.up > 1) return;
      this.end();
      this.onerror?.({ type: 'error' });
      this.onclose?.({ type: 'close', code: e.code, reason: e.reason, wasClean: e.wasClean });
    }

    private end(): void {
      this.up = 2;
      this.wait();
      drop(this.h);
      drop(this.p);
      this.h = this.p = undefined;
    }

    /** The one timer: the opening deadline, then the background re-try. */
    private wait(ms?: number, fn?: () => void): void {
      clearTimeout(this.t);
      if (fn) this.t = setTimeout(fn, ms);
    }
  };
};
