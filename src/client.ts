import mitt from 'mitt';
import { backoff } from './backoff';
import { dispatch } from './dispatch';
import { type ErrorCode, WebSocketClientError } from './errors';
import { Heartbeat } from './heartbeat';
import { checkUrl, type Resolved, resolveOptions } from './options';
import { watchPage } from './page';
import { Queue, type QueueLimits } from './queue';
import { Timers } from './timers';
import type { ClientOptions, CloseInfo, Message, SendResult, State, StateDetail, WebSocketLike } from './types';

/** The message of type `T` out of the union `In`; `In` itself when the union does not name `T`. */
export type MessageOf<In extends Message, T> = [Extract<In, { type: T }>] extends [never] ? In : Extract<In, { type: T }>;

/** Handler of messages of type `T` (`'*'`: every message). */
export type MessageHandler<In extends Message, T> = (msg: T extends '*' ? In : MessageOf<In, T>) => void;

/**
 * A plugin hooks into the client's data path; opt-in features (delivery guarantees,
 * request/response) are built on it so that apps that do not use them do not pay for them.
 */
export interface ClientPlugin<In extends Message = Message, Out = Message> {
  /** Runs on every open after auth and the `open` listeners, before the queue flushes. */
  open?(): void;
  /** Sees every outgoing message before it is serialised and returns the one to send. */
  send?(msg: Out): Out;
  /** A frame of this message was handed to the socket. */
  sent?(msg: Out): void;
  /** Sees every valid incoming message first; returning `false` consumes it. */
  message?(msg: In): boolean | void;
  /** The app closed or disposed the client. */
  close?(): void;
}

const ABNORMAL = 1006;
type Listener = (...args: never[]) => void;

/**
 * A WebSocket connection that stays useful: it reconnects with backoff and jitter, queues
 * what is sent while offline, checks liveness with a heartbeat, authenticates first on every
 * open, and dispatches JSON messages by type to typed handlers.
 *
 * @typeParam In - the union of messages the server sends
 * @typeParam Out - the union of messages the client sends
 */
export class WebSocketClient<In extends Message = Message, Out = Message> {
  /** Where the client is in its life. */
  state: State = 'idle';
  /** Consecutive reconnect attempts since the last stable connection. */
  attempt = 0;

  private o: Resolved<In, Out>;
  private ws?: WebSocketLike;
  private q?: Queue<Out>;
  private hb?: Heartbeat;
  /** message handlers, by type */
  private handlers = mitt<Record<string, unknown>>();
  /** the client's own events: state, error, latency; apart from messages so names never collide */
  private events = mitt<Record<string, unknown>>();
  private timers = new Timers();
  private plugins: ClientPlugin<In, Out>[] = [];
  /** bumped whenever a socket is torn down, so a late async step knows it is stale */
  private gen = 0;
  private openedAt = 0;
  /** while `open` listeners and plugins run, sends skip the queue (SPEC order on open) */
  private direct = false;
  private unwatch?: () => void;
  /** the auth frame last written, and whether the one retry after a refusal was used */
  private authFrame?: unknown;
  private authRetried = false;
  private nextAuth?: { m: Out };

  /** @throws {@link WebSocketClientError} `INVALID_OPTIONS`, naming the option */
  constructor(options: ClientOptions<In, Out>) {
    const o = (this.o = resolveOptions(options));
    if (o.queue) this.q = new Queue<Out>(o.queue, (e) => this.fail(e));
    if (o.autoConnect) this.connect();
  }

  /** The native `readyState` of the current socket; `WebSocket.CLOSED` (3) when there is none. */
  get readyState(): number {
    return this.ws ? this.ws.readyState : 3;
  }

  /** Messages waiting in the queue. */
  get queued(): number {
    return this.q ? this.q.items.length : 0;
  }

  /** Round trip of the last heartbeat, ms. */
  get latency(): number | undefined {
    return this.hb?.latency;
  }

  /** Start, or restart after `close()`. Does nothing while already connecting or connected. */
  connect(): void {
    if (this.state === 'reconnecting') return this.open();
    if (this.state !== 'idle' && this.state !== 'closed') return;
    if (this.o.pageEvents && !this.unwatch) {
      this.unwatch = watchPage({
        online: () => this.wake(true),
        offline: () => this.hb?.verify(),
        visible: () => this.wake(false),
        freeze: () => {
          this.teardown(1000, 'page frozen');
          this.set('reconnecting');
        },
        thaw: () => this.wake(true),
      });
    }
    this.attempt = 0;
    this.authRetried = false;
    this.open();
  }

