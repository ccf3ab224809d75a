import { backoff } from './backoff';
import { type ErrorCode, WebSocketClientError } from './errors';
import { type Heartbeat, heartbeat } from './heartbeat';
import { checkUrl, type Resolved, resolveOptions } from './options';
import { watchPage } from './page';
import { type Queue, type Queued, type QueueLimits, queue } from './queue';
import type { ClientOptions, CloseInfo, Message, SendResult, State, StateDetail, WebSocketLike } from './types';

/** A message whose `type` is `T`. */
export interface OfType<T> {
  /** the type */
  type: T;
}

/** The message of type `T` out of the union `In`; `In` itself when the union does not name `T`. */
export type MessageOf<In extends Message, T> = [Extract<In, OfType<T>>] extends [never] ? In : Extract<In, OfType<T>>;

/**
 * Handler of messages of type `T`: `'*'` gets every message that has a type, `'?'` every
 * valid message without one (any JSON value: `{ "error": "…" }`, an array, a number).
 */
export type MessageHandler<In extends Message, T> = (
  msg: T extends '*' ? In : T extends '?' ? unknown : MessageOf<In, T>,
) => void;

/**
 * A plugin hooks into the client's data path. Opt-in features (delivery guarantees,
 * request/response) are built on it, so apps that do not use them do not pay for them.
 */
export interface ClientPlugin<In extends Message = Message, Out = Message> {
  /** Runs on every open after auth and the `open` listeners, before the queue flushes; what it sends goes first. */
  open?(): void;
  /**
   * Sees every outgoing message (and `send`'s options) before it is serialised; returns the one
   * to send, or `undefined` to refuse it: `send()` then returns `'dropped'` and the plugin reports why.
   */
  send?(msg: Out, opts?: { queue?: boolean }): Out | undefined;
  /**
   * A frame of this message was handed to the socket. Return `true` to take over re-sending
   * it: the client then never puts it back in its queue itself (which it does for what a
   * refused connection swallowed and for frames a dying socket still held unsent, see the
   * README's "What can be lost"), so a plugin that re-sends on `open` (as delivery does) never
   * makes it go out twice.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a hook that returns nothing (void) must still fit
  sent?(msg: Out): boolean | void;
  /**
   * Sees every valid incoming message before the handlers; returning `false` keeps it from the
   * handlers (the other plugins still see it).
   */
  message?(msg: In): boolean | undefined;
  /** The app closed or disposed the client. */
  close?(): void;
}

// The client's own events share one map of handler lists with the message handlers. Their
// keys are symbols, so no message type (a string) can ever reach a lifecycle listener, or back.
const STATE = Symbol();
const ERROR = Symbol();
const LATENCY = Symbol();

/** A value, or what a function given in its place returns. */
const value = <T>(v: T | (() => T)): T => (typeof v === 'function' ? (v as () => T)() : v);

