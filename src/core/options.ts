import { WebSocketClientError } from './errors';
import { parseJson } from './json';
import type { QueueLimits } from './queue';
import type { AuthOptions, ClientOptions, HeartbeatOptions, Logger, ReconnectOptions } from './types';

/** Options with every default filled in. */
export interface Resolved<In, Out> {
  url: ClientOptions<In, Out>['url'];
  protocols?: string | string[];
  binaryType: string;
  WebSocket?: ClientOptions<In, Out>['WebSocket'];
  autoConnect: boolean;
  connectTimeout: number;
  reconnect: false | (Required<Omit<ReconnectOptions, 'shouldReconnect'>> & Pick<ReconnectOptions, 'shouldReconnect'>);
  /** `message` and `isPong` absent: `{ [typeKey]: 'ping' }` and a `'pong'` type */
  heartbeat:
    | false
    | (Required<Omit<HeartbeatOptions<In, Out>, 'message' | 'isPong'>> &
        Pick<HeartbeatOptions<In, Out>, 'message' | 'isPong'>);
  auth?: AuthOptions<In, Out> & { timeout: number };
  authFailureCodes: number[];
  queue: false | QueueLimits;
  highWaterMark: number;
  serialize: (msg: Out) => unknown;
  deserialize: (data: unknown) => unknown;
  typeKey: string;
  logger: Logger;
  debug: boolean;
  pageEvents: boolean;
}

type Obj = Record<string, unknown>;

/**
 * `INVALID_OPTIONS` naming the option, and what it must be. Option checks are development-only
 * (written behind the development check, as React and Vue do): a production bundle keeps only
 * the url's, where a url is used.
 */
export const invalid = (name: string, want?: string | false, got?: unknown): WebSocketClientError =>
  new WebSocketClientError('INVALID_OPTIONS', `options.${name}${want ? ` ${want}` : ''}`, got);

/** Checks `url` (string or URL) and returns it as a ws:/wss: string. */
export const checkUrl = (url: unknown): string => {
  try {
    // not any value: `new URL(42, base)` would be a fine relative URL
    if (typeof url === 'string' || url instanceof URL) {
      const u = new URL(url, (globalThis as { location?: { href: string } }).location?.href);
      if (/^(ws|http)s?:$/.test(u.protocol)) return u.href.replace(/^http/, 'ws');
    }
  } catch {}
  throw invalid('url', __DEV__ && 'must be a ws(s)/http(s) URL', url);
};

// In the defaults below, the default's kind is the rule for the user's value: a number must
// be a number >= 0, a boolean a boolean, an array an array of close codes, `Function` marks
// an optional function with no default, and `undefined` takes anything.
const OPTIONAL_FN = Function;
const GROUPS: Record<string, Obj> = {
  reconnect: {
    initialDelay: 2500,
    maxDelay: 30_000,
    factor: 1.5,
    jitter: 0.5,
    maxAttempts: Infinity,
    resetAfter: 5000,
    shouldReconnect: OPTIONAL_FN,
    fatalCloseCodes: [1008],
    hiddenFactor: 4,
  },
  heartbeat: {
    interval: 25_000,
    timeout: 10_000,
    message: undefined,
    isPong: OPTIONAL_FN,
    anyMessage: false,
    dispatchPongs: false,
  },
  auth: { message: undefined, isAck: OPTIONAL_FN, isRejection: OPTIONAL_FN, timeout: 10_000 },
  queue: { maxSize: 1000, maxBytes: Infinity, overflow: 'drop-oldest', ttl: Infinity },
};
const TOP: Obj = {
  url: undefined,
  protocols: undefined,
  binaryType: 'arraybuffer',
  WebSocket: OPTIONAL_FN,
  autoConnect: true,
  connectTimeout: 10_000,
  authFailureCodes: [4001, 4002, 4003, 4401, 4403],
  highWaterMark: 1 << 20,
  serialize: JSON.stringify,
  deserialize: parseJson,
  typeKey: 'type',
  logger: undefined,
  debug: false,
  pageEvents: true,
  ...GROUPS,
};

/** Whether `a` becomes `b` in at most `n` one-letter edits (insert, delete, replace). */
const near = (a: string, b: string, n: number): boolean =>
  a === b ||
  (n > 0 &&
    (near(a.slice(1), b, n - 1) || near(a, b.slice(1), n - 1) || near(a.slice(1), b.slice(1), n - +(a[0] !== b[0]))));

/**
 * Other clients' option names (reconnecting-websocket, partysocket, react-use-websocket,
 * ReconnectingWebSocket.js, the common hand-written client: docs/migrating.md's table), each
 * line `names`, what to use here and, where the meaning differs, how. Development only, as
 * every hint: a production build drops the table.
 */