  /**
   * Close and stay closed: no reconnect, no timer left. The queue is kept for a later `connect()`.
   * @param code - 1000 or 3000–4999
   */
  close(code = 1000, reason = ''): void {
    if (code !== 1000 && !(code >= 3000 && code <= 4999))
      throw new WebSocketClientError('INVALID_OPTIONS', 'close code must be 1000 or 3000-4999', code);
    this.unwatch?.();
    this.unwatch = undefined;
    if (this.ws) this.set('closing');
    this.teardown(code, reason);
    for (const p of this.plugins) p.close?.();
    this.set('closed', { closeInfo: { code, reason, wasClean: true } });
  }

  /** `close()`, then drop the queue and every listener, handler and plugin. */
  dispose(): void {
    this.close();
    if (this.q) this.q.items = [];
    this.handlers.all.clear();
    this.events.all.clear();
    this.plugins = [];
  }

  /**
   * Serialise now and send when open (and authenticated), otherwise queue.
   * @param opts.queue - `false`: send now or drop, never replay later
   * @throws {@link WebSocketClientError} `SERIALIZE_ERROR` (nothing is queued), or `QUEUE_OVERFLOW` with `overflow: 'throw'`
   */
  send(msg: Out, opts?: { queue?: boolean }): SendResult {
    for (const p of this.plugins) if (p.send) msg = p.send(msg);
    const data = this.encode(msg);
    if (this.state === 'open' && (this.direct || !this.queued) && !this.busy()) {
      this.write(data, msg);
      return 'sent';
    }
    if (opts?.queue === false || !this.q) return 'dropped';
    const r = this.q.push({ data, msg, at: Date.now(), size: (this.o.queue as QueueLimits).maxBytes < Infinity ? size(data) : 0 });
    if (this.state === 'open') this.flush();
    return r;
  }

  /** Handle messages of one type (narrowed), or `'*'` for all. Returns the unsubscribe function. */
  on<T extends In['type'] | '*'>(type: T, handler: MessageHandler<In, T>): () => void {
    this.handlers.on(type, handler as never);
    return () => this.off(type, handler);
  }

  /** Like `on`, for the next message of that type only. */
  once<T extends In['type'] | '*'>(type: T, handler: MessageHandler<In, T>): () => void {
    const off = this.on(type, ((msg: never) => {
      off();
      (handler as (m: never) => void)(msg);
    }) as MessageHandler<In, T>);
    return off;
  }

  /** Remove a handler added with `on`. */
  off<T extends In['type'] | '*'>(type: T, handler: MessageHandler<In, T>): void {
    this.handlers.off(type, handler as never);
  }

  /** Listen to state changes. Returns the unsubscribe function. */
  onStateChange(listener: (state: State, detail: StateDetail) => void): () => void {
    return this.listen('state', listener);
  }

  /** Listen to errors. Without any listener, errors go to `logger.warn`. Returns the unsubscribe function. */
  onError(listener: (error: WebSocketClientError) => void): () => void {
    return this.listen('error', listener);
  }

  /** Listen to heartbeat round trips, ms. Returns the unsubscribe function. */
  onLatency(listener: (ms: number) => void): () => void {
    return this.listen('latency', listener);
  }

  /** Plug a feature into the data path. Returns the function that removes it. */
  use(plugin: ClientPlugin<In, Out>): () => void {
    this.plugins.push(plugin);
    return () => {
      this.plugins = this.plugins.filter((p) => p !== plugin);
    };
  }

  // ---- connection ----

  private open(): void {
    const gen = ++this.gen;
    const o = this.o;
    this.timers.clear();
    this.set('connecting');
    const WS = o.WebSocket ?? (globalThis as { WebSocket?: ClientOptions['WebSocket'] }).WebSocket;
    if (!WS) return this.stop(undefined, this.err('NO_WEBSOCKET', 'no WebSocket here: pass options.WebSocket'));
    Promise.resolve()
      .then(() => (typeof o.url === 'function' ? o.url() : o.url))
      .then(
        (url) => {
          if (gen !== this.gen) return;
          let ws: WebSocketLike;
          try {
            ws = this.ws = new WS(checkUrl(url), o.protocols);
          } catch (e) {
            return this.stop(undefined, e instanceof WebSocketClientError ? e : this.err('CONNECT_ERROR', String(e), url, e));
          }
          ws.binaryType = o.binaryType;
          ws.onopen = () => this.opened();
          ws.onmessage = (e: { data: unknown }) => this.receive(e.data);
          ws.onclose = (e: CloseInfo) => this.drop(e);
          ws.onerror = () => {}; // a close event follows; `ws` in Node throws on an unheard error
          this.timers.set('connect', o.connectTimeout, () => this.lost('CONNECT_TIMEOUT', 'connect timeout'));
        },
        (e) => gen === this.gen && this.lost('CONNECT_ERROR', 'options.url factory failed', e),
      );
  }