/** Bytes of a frame (UTF-8 for text), for `queue.maxBytes`: a Blob measures every kind a socket sends. */
const size = (data: unknown): number => new Blob([data as BlobPart]).size;

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

  private _o: Resolved<In, Out>;
  private _ws?: WebSocketLike;
  private _q?: Queue<Out>;
  private _hb?: Heartbeat;
  /** message handlers by type, and the client's own listeners under symbols (see STATE) */
  private _handlers = new Map<string | symbol, ((a: unknown, b?: unknown) => void)[]>();
  /**
   * The one pending phase timer: connect timeout, auth timeout, reconnect wait or queue drain.
   * The phases never overlap, so one slot is enough, and the close path clears it.
   */
  private _timer?: ReturnType<typeof setTimeout>;
  private _plugins: ClientPlugin<In, Out>[] = [];
  /** bumped whenever a socket is torn down, so a late async step knows it is stale */
  private _gen = 0;
  /** when the current connection opened; unset or 0 while none is */
  private _openedAt?: number;
  /** while `open` listeners and plugins run, sends skip the queue (the order on open) */
  private _direct?: boolean;
  /** holds in force (see `hold`): new sends wait in the queue */
  private _held = 0;
  private _unwatch?: () => void;
  /** the auth frame last written */
  private _authFrame?: unknown;
  /** the one retry after a refusal is used */
  private _authRetried?: boolean;
  /** fresh credentials being fetched after a refusal, for the next open */
  private _nextAuth?: Promise<Out>;
  /**
   * Frames written on this connection that may still have to be sent again, oldest first from
   * `_rh`: every frame while the connection is `_young`, then only those the socket may still
   * hold. `c` of each is `_rn`, a running lower bound of the bytes written, after it.
   * `msg` is unset for frames never to be re-sent (auth, pings, `queue: false`, a plugin's own).
   */
  private _rec: (Queued<Out> & { c?: number })[] = [];
  private _rh = 0;
  private _rn = 0;
  /** the URL of the current connection */
  private _url?: string;
  /** the URL of the server that last answered a ping: only its silence is proof of death */
  private _proven?: string;
  /** the last ping frame, to recognise it coming back from an echo server or a relay */
  private _ping?: unknown;
  /** the missing-pong warning was given */
  private _warned?: boolean;
  private _disposed?: boolean;

  /** attempts so far, for the entry of a `url` list */
  private _u = 0;

  /**
   * `new WebSocketClient({ url, ...options })`. With `autoConnect`, connects in a microtask, so
   * listeners attached in the same task see every state from `connecting` on.
   * @throws {@link WebSocketClientError} `INVALID_OPTIONS`, naming the option
   */
  constructor(options: ClientOptions<In, Out>);
  /**
   * `new WebSocketClient(url, options?)`, as `new WebSocket(url)`: the url (or url factory) first.
   * @throws {@link WebSocketClientError} `INVALID_OPTIONS`, naming the option
   */
  constructor(url: ClientOptions<In, Out>['url'], options?: Omit<ClientOptions<In, Out>, 'url'>);
  constructor(
    options: ClientOptions<In, Out> | ClientOptions<In, Out>['url'],
    rest?: Omit<ClientOptions<In, Out>, 'url'>,
  ) {
    const o = (this._o = resolveOptions(options, rest));
    if (o.queue) this._q = queue<Out>(o.queue, (e) => this.report(e));
    // not if `connect()` or `close()` came first
    if (o.autoConnect) queueMicrotask(() => this.state === 'idle' && this.connect());
  }

  /** The native `readyState` of the current socket; `WebSocket.CLOSED` (3) when there is none. */
  get readyState(): number {
    return this._ws?.readyState ?? 3;
  }

  /** Messages waiting in the queue. */
  get queued(): number {
    return this._q?.length ?? 0;
  }

  /** Round trip of the last heartbeat, ms. */
  get latency(): number | undefined {
    return this._hb?.latency;
  }

  /** The options in force, every default filled in (read-only): what modules read, such as `typeKey` and `auth`. */
  get options(): Readonly<Resolved<In, Out>> {
    return this._o;
  }

  /**
   * Start, or restart after `close()`. While waiting to reconnect: now. Otherwise does nothing.
   * @throws {@link WebSocketClientError} `DISPOSED` after `dispose()`
   */
  connect(): void {
    const s = this.state;
    if (this._disposed) throw new WebSocketClientError('DISPOSED', __DEV__ ? 'connect() after dispose()' : undefined);
    if (s === 'reconnecting') return this._open();
    if (s !== 'idle' && s !== 'closed') return;
    if (this._o.pageEvents)
      // from idle or closed, so none is attached: `_end` removed the last ones
      this._unwatch = watchPage({
        back: () => this._wake(true),
        offline: () => this._hb?.verify(),
        visible: () => this._wake(false),
        freeze: () => {
          // what the socket still holds dies with it, as on any other close: back to the queue
          this._back(false);
          this._teardown(1000);
          this._set('reconnecting');
        },
      });
    this.attempt = 0;
    this._authRetried = false;
    this._open();
  }

  /**
   * Close and stay closed: no reconnect, no timer left. The queue is kept for a later `connect()`.
   * @param code - 1000 or 3000–4999
   * @param reason - at most 123 bytes
   * @throws the socket's own error for a code or reason it refuses; nothing changes then
   */
  close(code = 1000, reason = ''): void {
    // the socket checks the code and the reason first, and throws before anything here changes
    this._ws?.close(code, reason);
    if (this._ws) this._set('closing');
    for (const p of this._plugins) p.close?.();
    this._end({ code, reason, wasClean: true });
  }

  /**
   * `close()`, then drop the queue and every listener, handler and plugin; final: `send()`
   * afterwards is `'dropped'` and `connect()` throws. What the queue held is reported
   * (`DISPOSED`, the message as `data`) before the listeners go.
   */
  dispose(): void {
    this.close();
    this._disposed = true;
    const q = this._q;
    while (q?.length) this._gone(q.shift()!.msg);
    this._handlers.clear();
    this._plugins = [];
  }

  /**
   * Serialise now; send when open (and authenticated), otherwise queue.
   * @param opts.queue - `false`: send now or drop, never replay later
   * @throws {@link WebSocketClientError} `SERIALIZE_ERROR` (nothing is queued), or `QUEUE_OVERFLOW` with `overflow: 'throw'`
   */
  send(msg: Out, opts?: { queue?: boolean }): SendResult {
    if (this._disposed) return this._gone(msg);
    for (const p of this._plugins) if (p.send && (msg = p.send(msg, opts) as Out) === undefined) return 'dropped';
    const data = this._encode(msg);
    const q = this._q;
    const open = this.state === 'open';
    const now = opts?.queue === false;
    const item = { data, msg, at: Date.now(), size: 0, c: 0 };
    // on open, what listeners and plugins send goes first, past a full buffer too: queued behind
    // the waiting messages it would lose its place (a bounded set: re-sends, a re-join). A
    // `queue: false` send is never queued, so it takes no waiting message's place: while open
    // it goes now, past a hold and the queue, unless the socket's buffer is full.
    if ((this._direct && open) || (open && (now || !(this.queued || this._held)) && !this._busy())) {
      this._write(item, !now);
      return 'sent';
    }
    if (now || !q) return 'dropped';
    if ((this._o.queue as QueueLimits).maxBytes < Infinity) item.size = size(data);
    // open: only the socket's buffer is full for now, and a burst is never dropped for that
    const r = q.push(item, open);
    this._flush();
    return r;
  }

  /**
   * Handle messages of one type (narrowed), `'*'` for every typed message, or `'?'` for valid
   * messages without a string type (which are reported as `INVALID_MESSAGE` only while no
   * `'?'` handler is registered). Returns the unsubscribe function.
   */
  on<T extends In['type'] | '*' | '?'>(type: T, handler: MessageHandler<In, T>): () => void {
    return this._listen(type, handler);
  }

  /** Like `on`, for the next message of that type only. */
  once<T extends In['type'] | '*' | '?'>(type: T, handler: MessageHandler<In, T>): () => void {
    const off = this.on(type, ((msg: never) => {
      off();
      (handler as (m: never) => void)(msg);
    }) as MessageHandler<In, T>);
    return off;
  }

  /** Remove a handler added with `on`. */
  off<T extends In['type'] | '*' | '?'>(type: T, handler: MessageHandler<In, T>): void {
    const l = this._handlers.get(type)?.slice();
    // `>>> 0` turns "not found" (-1) into an index past the end: nothing is removed
    l?.splice(l.indexOf(handler as never) >>> 0, 1);
    // a new list, never the one a dispatch may be running over (see `_emit`)
    if (l) this._handlers.set(type, l);
  }

  /** Listen to state changes. Returns the unsubscribe function. */
  onStateChange(listener: (state: State, detail: StateDetail) => void): () => void {
    return this._listen(STATE, listener);
  }

  /** Listen to errors. Without any listener, errors go to `logger.warn`. Returns the unsubscribe function. */
  onError(listener: (error: WebSocketClientError) => void): () => void {
    return this._listen(ERROR, listener);
  }

  /** Listen to heartbeat round trips, ms. Returns the unsubscribe function. */
  onLatency(listener: (ms: number) => void): () => void {
    return this._listen(LATENCY, listener);
  }

  /**
   * Hold what is sent from now on in the queue, for a plugin that has something to send first
   * (an outbox reading what an earlier page load left). Returns the function that ends the
   * hold, to be called once: it runs `first`, whose sends go straight to the socket while open,
   * ahead of what was held, then lets the queue flush.
   */
  hold(): (first: () => void) => void {
    this._held++;
    return (first) => {
      this._held--;
      this._direct = true;
      first();
      this._direct = false;
      this._flush();
    };
  }

  /** Plug a feature into the data path. Returns the function that removes it. */
  use(plugin: ClientPlugin<In, Out>): () => void {
    this._plugins.push(plugin);
    return () => {
      this._plugins = this._plugins.filter((p) => p !== plugin);
    };
  }

  // ---- connection ----

  private _open(): void {
    const o = this._o;
    const WS = o.WebSocket ?? (globalThis as { WebSocket?: ClientOptions['WebSocket'] }).WebSocket;
    this._gen++;
    this._wait();
    this._set('connecting');
    if (!WS)
      return this._end(
        undefined,
        new WebSocketClientError('NO_WEBSOCKET', __DEV__ ? 'set options.WebSocket' : undefined),
      );
    this._later(
      // a list: round it, one step per attempt after the first (see `url`)
      () => value(Array.isArray(o.url) ? o.url[this._u++ % o.url.length] : o.url),
      (url) => {
        const ws = (this._ws = new WS((this._url = checkUrl(url)), o.protocols));
        ws.binaryType = o.binaryType;
        ws.onopen = () => this._opened();
        ws.onmessage = (e: { data: unknown }) => this._receive(e.data);
        ws.onclose = (e: CloseInfo) => this._drop(e);
        ws.onerror = () => {}; // a close event follows; `ws` in Node throws on an unheard error
        this._wait(o.connectTimeout, () => this._lost(new WebSocketClientError('CONNECT_TIMEOUT')));
      },
      'CONNECT_ERROR',
    );
  }

  private _opened(): void {
    const a = this._o.auth;
    const next = this._nextAuth;
    this._wait();
    this._openedAt = Date.now();
    this._authFrame = undefined; // only ever the frame sent on this connection
    if (!a) return this._ready();
    this._set('authenticating');
    this._nextAuth = undefined;
    this._later(
      () => next ?? value(a.message as Out),
      (m) => {
        this._write({ data: (this._authFrame = this._encode(m)) } as Queued<Out>);
        if (a.isAck) this._wait(a.timeout, () => this._lost(new WebSocketClientError('AUTH_TIMEOUT')));
        else this._ready();
      },
      'AUTH_ERROR',
    );
  }

  /** Authenticated: the order on open from step 3 on. */
  private _ready(): void {
    const h = this._o.heartbeat;
    this._wait();
    if (h)
      // a server not yet known to answer pings gets one at once (a probe), then only its answer
      // starts the cycle: a missing pong is proof of death only from a server that answers them
      (this._hb ??= heartbeat(
        h,
        () => {
          // straight to the socket: a ping is not app data for the queue or plugins
          try {
            this._write({
              data: (this._ping = this._encode(value(h.message ?? ({ [this._o.typeKey]: 'ping' } as Out)))),
            } as Queued<Out>);
          } catch (e) {
            this.report(e as WebSocketClientError);
          }
        },
        () => {
          const e = `no pong within ${h.timeout} ms`;
          // silence from a server that answers pings: the connection is dead; it proves itself again
          if (this._proven === this._url) {
            this._proven = undefined;
            return this._lost(new WebSocketClientError('HEARTBEAT_TIMEOUT', e));
          }
          this._hb!.stop();
          if (!this._warned) {
            // advice, not a failure: the connection works; error listeners get it as they always
            // did, and without them it is a note at info level, in words, not an Error
            const note = `${e}: kept unchecked${
              __DEV__
                ? '. Normal for a server that does not answer pings (an echo server, say): the connection stays open and works; only a silent drop goes unnoticed until the browser reports it. To check it, set heartbeat.message/isPong to this server’s ping and pong, or heartbeat.anyMessage for a server that talks often; heartbeat: false stops the ping and this note'
                : ''
            }`;
            if (this._handlers.get(ERROR)?.length) this.report(new WebSocketClientError('HEARTBEAT_TIMEOUT', note));
            else this._warn(note, true);
          }
          this._warned = true;
        },
      )).start(this._proven !== this._url);
    this._direct = true;
    this._set('open');
    for (const p of this._plugins) p.open?.();
    this._direct = false;
    this._flush();
  }

  private _receive(data: unknown): void {
    const { auth: a, heartbeat: h, typeKey } = this._o;
    // our own ping coming back (an echo server, a relay) is no message for the app, unless
    // this server answers pings (then an equal frame is its own) or the app's `isPong` claims
    // it (a relay's echo of our ping proves the whole path alive)
    const echo = data === this._ping && this._proven !== this._url;
    let msg: In;
    try {
      msg = this._o.deserialize(data) as In;
    } catch (e) {
      return this.report(new WebSocketClientError('PARSE_ERROR', undefined, data, e));
    }
    if (echo && !(h ? h.isPong?.(msg) : 0)) return;
    const type = (msg as Record<string, unknown> | null)?.[typeKey];
    if (typeof type !== 'string') {
      if (this._handlers.get('?')?.length) return this._emit('?', msg);
      return this.report(
        new WebSocketClientError('INVALID_MESSAGE', __DEV__ ? `no string "${typeKey}" (see on('?'))` : undefined, msg),
      );
    }
    this._log('recv', type);
    if (a?.isRejection?.(msg)) {
      this._back(true);
      this._teardown(1000);
      return this._rejected({ code: 1000, reason: 'AUTH_REJECTED', wasClean: true }, msg);
    }
    // every plugin sees every message (one may need what another consumes, as an outbox needs acks)
    let consumed = false;
    for (const p of this._plugins) if (p.message?.(msg) === false) consumed = true;
    if (consumed) return;
    if (h && this._hb) {
      const pong = h.isPong ? h.isPong(msg) : type === 'pong';
      if (pong || h.anyMessage) {
        this._proven = this._url;
        const rtt = this._hb.alive(pong);
        if (rtt !== undefined) this._emit(LATENCY, rtt);
      }
      if (pong && !h.dispatchPongs) return;
    }
    if (this.state === 'authenticating' && a?.isAck?.(msg)) {
      this._authRetried = false;
      this._ready();
    }
    this._emit(type, msg);
    this._emit('*', msg);
  }

  // ---- the one close path ----

  /** The client itself noticed the connection is no good. */
  private _lost(e: WebSocketClientError): void {
    this._drop({ code: 1006, reason: e.code, wasClean: false }, e);
  }

  /** A connection the app did not close has gone: reconnect, or stop when that is pointless. */
  private _drop(closed: CloseInfo, e?: WebSocketClientError): void {
    const r = this._o.reconnect;
    const info: CloseInfo = { code: closed.code, reason: closed.reason, wasClean: !!closed.wasClean };
    const refused = this._o.authFailureCodes.includes(info.code);
    this._back(refused);
    this._teardown(4000, info.reason);
    if (e) this.report(e);
    // a connection that stayed up long enough starts the count (and the auth retry) afresh
    if (r && this._openedAt && Date.now() - this._openedAt >= r.resetAfter) {
      this.attempt = 0;
      this._authRetried = false;
    }
    this._openedAt = 0;
    if (refused) return this._rejected(info, info);
    if (!r || !(r.shouldReconnect ? r.shouldReconnect(info, this.attempt) : !r.fatalCloseCodes.includes(info.code)))
      return this._end(info);
    if (this.attempt >= r.maxAttempts)
      return this._end(info, new WebSocketClientError('MAX_ATTEMPTS', undefined, info));
    this._retry(info);
  }

  /**
   * Credentials refused. Final, unless the auth factory now yields different credentials:
   * then exactly one retry, never a loop against a server that keeps refusing.
   */
  private _rejected(info: CloseInfo, data: unknown): void {
    const m = this._o.auth?.message;
    const e = new WebSocketClientError('AUTH_REJECTED', undefined, data);
    if (typeof m !== 'function' || this._authRetried) return this._end(info, e);
    this._authRetried = true;
    this.report(e);
    this._retry(info, (this._nextAuth = Promise.resolve().then(m as () => Out)));
  }

  /**
   * Wait the backoff delay (stretched while hidden; not at all while offline), then open.
   * After a refusal the wait starts once the fresh credentials are in hand, so the retry sends
   * them at once; the same credentials again end it.
   */
  private _retry(closeInfo: CloseInfo, fresh?: Promise<Out>): void {
    const r = this._o.reconnect as Exclude<Resolved<In, Out>['reconnect'], false>;
    const g = globalThis as { document?: Document; navigator?: Navigator };
    const delay = backoff(++this.attempt, r) * (g.document?.hidden ? r.hiddenFactor : 1);
    const wait = () => this._wait(delay, () => this._open());
    if (g.navigator?.onLine === false) return this._set('reconnecting', { closeInfo });
    this._set('reconnecting', { delay, closeInfo });
    if (!fresh) return wait();
    // the refusal is reported already
    this._later(
      () => fresh,
      (next) => (this._encode(next) === this._authFrame ? this._end(closeInfo) : wait()),
      'AUTH_ERROR',
    );
  }

  /** Network back, page shown or restored: reconnect now if waiting, else verify the connection. */
  private _wake(reset: boolean): void {
    if (this.state === 'open') return this._hb?.verify();
    if (this.state !== 'reconnecting' || (globalThis as { navigator?: Navigator }).navigator?.onLine === false) return;
    if (reset) this.attempt = 0;
    this._open();
  }

  /** Terminal: no socket, no timer, no page listener; state `closed`. The socket is closed already, or gone. */
  private _end(closeInfo?: CloseInfo, e?: WebSocketClientError): void {
    this._teardown();
    this._unwatch?.(); // removing twice (close, then dispose) is harmless
    if (e) this.report(e);
    this._set('closed', { closeInfo });
  }

  /**
   * The connection died (not by `close()`): put back at the head of the queue, in order, what
   * it may not have delivered. After a refusal (`refused`) while `_young`: everything written
   * on it, since the server discarded it. Otherwise the frames the socket still held unsent:
   * the newest ones, back to the first whose successors' bytes do not cover its
   * `bufferedAmount`. Bytes are counted as UTF-16 length, exact for ASCII text (JSON mostly
   * is); other text counts short, so a frame already sent may be sent again, never lost.
   */
  private _back(refused: boolean): void {
    const b = refused && this._young() ? Infinity : (this._ws?.bufferedAmount ?? 0);
    // held: fewer bytes were written after it than the socket still holds (see `_write`)
    const list = this._rec.filter((x) => x.msg && this._rn - x.c! < b);
    // `_teardown`, which always follows, empties the record
    this._q
      ? this._q.back(list)
      : list.map((x) => this.report(new WebSocketClientError('QUEUE_OVERFLOW', undefined, x.msg)));
  }

  /**
   * The connection is not yet accepted: in its first 5 s a server may still refuse the
   * credentials (closing with an auth-failure code) and discard what came after them. Only
   * when credentials were sent with no ack to wait for: without `auth` there are none to
   * refuse, and with `isAck` nothing is written before the server accepted them. (So the
   * common case keeps no frame it need not: in Node, keeping every frame of a burst for 5 s
   * cost a quarter more CPU per round trip, in the garbage collector.)
   */
  private _young(): boolean {
    const a = this._o.auth;
    return !!a && !a.isAck && Date.now() - this._openedAt! < 5000;
  }

  /** Forget the socket: detach it, close it if still up, stop every timer. */
  private _teardown(code?: number, reason?: string): void {
    const ws = this._ws;
    this._rec = [];
    this._rh = this._rn = 0;
    this._gen++;
    this._wait();
    this._hb?.stop();
    this._ws = undefined;
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
  private _later<T>(step: () => T | Promise<T>, then: (v: T) => void, code: ErrorCode): void {
    const gen = this._gen;
    Promise.resolve()
      .then(step)
      .then((v) => gen === this._gen && then(v))
      .catch(
        (e) =>
          gen === this._gen &&
          this._lost(e instanceof WebSocketClientError ? e : new WebSocketClientError(code, undefined, undefined, e)),
      );
  }

  // ---- data ----

  private _encode(msg: Out): unknown {
    let cause: unknown;
    try {
      const data = this._o.serialize(msg);
      // `JSON.stringify` returns undefined for what JSON cannot hold (undefined, a function)
      if (data !== undefined) return data;
    } catch (e) {
      cause = e;
    }
    throw new WebSocketClientError(
      'SERIALIZE_ERROR',
      cause || !__DEV__ ? undefined : 'serialize returned undefined',
      msg,
      cause,
    );
  }

  /** Writes `item`, and records it in `_rec` (to be sent again if `again` and it may be lost). */
  private _write(item: Queued<Out>, again = true): void {
    const { data, msg } = item;
    const ws = this._ws!;
    ws.send(data);
    // `msg` is absent for auth and pings: never logged, never seen by plugins
    if (msg) {
      this._log('send', data);
      for (const p of this._plugins) if (p.sent?.(msg)) again = false;
    }
    const rec = this._rec;
    const e: (typeof rec)[0] = again ? item : ({ data } as Queued<Out>);
    // a lower bound, cheaply: UTF-16 length (UTF-8 never undercuts it), element count, or bytes
    e.c = this._rn += (data as string).length ?? size(data);
    rec.push(e);
    if (this._young()) return;
    // forget what is surely out of the socket's buffer: the frames written after it cover it
    const b = ws.bufferedAmount;
    while (this._rn - (rec[this._rh]?.c as number) >= b) this._rh++;
    if (this._rh > 999 || this._rh === rec.length) {
      rec.splice(0, this._rh);
      this._rh = 0;
    }
  }

  /** Backpressure: the socket's buffer is above the high-water mark. */
  private _busy(): boolean {
    return this._ws!.bufferedAmount > this._o.highWaterMark;
  }

  /**
   * Send what waits, oldest first, pausing while the socket's buffer is full: it looks again
   * after 50 ms. (In Node the pause rarely comes: `ws` hands each frame to the kernel as it is
   * sent, so a flush of 100k frames stays under the high-water mark; see the README's bench.)
   */
  private _flush(): void {
    const q = this._q;
    if (!q || this.state !== 'open' || this._held) return;
    q.expire(Date.now());
    while (q.length) {
      if (this._busy()) return this._wait(50, () => this._flush());
      this._write(q.shift()!);
    }
  }

  /** Replace the phase timer with `fn` after `ms`; with no arguments, just clear it. */
  private _wait(ms?: number, fn?: () => void): void {
    clearTimeout(this._timer);
    if (fn) this._timer = setTimeout(fn, ms);
  }

  // ---- events ----

  private _set(state: State, detail?: Partial<StateDetail>): void {
    this.state = state;
    this._log('state', state);
    this._emit(STATE, state, { attempt: this.attempt, ...detail });
  }

  /**
   * Adds `f` under `name` (a message type or a lifecycle symbol) and returns the function that
   * removes it. The list is replaced, not changed in place (so is it by `off`): a dispatch
   * running over the old one is not disturbed, and none has to copy the list it runs over.
   */
  private _listen(name: string | symbol, f: (...args: never[]) => void): () => void {
    this._handlers.set(name, [...(this._handlers.get(name) ?? []), f as (a: unknown) => void]);
    return () => this.off(name as never, f as never);
  }

  /** `send()` after `dispose()`, or a message `dispose()` dropped from the queue: reported. */
  private _gone(msg: Out): 'dropped' {
    this.report(new WebSocketClientError('DISPOSED', __DEV__ ? 'not sent' : undefined, msg));
    return 'dropped';
  }

  /**
   * Calls the handlers of `name` with `a` (and `b`); one that throws is reported (what it got as
   * `data`, its error as `cause`), the rest still run. The list is never changed in place (see
   * `_listen`), so a handler that unsubscribes or subscribes during dispatch cannot make a
   * neighbour be skipped or called twice. The error listeners' own errors are logged, not
   * reported again: that could loop.
   */
  private _emit(name: string | symbol, a: unknown, b?: unknown): void {
    const l = this._handlers.get(name);
    if (l)
      for (const h of l)
        try {
          // only state listeners get a second argument; a handler's arguments are exactly what it is given
          b === undefined ? h(a) : h(a, b);
        } catch (e) {
          name === ERROR ? this._warn(e) : this.report(new WebSocketClientError('HANDLER_ERROR', undefined, a, e));
        }
  }

  /**
   * Report an error through the client's error channel: the `onError` listeners, or else
   * `logger.warn` — never nowhere. Plugins use it for what they drop.
   */
  report(e: WebSocketClientError): void {
    this._handlers.get(ERROR)?.length ? this._emit(ERROR, e) : this._warn(e);
  }

  /** To the logger: an error at `warn`; a `note` (advice, no failure) at `info` if it has one. */
  private _warn(x: unknown, note?: boolean): void {
    const l = this._o.logger;
    ((note && l.info) || l.warn).call(l, '[resilient-ws]', x);
  }

  private _log(what: string, x: unknown): void {
    if (this._o.debug) this._o.logger.debug?.('[resilient-ws]', what, x);
  }
}
