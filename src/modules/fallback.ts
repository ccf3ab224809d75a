import type { CloseInfo, WebSocketConstructor, WebSocketLike } from 'resilient-ws';
import { type Fetch, HttpSocket } from './fallback-http';

export type { Fetch };

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

/** The reason of the close that moves a connection back to WebSocket. */
const BACK = 'websocket is back';

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
    private _s?: WebSocketLike;
    /** an open HTTP session held while WebSocket is tried once more */
    private _h?: WebSocketLike;
    private _probing?: boolean;
    /** the HTTP transport, chosen earlier, failed to open on this attempt */
    private _down?: boolean;
    /** the background WebSocket attempt, while on HTTP */
    private _p?: WebSocketLike;
    /** 0 connecting, 1 open (the client was told), 2 closed */
    private _up = 0;
    /** what the client wrote while no WebSocket message has proven the connection; `n`: its length */
    private _log?: string[] = [];
    private _n = 0;
    /** moving back: what the client writes now waits, and goes back to it with the close */
    private _moving?: number;
    private _t?: ReturnType<typeof setTimeout>;
    private _WS?: WebSocketConstructor;
    private _base: string;
    private _query: string;
    private _key: string;
    private _url: string;
    private _protocols?: string | string[];

    constructor(url: string, protocols?: string | string[]) {
      const http = options.http;
      this._url = url;
      this._protocols = protocols;
      this._base = typeof http === 'function' ? http(url) : new URL(http, url.replace(/^ws/, 'http')).href;
      this._query = new URL(url).search;
      this._key = `resilient-ws:fallback ${this._base}`;
      this._WS = options.WebSocket ?? g.WebSocket;
      // no WebSocket at all is the most blocked it gets
      if (kept(this._key) || !this._WS) this._http();
      else this._ws();
    }

    get readyState(): number {
      return this._up > 1 ? 3 : this._up;
    }

    get bufferedAmount(): number {
      return this._log ? this._n : (this._s?.bufferedAmount ?? 0) + (this._moving ?? 0);
    }

    send(data: string): void {
      if (this._up > 1) return;
      if (!this._up) throw new Error(__DEV__ ? 'InvalidStateError: still connecting' : 'InvalidStateError');
      if (this._moving !== undefined) {
        this._moving += data.length;
        return;
      }
      if (this._log) {
        this._log.push(data);
        this._n += data.length;
      }
      if (this._s?.readyState === 1) this._s.send(data);
    }

    close(code?: number, reason?: string): void {
      if (this._up > 1) return;
      // the socket refuses a bad code or reason before anything here changes
      if (this._s?.readyState === 1) this._s.close(code, reason);
      const s = this._s;
      this._s = undefined;
      this._end();
      drop(s);
    }

    /** A WebSocket attempt. */
    private _ws(): void {
      const w = (this._s = this._socket());
      this._wait(timeout, () => this._trouble(w, true));
      w.onopen = () => {
        this._wait();
        if (!this._up) return this._open();
        // a second attempt: what the client wrote on the first goes again
        for (const d of this._log!) w.send(d);
      };
      w.onmessage = (e) => {
        if (this._log) {
          // a message: this WebSocket works
          this._log = undefined;
          if (this._down) keep(this._key, false);
          drop(this._h);
          this._h = undefined;
          this._chose('websocket');
        }
        this.onmessage?.(e);
      };
      w.onclose = (e) => (this._log ? this._trouble(w, false) : this._closed(e));
    }

    private _socket(): WebSocketLike {
      const w = new this._WS!(this._url, this._protocols);
      w.binaryType = this.binaryType;
      w.onerror = () => {}; // a close event follows; `ws` in Node throws on an unheard error
      return w;
    }

    /** A WebSocket failed (`slow`: still connecting at the deadline): HTTP, if it works. */
    private _trouble(w: WebSocketLike, slow: boolean): void {
      if (w !== this._s || this._up > 1) return;
      if (this._down) return slow ? undefined : this._closed({ code: 1006, reason: '', wasClean: false });
      // WebSocket failed again while HTTP works
      if (this._h) {
        drop(w);
        return this._use(this._h);
      }
      if (!slow) this._s = undefined;
      if (this._probing) return;
      this._probing = true;
      const h = this._session();
      h.onopen = () => {
        this._probing = false;
        // closed, or a WebSocket proved itself meanwhile
        if (this._up > 1 || !this._log) return drop(h);
        this._h = h;
        h.onclose = () => {
          if (this._h === h) this._h = undefined;
        };
        const s = this._s;
        // failed: once more, now that HTTP is known to work; still connecting: HTTP it is
        if (!s) this._ws();
        else if (s.readyState !== 1) {
          drop(s);
          this._use(h);
        }
      };
      h.onclose = (e: CloseInfo) => {
        this._probing = false;
        // both down: an outage, for the client's reconnect
        if (!this._s) this._closed(e);
      };
    }

    private _session(): WebSocketLike {
      return new HttpSocket(this._base, this._query, options.fetch ?? ((u, i) => fetch(u, i)));
    }

    /** Straight to HTTP: the choice made earlier in this page session. */
    private _http(): void {
      const h = (this._s = this._session());
      h.onopen = () => this._use(h);
      h.onclose = (e: CloseInfo) => {
        // HTTP fails: WebSocket may work (then the choice is dropped); if neither does, it is an
        // outage (a restart), and the choice stays
        if (!this._WS) return this._closed(e);
        this._down = true;
        this._ws();
      };
    }

    /** Carry the connection over HTTP from now on. */
    private _use(h: WebSocketLike): void {
      this._h = undefined;
      this._s = h;
      keep(this._key, true);
      h.onmessage = (e) => this.onmessage?.(e);
      h.onclose = (e) => this._closed(e);
      const log = this._log!;
      this._log = undefined;
      this._chose('http');
      if (!this._up) this._open();
      else for (const d of log) h.send(d);
      this._later();
    }

    /** While on HTTP: try WebSocket again in `retry` ms. */
    private _later(): void {
      if (retry === false || this._up > 1) return;
      this._wait(retry, () => {
        const p = (this._p = this._socket());
        const ok = () => {
          this._wait();
          drop(p);
          this._back();
        };
        p.onopen = () => this._wait(hold, ok);
        p.onmessage = ok;
        // closed by a server (not a proxy's cut): WebSocket reaches it
        p.onclose = (e: CloseInfo) => (e.wasClean && e.code !== 1006 ? ok() : this._later());
      });
    }

    /** WebSocket works again: end the HTTP session after its last POST; the client reconnects. */
    private _back(): void {
      const h = this._s!;
      keep(this._key, false);
      this._moving = 0;
      h.onclose = (e: CloseInfo) => this._closed(e.wasClean ? { code: 1012, reason: BACK, wasClean: true } : e);
      h.close(1000, BACK);
    }

    private _chose(t: Transport): void {
      this.transport = t;
      options.onTransport?.(t);
    }

    private _open(): void {
      this._up = 1;
      this.onopen?.({ type: 'open' });
    }

    private _closed(e: CloseInfo): void {
      if (this._up > 1) return;
      this._end();
      this.onerror?.({ type: 'error' });
      this.onclose?.({ type: 'close', code: e.code, reason: e.reason, wasClean: e.wasClean });
    }

    private _end(): void {
      this._up = 2;
      this._wait();
      drop(this._h);
      drop(this._p);
      this._h = this._p = undefined;
    }

    /** The one timer: the opening deadline, then the background re-try. */
    private _wait(ms?: number, fn?: () => void): void {
      clearTimeout(this._t);
      if (fn) this._t = setTimeout(fn, ms);
    }
  };
};