  private opened(): void {
    const gen = this.gen;
    const a = this.o.auth;
    this.timers.clear('connect');
    this.openedAt = Date.now();
    if (!a) return this.ready();
    this.set('authenticating');
    const next = this.nextAuth;
    this.nextAuth = undefined;
    Promise.resolve()
      .then(() => (next ? next.m : typeof a.message === 'function' ? (a.message as () => Out)() : a.message))
      .then((m) => {
        if (gen !== this.gen) return;
        this.write((this.authFrame = this.encode(m)));
        this.log('auth sent');
        if (a.isAck) this.timers.set('auth', a.timeout, () => this.lost('AUTH_TIMEOUT', 'no auth ack'));
        else this.ready();
      })
      .catch((e) => gen === this.gen && this.lost('AUTH_ERROR', 'options.auth factory failed', e));
  }

  /** Authenticated: the order of SPEC §2.4 from step 3 on. */
  private ready(): void {
    const h = this.o.heartbeat;
    this.timers.clear('auth');
    if (h) {
      this.hb ??= new Heartbeat(
        h,
        () => {
          // straight to the socket: a ping is not app data for the queue or plugins
          try {
            this.write(this.encode(typeof h.message === 'function' ? (h.message as () => Out)() : (h.message as Out)));
          } catch (e) {
            this.fail(e as WebSocketClientError);
          }
        },
        () => this.lost('HEARTBEAT_TIMEOUT', 'heartbeat timeout'),
      );
      this.hb.start();
    }
    this.direct = true;
    this.set('open');
    for (const p of this.plugins) p.open?.();
    this.direct = false;
    this.flush();
  }

  private receive(data: unknown): void {
    const o = this.o;
    const a = o.auth;
    const h = o.heartbeat;
    let msg: In;
    try {
      msg = o.deserialize(data) as In;
    } catch (e) {
      return this.fail(this.err('PARSE_ERROR', 'cannot parse frame', data, e));
    }
    const type = (msg as Record<string, unknown> | null)?.[o.typeKey];
    if (typeof type !== 'string') return this.fail(this.err('INVALID_MESSAGE', `message without a string "${o.typeKey}"`, msg));
    this.log('recv', type);
    if (a?.isRejection?.(msg)) {
      this.teardown(1000, 'auth rejected');
      return this.rejected({ code: 1000, reason: 'auth rejected', wasClean: true }, msg);
    }
    if (this.plugins.some((p) => p.message?.(msg) === false)) return;
    if (h && this.hb) {
      const pong = h.isPong(msg);
      if (pong || h.anyMessage) {
        const rtt = this.hb.alive(pong);
        if (rtt !== undefined) this.emit('latency', rtt);
      }
      if (pong && !h.dispatchPongs) return;
    }
    if (this.state === 'authenticating' && a?.isAck?.(msg)) {
      this.authRetried = false;
      this.ready();
    }
    const fail = (e: unknown) => this.fail(this.err('HANDLER_ERROR', `a "${type}" handler threw`, msg, e));
    dispatch(this.handlers.all.get(type), [msg], fail);
    dispatch(this.handlers.all.get('*'), [msg], fail);
  }

  // ---- the one close path ----

  /** The connection failed for a reason the client noticed itself. */
  private lost(code: ErrorCode, reason: string, cause?: unknown): void {
    this.teardown(4000, reason);
    this.fail(this.err(code, reason, undefined, cause));
    this.drop({ code: ABNORMAL, reason, wasClean: false });
  }

  /** A socket the app did not close has gone: reconnect, or stop if that is pointless. */
  private drop(e: CloseInfo): void {
    const r = this.o.reconnect;
    const info: CloseInfo = { code: e.code, reason: e.reason, wasClean: !!e.wasClean };
    this.teardown();
    this.log('closed', info.code, info.reason);
    if (r && this.openedAt && Date.now() - this.openedAt >= r.resetAfter) this.attempt = 0;
    this.openedAt = 0;
    if (this.o.authFailureCodes.includes(info.code)) return this.rejected(info, info);
    if (!r || !(r.shouldReconnect ? r.shouldReconnect(info, this.attempt) : !r.fatalCloseCodes.includes(info.code)))
      return this.stop(info);
    if (this.attempt >= r.maxAttempts)
      return this.stop(info, this.err('MAX_ATTEMPTS', `gave up after ${this.attempt} attempts`, info));
    this.retry(info);
  }

  /**
   * Credentials refused. Fatal, unless the auth factory now yields different credentials:
   * then exactly one retry, never a loop against a server that keeps refusing.
   */
  private rejected(info: CloseInfo, data: unknown): void {
    const m = this.o.auth?.message;
    const e = this.err('AUTH_REJECTED', 'authentication rejected', data);
    if (typeof m !== 'function' || this.authRetried) return this.stop(info, e);
    const gen = ++this.gen;
    this.authRetried = true;
    this.fail(e);
    this.set('reconnecting', { closeInfo: info });
    Promise.resolve()
      .then(m as () => Out)
      .then(
        (next) => {
          if (gen !== this.gen) return;
          if (this.encode(next) === this.authFrame) return this.stop(info); // refusal already reported
          this.nextAuth = { m: next };
          this.retry(info);
        },
        (x) => gen === this.gen && this.stop(info, this.err('AUTH_ERROR', 'options.auth factory failed', undefined, x)),
      );
  }

