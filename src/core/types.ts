/** The shape every message has: a string `type` and any other fields. */
export interface Message {
  /** what the message is; handlers are chosen by it */
  type: string;
  [key: string]: unknown;
}

/** Where the client is in its life. */
export type State = 'idle' | 'connecting' | 'authenticating' | 'open' | 'reconnecting' | 'closing' | 'closed';

/** What `send` did with a message. */
export type SendResult = 'sent' | 'queued' | 'dropped';

/** How a socket closed. */
export interface CloseInfo {
  /** the close code (1006 when the client noticed the failure itself) */
  code: number;
  /** the close reason (the error code when the client noticed the failure itself) */
  reason: string;
  /** whether the closing handshake completed */
  wasClean: boolean;
}

/** Passed to `onStateChange` listeners with the new state. */
export interface StateDetail {
  /** consecutive reconnect attempts so far (the one about to run, for `reconnecting`) */
  attempt: number;
  /** ms until the next attempt, for `reconnecting`; absent while waiting for the network or the page */
  delay?: number;
  /** how the last socket closed, when one did */
  closeInfo?: CloseInfo;
}

/** A value, or a (possibly async) function that returns one. */
export type Factory<T> = T | (() => T | Promise<T>);

/** The part of a WebSocket the client uses: the browser's class, `ws`, mock-socket all fit. */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed */
  readonly readyState: number;
  /** bytes handed to `send` and not yet on the network */
  readonly bufferedAmount: number;
  /** how binary frames arrive */
  binaryType: string;
  /** the socket opened */
  // biome-ignore lint/suspicious/noExplicitAny: event types differ between implementations
  onopen: ((ev: any) => void) | null;
  /** the socket closed, with `code`, `reason`, `wasClean` */
  // biome-ignore lint/suspicious/noExplicitAny: event types differ between implementations
  onclose: ((ev: any) => void) | null;
  /** a frame arrived, as `data` */
  // biome-ignore lint/suspicious/noExplicitAny: event types differ between implementations
  onmessage: ((ev: any) => void) | null;
  /** something failed; a close event follows */
  // biome-ignore lint/suspicious/noExplicitAny: event types differ between implementations
  onerror: ((ev: any) => void) | null;
  /** write a frame */
  // biome-ignore lint/suspicious/noExplicitAny: each implementation accepts its own data types
  send(data: any): void;
  /** start the closing handshake; throws for a code or reason the protocol refuses */
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Reconnect policy. */
export interface ReconnectOptions {
  /**
   * Base delay of the first reconnect attempt, ms; the first attempt comes at a random moment
   * within it (see `jitter`), on average after half of it. @default 2500
   */
  initialDelay?: number;
  /** Upper bound of any delay, ms. @default 30000 */
  maxDelay?: number;
  /** Growth of the delay per attempt. @default 1.5 */
  factor?: number;
  /**
   * Share (0–1) of each delay that is random: the delay is drawn from `[d·(1−jitter), d]`, so
   * clients dropped together do not return together. The first attempt is drawn from all of
   * `[0, d]` unless `jitter` is 0. @default 0.5
   */
  jitter?: number;
  /** Consecutive reconnect attempts before giving up with `MAX_ATTEMPTS`. @default Infinity */
  maxAttempts?: number;
  /** Uptime, ms, after which a connection counts as stable and `attempt` resets to 0. @default 5000 */
  resetAfter?: number;
  /**
   * Decides whether to reconnect after a close the client did not ask for.
   * Replaces the `fatalCloseCodes` check. @default undefined
   */
  shouldReconnect?: (closeInfo: CloseInfo, attempt: number) => boolean;
  /** Close codes that are never retried. @default [1008] */
  fatalCloseCodes?: number[];
  /**
   * Delays are multiplied by this while the page is hidden, so that thousands of background
   * tabs do not stampede a server that just restarted; showing the page reconnects at once.
   * @default 4
   */
  hiddenFactor?: number;
}

/** App-level heartbeat. */
export interface HeartbeatOptions<In = Message, Out = Message> {
  /** Quiet time after the last pong before the next ping, ms. @default 25000 */
  interval?: number;
  /** Time a ping may go unanswered before the connection is declared dead, ms. @default 10000 */
  timeout?: number;
  /** The ping: a message or a function that makes one. @default { type: 'ping' } */
  message?: Out | (() => Out);
  /** Recognises the answer. @default msg => msg.type === 'pong' */
  isPong?: (msg: In) => boolean;
  /** Count any incoming message as proof of life, not only pongs. @default false */
  anyMessage?: boolean;
  /** Also deliver pongs to `on('pong')` and `'*'` handlers. @default false */
  dispatchPongs?: boolean;
}

