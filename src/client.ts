import mitt from 'mitt';
import { backoff } from './backoff';
import { dispatch } from './dispatch';
import { type ErrorCode, WebSocketClientError } from './errors';
import { Heartbeat } from './heartbeat';
import { checkUrl, type Resolved, resolveOptions } from './options';
import { watchPage } from './page';
import { Queue } from './queue';
import { Timers } from './timers';
import type { ClientOptions, CloseInfo, Message, SendResult, State, StateDetail, WebSocketLike } from './types';

/** The message of type `T` out of the union `In`; `In` itself when the union does not name `T`. */
export type MessageOf<In extends Message, T> = [Extract<In, { type: T }>] extends [never] ? In : Extract<In, { type: T }>;

/** Handler of messages of type `T` (`'*'`: every message). */
export type MessageHandler<In extends Message, T> = (msg: T extends '*' ? In : MessageOf<In, T>) => void;

/**
 * A plugin hooks into the client's data path. Opt-in features (delivery guarantees,
 * request/response) are built on it, so apps that do not use them do not pay for them.
 */
export interface ClientPlugin<In extends Message = Message, Out = Message> {
  /** Runs on every open after auth and the `open` listeners, before the queue flushes; what it sends goes first. */
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

type Listener = (...args: never[]) => void;

/** A value, or what a function given in its place returns. */
const value = <T>(v: T | (() => T)): T => (typeof v === 'function' ? (v as () => T)() : v);

/** UTF-8 size of a frame, for `queue.maxBytes`. */
const size = (data: unknown): number =>
  typeof data === 'string' ? new TextEncoder().encode(data).length : ((data as { byteLength?: number; size?: number }).byteLength ?? (data as Blob).size);

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
  /** the client's own events (state, error, latency), apart from messages so names never collide */
  private events = mitt<Record<string, unknown>>();
  private timers = new Timers();
  private plugins: ClientPlugin<In, Out>[] = [];
  /** bumped whenever a socket is torn down, so a late async step knows it is stale */
  private gen = 0;
  private openedAt = 0;
  /** while `open` listeners and plugins run, sends skip the queue (the order on open) */
  private direct = false;
  private unwatch?: () => void;
  /** the auth frame last written */
  private authFrame?: unknown;
  /** the one retry after a refusal is used */
  private authRetried = false;
  /** fresh credentials being fetched after a refusal, for the next open */
  private nextAuth?: Promise<Out>;

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

  /** Start, or restart after `close()`. While waiting to reconnect: now. Otherwise does nothing. */
  connect(): void {
    const s = this.state;
    if (s === 'reconnecting') return this.open();
    if (s !== 'idle' && s !== 'closed') return;
    if (this.o.pageEvents)
      this.unwatch ??= watchPage({
        online: () => this.wake(true),
        offline: () => this.hb?.verify(),
        visible: () => this.wake(false),
        freeze: () => {
          this.teardown(1000);
          this.set('reconnecting');
        },
        thaw: () => this.wake(true),
      });
    this.attempt = 0;
    this.authRetried = false;
    this.open();
  }