  /** Wait the backoff delay (stretched while hidden; not at all while offline), then open. */
  private retry(closeInfo?: CloseInfo): void {
    const r = this.o.reconnect;
    if (!r) return;
    const g = globalThis as { document?: Document; navigator?: Navigator };
    const n = ++this.attempt;
    const delay = backoff(n, r) * (g.document?.hidden ? r.hiddenFactor : 1);
    if (g.navigator?.onLine === false) return this.set('reconnecting', { closeInfo });
    this.set('reconnecting', { delay, closeInfo });
    this.timers.set('retry', delay, () => this.open());
  }

  /** Network back, page shown or restored: reconnect now if waiting, else verify the connection. */
  private wake(reset: boolean): void {
    if (this.state === 'open') return this.hb?.verify();
    if (this.state !== 'reconnecting' || (globalThis as { navigator?: Navigator }).navigator?.onLine === false) return;
    if (reset) this.attempt = 0;
    this.open();
  }

  /** Terminal: closed, with the reason. */
  private stop(closeInfo?: CloseInfo, e?: WebSocketClientError): void {
    this.teardown();
    this.unwatch?.();
    this.unwatch = undefined;
    if (e) this.fail(e);
    this.set('closed', { closeInfo });
  }

  /** Forget the socket: detach it, close it if still up, stop every timer. */
  private teardown(code?: number, reason?: string): void {
    const ws = this.ws;
    this.gen++;
    this.timers.clear();
    this.hb?.stop();
    this.ws = undefined;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      if (ws.readyState < 2) {
        try {
          ws.close(code, reason);
        } catch {}
      }
    }
  }

  // ---- data ----

  private encode(msg: Out): unknown {
    let data: unknown;
    try {
      data = this.o.serialize(msg);
    } catch (e) {
      throw this.err('SERIALIZE_ERROR', 'cannot serialise message', msg, e);
    }
    if (data === undefined) throw this.err('SERIALIZE_ERROR', 'message serialised to nothing', msg);
    return data;
  }

  private write(data: unknown, msg?: Out): void {
    this.ws!.send(data);
    // `msg` is absent for auth and pings: never logged, never seen by plugins
    if (msg) {
      this.log('send', data);
      for (const p of this.plugins) p.sent?.(msg);
    }
  }

  /** Backpressure: the socket's buffer is above the high-water mark. */
  private busy(): boolean {
    return this.ws!.bufferedAmount > this.o.highWaterMark;
  }

  /** Send what waits, oldest first, pausing while the socket's buffer is full. */
  private flush(): void {
    const q = this.q;
    if (!q) return;
    q.expire(Date.now());
    while (q.items.length && this.state === 'open') {
      if (this.busy()) return this.timers.set('drain', 50, () => this.flush());
      const item = q.shift()!;
      this.write(item.data, item.msg);
    }
  }

  // ---- events ----

  private set(state: State, detail?: Partial<StateDetail>): void {
    this.state = state;
    this.log('state', state);
    this.emit('state', state, { attempt: this.attempt, ...detail });
  }

  private listen(name: string, f: Listener): () => void {
    this.events.on(name, f as never);
    return () => this.events.off(name, f as never);
  }

  private emit(name: string, ...args: unknown[]): void {
    dispatch(this.events.all.get(name), args, (e) =>
      name === 'error' ? this.o.logger.warn('[resilient-ws] error listener threw', e) : this.fail(this.err('HANDLER_ERROR', `a ${name} listener threw`, args[0], e)),
    );
  }

  /** Report an error; never nowhere. */
  private fail(e: WebSocketClientError): void {
    if (this.events.all.get('error')?.length) this.emit('error', e);
    else this.o.logger.warn('[resilient-ws]', e);
  }

  private err(code: ErrorCode, message: string, data?: unknown, cause?: unknown): WebSocketClientError {
    return new WebSocketClientError(code, message, data, cause);
  }

  private log(...args: unknown[]): void {
    if (this.o.debug) this.o.logger.debug?.('[resilient-ws]', ...args);
  }
}

/** UTF-8 size of a frame, for `queue.maxBytes`. */
const size = (data: unknown): number =>
  typeof data === 'string'
    ? new TextEncoder().encode(data).length
    : ((data as { byteLength?: number; size?: number }).byteLength ?? (data as { size: number }).size ?? 0);