/** Authentication by first message. */
export interface AuthOptions<In = Message, Out = Message> {
  /** The auth message, or a (possibly async) factory called afresh on every open. */
  message: Factory<Out>;
  /** Recognises the server's acceptance; when set, nothing else is sent until it arrives. */
  isAck?: (msg: In) => boolean;
  /** Recognises the server's refusal (`AUTH_REJECTED`). */
  isRejection?: (msg: In) => boolean;
  /** Time to wait for the ack, ms (`AUTH_TIMEOUT`). @default 10000 */
  timeout?: number;
}

/** The offline queue. */
export interface QueueOptions {
  /** Most messages held. @default 1000 */
  maxSize?: number;
  /** Most bytes held (UTF-8 size of the serialised frames). @default Infinity */
  maxBytes?: number;
  /** What gives when full: the oldest message, the new one, or `send` throws `QUEUE_OVERFLOW`. @default 'drop-oldest' */
  overflow?: 'drop-oldest' | 'drop-newest' | 'throw';
  /** A message queued longer than this, ms, is dropped (`QUEUE_EXPIRED`) instead of sent stale. @default Infinity */
  ttl?: number;
}

/** Where debug output and unheard errors go. */
export interface Logger {
  /** debug output, with `debug: true` */
  debug?(...args: unknown[]): void;
  /** errors nobody listens to */
  warn(...args: unknown[]): void;
  /** notes that are advice, not failures (a server that does not answer pings); absent: `warn` */
  info?(...args: unknown[]): void;
}

/** One endpoint: a URL, or a (possibly async) factory of one, called on every connect that uses it. */
export type UrlSource = string | URL | (() => string | URL | Promise<string | URL>);

/** Everything a {@link WebSocketClient} can be told. Only `url` is required. */
export interface ClientOptions<In = Message, Out = Message> {
  /**
   * The endpoint, or a (possibly async) factory evaluated on every connect. `http(s):` becomes `ws(s):`.
   *
   * A list is failover: the first connection goes to the first entry; every later attempt (after
   * an attempt failed or a connection was lost) to the next one, round the list. A connection
   * that works is kept for as long as it lives. Entries may be factories too.
   * @default undefined (required)
   */
  url: UrlSource | UrlSource[];
  /** Sub-protocols to offer. @default undefined */
  protocols?: string | string[];
  /** How binary frames arrive. @default 'arraybuffer' */
  binaryType?: 'arraybuffer' | 'blob';
  /** The WebSocket class to use. @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor;
  /** Connect on construction. @default true */
  autoConnect?: boolean;
  /** A socket still connecting after this many ms is abandoned (`CONNECT_TIMEOUT`) and retried. @default 10000 */
  connectTimeout?: number;
  /** Reconnect policy, or `false` to never reconnect. @default {} (on, with the defaults above) */
  reconnect?: ReconnectOptions | false;
  /** Heartbeat, or `false` for none. @default {} (on: ping every 25 s, 10 s to answer) */
  heartbeat?: HeartbeatOptions<In, Out> | false;
  /** The first message of every connection: a message, a factory, or {@link AuthOptions}. @default undefined */
  auth?: Factory<Out> | AuthOptions<In, Out>;
  /** Close codes that mean "credentials refused" (`AUTH_REJECTED`). @default [4001, 4002, 4003, 4401, 4403] */
  authFailureCodes?: number[];
  /** Offline queue limits, or `false` to drop what cannot be sent now. @default {} */
  queue?: QueueOptions | false;
  /** While the socket buffers more than this many bytes, sends wait in the queue. @default 1048576 */
  highWaterMark?: number;
  /** Turns a message into a frame. @default JSON.stringify */
  serialize?: (msg: Out) => string | ArrayBuffer | ArrayBufferView | Blob;
  /** Turns a frame into a message. @default JSON.parse of text frames */
  deserialize?: (data: unknown) => unknown;
  /** The field that names a message's type. @default 'type' */
  typeKey?: string;
  /** Where debug output and errors nobody listens to go. @default console */
  logger?: Logger;
  /** Log state changes and frames through `logger.debug` (auth messages never). @default false */
  debug?: boolean;
  /** Listen to online/offline, visibility and back/forward-cache events. @default true */
  pageEvents?: boolean;
}