const FOREIGN: [names: string, use: string, how?: string][] = [
  [
    'reconnectInterval minReconnectionDelay',
    'reconnect.initialDelay',
    'the first wait; later ones grow by reconnect.factor, 1 for a fixed interval, up to reconnect.maxDelay',
  ],
  ['maxReconnectInterval maxReconnectionDelay', 'reconnect.maxDelay'],
  ['reconnectDecay reconnectionDelayGrowFactor', 'reconnect.factor'],
  ['maxReconnectAttempts', 'reconnect.maxAttempts', 'Infinity, not null, for no limit'],
  ['maxRetries reconnectAttempts', 'reconnect.maxAttempts'],
  ['minUptime', 'reconnect.resetAfter', 'the uptime after which attempt counts from 0 again'],
  ['retryOnError', 'reconnect', 'on by default; reconnect.shouldReconnect decides by close code'],
  ['connectionTimeout timeoutInterval', 'connectTimeout'],
  ['maxEnqueuedMessages maxQueueSize', 'queue.maxSize', 'when full, queue.overflow drops the oldest'],
  ['startClosed', 'autoConnect: false', 'then connect()'],
  ['automaticOpen', 'autoConnect'],
  ['debugLogger', 'logger', 'with debug: true'],
  ['verbose logging logLevel', 'debug', 'true: states and messages through logger.debug'],
  ['onMessage', "client.on(type, …) or client.on('*', …)"],
  ['onOpen onClose onReconnectStop', 'client.onStateChange(…)'],
  ['onError', 'client.onError(…)'],
  ['queryParams', 'url', 'a function returning the URL, called on every connect'],
  ['share', '<WebSocketProvider client>', 'one client for every component'],
  ['pingInterval', 'heartbeat.interval'],
  ['pingTimeout', 'heartbeat.timeout'],
  ['pingMessage', 'heartbeat.message'],
  ['returnMessage pongMessage', 'heartbeat.isPong', 'a function telling the answer to a ping'],
  ['keepAlive keepalive', 'heartbeat', 'on by default'],
  [
    'headers token authToken accessToken',
    'auth',
    'browsers send no headers with a WebSocket: the first message carries the token',
  ],
];

/**
 * `; did you mean reconnect.shouldReconnect?` for the unknown option `k` in group `path`: the
 * known name, top-level or in any group, fewest edits away (at most 2), looking in its own group
 * first; else another client's name as near, with ours for it; nothing when none is that near.
 */
const hint = (path: string, k: string): string => {
  for (let n = 0; n < 3; n++) {
    for (const g of [path.slice(0, -1), '', ...Object.keys(GROUPS)])
      for (const c in g ? GROUPS[g] : TOP) if (near(k, c, n)) return `; did you mean ${g ? `${g}.` : ''}${c}?`;
    for (const [names, use, how] of FOREIGN)
      for (const c of names.split(' '))
        if (near(k, c, n)) return `; ${n ? `did you mean ${c}? U` : 'u'}se ${use}${how ? ` (${how})` : ''}`;
  }
  return '';
};

/** What a value must be, by its default (for the development message); OPTIONAL_FN is a 'function'. */
const kind = (d: unknown): string =>
  Array.isArray(d) ? 'close code list' : typeof d === 'number' ? 'number >= 0' : typeof d;

/** Throws unless `v` is of the kind of its default `d` (development only). */
const check = (name: string, d: unknown, v: unknown): void => {
  if (
    d !== undefined &&
    (Array.isArray(d)
      ? !(Array.isArray(v) && v.every(Number.isInteger))
      : // biome-ignore lint/suspicious/noSelfCompare: `v !== v` (NaN) is the shortest check
        typeof v !== typeof d || (v as number) < 0 || v !== v)
  )
    throw invalid(name, `must be a ${kind(d)}`, v);
};

/** Fills `given` from `defaults`; in development, checks each value against its default's kind. */
const fill = (given: object, defaults: Obj, path: string): Obj => {
  const out: Obj = {};
  if (__DEV__) for (const k in given) if (!(k in defaults)) throw invalid(path + k, `is not an option${hint(path, k)}`);
  for (const k in defaults) {
    const d = defaults[k];
    let v = (given as Obj)[k];
    if (k in GROUPS && path === '') {
      // reconnect / heartbeat / queue: an object, or false to turn it off; auth: absent means none
      if (v === false || (v === undefined && k === 'auth')) continue;
      v ??= {}; // absent or null: all defaults
      if (__DEV__ && typeof v !== 'object') throw invalid(k, 'must be an object or false', v);
      out[k] = fill(v as object, d as Obj, `${k}.`);
      continue;
    }
    if (v === undefined) v = d === OPTIONAL_FN ? undefined : d;
    else if (__DEV__) check(path + k, d, v);
    out[k] = v;
  }
  return out;
};

/**
 * Validates the options, naming the first bad one, and fills in the defaults. `options` may be
 * the url itself, with the other options in `rest`, as in `new WebSocket(url)`.
 */
export const resolveOptions = <In, Out>(
  options: ClientOptions<In, Out> | ClientOptions<In, Out>['url'],
  rest?: Omit<ClientOptions<In, Out>, 'url'>,
): Resolved<In, Out> => {
  // anything but an options object is the url: a string, a URL or a url factory
  const given: Obj =
    typeof options !== 'object' || options instanceof URL || Array.isArray(options)
      ? { ...rest, url: options }
      : { ...options };
  const typeKey = (given.typeKey ?? 'type') as string;
  const a = given.auth;
  // the common case is a bare message or factory; an object with `message` and no type is AuthOptions
  if (a !== undefined && (typeof a !== 'object' || !a || !('message' in a) || typeKey in a))
    given.auth = { message: a };
  const o = fill(given, TOP, '') as unknown as Resolved<In, Out>;
  // the url, the option most often wrong, is checked in production too: entry by entry in a
  // list (an empty one fails as `[]` itself), a url function at each connect
  for (const u of Array.isArray(o.url) && o.url.length ? o.url : [o.url]) if (typeof u !== 'function') checkUrl(u);
  if (__DEV__) {
    if (o.auth && o.auth.message === undefined) throw invalid('auth.message', 'must be a message or a function');
    const policies = ['drop-oldest', 'drop-newest', 'throw'];
    if (o.queue && !policies.includes(o.queue.overflow))
      throw invalid('queue.overflow', `must be one of ${policies}`, o.queue.overflow);
  }
  o.logger ??= console;
  return o;
};