  /**
   * Close and stay closed: no reconnect, no timer left. The queue is kept for a later `connect()`.
   * @param code - 1000 or 3000–4999
   */
  close(code = 1000, reason = ''): void {
    if (code !== 1000 && !(code >= 3000 && code < 5000)) throw new WebSocketClientError('INVALID_OPTIONS', 'close code must be 1000 or 3000-4999', code);
    if (this.ws) this.set('closing');
    for (const p of this.plugins) p.close?.();
    this.end({ code, reason, wasClean: true }, undefined, code);
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
   * Serialise now; send when open (and authenticated), otherwise queue.
   * @param opts.queue - `false`: send now or drop, never replay later
   * @throws {@link WebSocketClientError} `SERIALIZE_ERROR` (nothing is queued), or `QUEUE_OVERFLOW` with `overflow: 'throw'`
   */
  send(msg: Out, opts?: { queue?: boolean }): SendResult {
    for (const p of this.plugins) if (p.send) msg = p.send(msg);
    const data = this.encode(msg);
    const q = this.q;
    if (this.state === 'open' && (this.direct || !this.queued) && !this.busy()) {
      this.write(data, msg);
      return 'sent';
    }
    if (opts?.queue === false || !q) return 'dropped';
    const r = q.push({ data, msg, at: Date.now(), size: (this.o.queue as Queue['o']).maxBytes < Infinity ? size(data) : 0 });
    this.flush();
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
    const o = this.o;
    const WS = o.WebSocket ?? (globalThis as { WebSocket?: ClientOptions['WebSocket'] }).WebSocket;
    this.gen++;
    this.timers.clear();
    this.set('connecting');
    if (!WS) return this.end(undefined, this.err('NO_WEBSOCKET', 'no WebSocket here: pass options.WebSocket'));
    this.later(
      () => value(o.url),
      (url) => {
        const ws = (this.ws = new WS(checkUrl(url), o.protocols));
        ws.binaryType = o.binaryType;
        ws.onopen = () => this.opened();
        ws.onmessage = (e: { data: unknown }) => this.receive(e.data);
        ws.onclose = (e: CloseInfo) => this.drop(e);
        ws.onerror = () => {}; // a close event follows; `ws` in Node throws on an unheard error
        this.timers.set('connect', o.connectTimeout, () => this.lost(this.err('CONNECT_TIMEOUT')));
      },
      'CONNECT_ERROR',
    );
  }

  private opened(): void {
    const a = this.o.auth;
    const next = this.nextAuth;
    this.timers.clear('connect');
    this.openedAt = Date.now();
    this.authFrame = undefined; // only ever the frame sent on this connection
    if (!a) return this.ready();
    this.set('authenticating');
    this.nextAuth = undefined;
    this.later(
      () => next ?? value(a.message as Out),
      (m) => {
        this.write((this.authFrame = this.encode(m)));
        if (a.isAck) this.timers.set('auth', a.timeout, () => this.lost(this.err('AUTH_TIMEOUT')));
        else this.ready();
      },
      'AUTH_ERROR',
    );
  }

  /** Authenticated: the order on open from step 3 on. */
  private ready(): void {
    const h = this.o.heartbeat;
    this.timers.clear('auth');
    if (h)
      (this.hb ??= new Heartbeat(
        h,
        () => {
          // straight to the socket: a ping is not app data for the queue or plugins
          try {
            this.write(this.encode(value(h.message as Out)));
          } catch (e) {
            this.fail(e as WebSocketClientError);
          }
        },
        () => this.lost(this.err('HEARTBEAT_TIMEOUT')),
      )).start();
    this.direct = true;
    this.set('open');
    for (const p of this.plugins) p.open?.();
    this.direct = false;
    this.flush();
  }

  private receive(data: unknown): void {
    const { auth: a, heartbeat: h, typeKey } = this.o;
    let msg: In;
    try {
      msg = this.o.deserialize(data) as In;
    } catch (e) {
      return this.fail(this.err('PARSE_ERROR', undefined, data, e));
    }
    const type = (msg as Record<string, unknown> | null)?.[typeKey];
    if (typeof type !== 'string') return this.fail(this.err('INVALID_MESSAGE', `message without a string "${typeKey}"`, msg));
    this.log('recv', type);
    if (a?.isRejection?.(msg)) {
      this.teardown(1000);
      return this.rejected({ code: 1000, reason: 'auth rejected', wasClean: true }, msg);
    }
    if (this.plugins.some((p) => p.message?.(msg) === false)) return;
    if (h && this.hb) {
      const pong = h.isPong(msg);
      const rtt = (pong || h.anyMessage) && this.hb.alive(pong);
      if (typeof rtt === 'number') this.emit('latency', rtt);
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

  /** The client itself noticed the connection is no good. */
  private lost(e: WebSocketClientError): void {
    this.drop({ code: 1006, reason: e.code, wasClean: false }, e);
  }

  /** A connection the app did not close has gone: reconnect, or stop when that is pointless. */
  private drop(closed: CloseInfo, e?: WebSocketClientError): void {
    const r = this.o.reconnect;
    const info: CloseInfo = { code: closed.code, reason: closed.reason, wasClean: !!closed.wasClean };
    this.teardown(4000, info.reason);
    if (e) this.fail(e);
    this.log('closed', info.code, info.reason);
    // a connection that stayed up long enough starts the count (and the auth retry) afresh
    if (r && this.openedAt && Date.now() - this.openedAt >= r.resetAfter) {
      this.attempt = 0;
      this.authRetried = false;
    }
    this.openedAt = 0;
    if (this.o.authFailureCodes.includes(info.code)) return this.rejected(info, info);
    if (!r || !(r.shouldReconnect ? r.shouldReconnect(info, this.attempt) : !r.fatalCloseCodes.includes(info.code)))
      return this.end(info);
    if (this.attempt >= r.maxAttempts) return this.end(info, this.err('MAX_ATTEMPTS', `gave up after ${this.attempt} attempts`, info));
    this.retry(info);
  }

  /**
   * Credentials refused. Final, unless the auth factory now yields different credentials:
   * then exactly one retry, never a loop against a server that keeps refusing.
   */
  private rejected(info: CloseInfo, data: unknown): void {
    const m = this.o.auth?.message;
    const e = this.err('AUTH_REJECTED', undefined, data);
    if (typeof m !== 'function' || this.authRetried) return this.end(info, e);
    this.authRetried = true;
    this.fail(e);
    this.retry(info, (this.nextAuth = Promise.resolve().then(m as () => Out)));
  }

  /**
   * Wait the backoff delay (stretched while hidden; not at all while offline), then open.
   * After a refusal the wait starts once the fresh credentials are in hand, so the retry sends
   * them at once; the same credentials again end it.
   */
  private retry(closeInfo: CloseInfo, fresh?: Promise<Out>): void {
    const r = this.o.reconnect as Exclude<Resolved<In, Out>['reconnect'], false>;
    const g = globalThis as { document?: Document; navigator?: Navigator };
    const delay = backoff(++this.attempt, r) * (g.document?.hidden ? r.hiddenFactor : 1);
    const wait = () => this.timers.set('retry', delay, () => this.open());
    if (g.navigator?.onLine === false) return this.set('reconnecting', { closeInfo });
    this.set('reconnecting', { delay, closeInfo });
    if (!fresh) return wait();
    // the refusal is reported already
    this.later(() => fresh, (next) => (this.encode(next) === this.authFrame ? this.end(closeInfo) : wait()), 'AUTH_ERROR');
  }

  /** Network back, page shown or restored: reconnect now if waiting, else verify the connection. */
  private wake(reset: boolean): void {
    if (this.state === 'open') return this.hb?.verify();
    if (this.state !== 'reconnecting' || (globalThis as { navigator?: Navigator }).navigator?.onLine === false) return;
    if (reset) this.attempt = 0;
    this.open();
  }

  /** Terminal: no socket, no timer, no page listener; state `closed`. */
  private end(closeInfo?: CloseInfo, e?: WebSocketClientError, code?: number): void {
    this.teardown(code, closeInfo?.reason);
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

  /** Runs a (possibly async) step; its result is dropped if the socket it was for is gone meanwhile. */
  private later<T>(step: () => T | Promise<T>, then: (v: T) => void, code: ErrorCode): void {
    const gen = this.gen;
    Promise.resolve()
      .then(step)
      .then((v) => gen === this.gen && then(v))
      .catch(
        (e) => gen === this.gen && this.lost(e instanceof WebSocketClientError ? e : this.err(code, undefined, undefined, e)),
      );
  }

  // ---- data ----

  private encode(msg: Out): unknown {
    let data: unknown;
    try {
      data = this.o.serialize(msg);
    } catch (e) {
      throw this.err('SERIALIZE_ERROR', undefined, msg, e);
    }
    if (data === undefined) throw this.err('SERIALIZE_ERROR', undefined, msg);
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
    if (!q || this.state !== 'open') return;
    q.expire(Date.now());
    while (q.items.length) {
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
      name === 'error'
        ? this.o.logger.warn('[resilient-ws] error listener threw', e)
        : this.fail(this.err('HANDLER_ERROR', `a ${name} listener threw`, args[0], e)),
    );
  }

  /** Report an error; never nowhere. */
  private fail(e: WebSocketClientError): void {
    if (this.events.all.get('error')?.length) this.emit('error', e);
    else this.o.logger.warn('[resilient-ws]', e);
  }

  private err(code: ErrorCode, message?: string, data?: unknown, cause?: unknown): WebSocketClientError {
    return new WebSocketClientError(code, message, data, cause);
  }

  private log(...args: unknown[]): void {
    if (this.o.debug) this.o.logger.debug?.('[resilient-ws]', ...args);
  }
}
