import {
  type ClientPlugin,
  type Message,
  type MessageOf,
  type WebSocketClient,
  WebSocketClientError,
} from 'resilient-ws';
import { checkOptions } from './check';

/** Options of {@link request}. */
export interface RequestOptions {
  /** Reject with `REQUEST_TIMEOUT` after this many ms (the clock runs while the request waits in the queue too). @default 10000 */
  timeout?: number;
  /** Abort: the promise rejects with `signal.reason`, as `fetch` does. */
  signal?: AbortSignal;
  /** The field carrying the correlation id, in the request and in its reply. @default 'requestId' */
  idKey?: string;
}

interface Pending {
  resolve(reply: unknown): void;
  reject(error: unknown): void;
}

/**
 * The requests waiting on each client, by id (ids are unique across keys), and the correlation
 * fields in use; the plugin that matches replies is installed once per client.
 */
const waiting = new WeakMap<object, { pending: Map<unknown, Pending>; keys: Set<string> }>();
let n = 0;
const prefix = Math.random().toString(36).slice(2, 10);

const install = <In extends Message, Out>(client: WebSocketClient<In, Out>) => {
  const pending = new Map<unknown, Pending>();
  const entry = { pending, keys: new Set<string>() };
  const plugin: ClientPlugin<In, Out> = {
    message(msg) {
      for (const key of entry.keys) {
        const p = pending.get((msg as Record<string, unknown>)[key]);
        if (p) {
          p.resolve(msg);
          return false; // a reply is consumed here, not dispatched
        }
      }
      return undefined;
    },
    close() {
      for (const p of [...pending.values()]) p.reject(new WebSocketClientError('REQUEST_CANCELLED', 'client closed'));
      waiting.delete(client);
      remove();
    },
  };
  const remove = client.use(plugin);
  waiting.set(client, entry);
  return entry;
};

/**
 * Send `msg` with a correlation id and resolve with the server's reply carrying the same id.
 * The reply goes to this promise only, not to `on()` handlers. A request made while offline
 * waits in the queue. Rejects with `REQUEST_TIMEOUT`, with `signal.reason` when aborted, with
 * `REQUEST_CANCELLED` when the client is closed or disposed, and with the `send` error (or
 * `QUEUE_OVERFLOW` when it was dropped) when it cannot be sent.
 *
 * This form names the reply's `type` as a value, so the promise is typed as that message of
 * the client's `In` while `msg` is still checked against its `Out`. A reply of another `type`
 * (an error reply, say) rejects with `INVALID_MESSAGE`, the reply as `data`.
 *
 * @typeParam R - the reply's `type`, inferred from `options.reply`
 * @example
 * const balance = await request(client, { type: 'get_balance', account: 'a1' }, { reply: 'balance' });
 */
export function request<In extends Message, Out, R extends In['type']>(
  client: WebSocketClient<In, Out>,
  msg: NoInfer<Out>,
  options: RequestOptions & {
    /** The `type` the reply must have. */
    reply: R;
  },
): Promise<MessageOf<In, R>>;
/**
 * {@link request} without `reply`: the promise is typed `Reply`, the whole `In` when it is not
 * given. Naming `Reply` explicitly turns inference of the client's types off (TypeScript infers
 * all type arguments or none), so `msg` is then not checked: prefer `{ reply: 'type' }`.
 *
 * @typeParam Reply - the reply's type
 */
// With only `Reply` given, the client's own types are not inferred, hence the `any` defaults.
// biome-ignore lint/suspicious/noExplicitAny: see above
export function request<Reply = never, In extends Message = any, Out = any>(
  client: WebSocketClient<In, Out>,
  msg: NoInfer<Out>,
  options?: RequestOptions,
): Promise<[Reply] extends [never] ? In : Reply>;
export function request(
  client: WebSocketClient,
  msg: Message,
  options: RequestOptions & { reply?: string } = {},
): Promise<Message> {
  const { timeout = 10_000, signal, idKey = 'requestId', reply: type } = options;
  return new Promise((resolve, reject) => {
    if (__DEV__) checkOptions('request', options, ['timeout', 'signal', 'idKey', 'reply']);
    if (signal?.aborted) return reject(signal.reason);
    const { pending, keys } = waiting.get(client) ?? install(client);
    keys.add(idKey);
    const id = `${prefix}.${++n}`;
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      pending.delete(id);
    };
    const abort = () => {
      done();
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      done();
      reject(new WebSocketClientError('REQUEST_TIMEOUT', `no reply within ${timeout} ms`, msg));
    }, timeout);
    signal?.addEventListener('abort', abort);
    pending.set(id, {
      resolve: (r) => {
        done();
        const t = (r as Record<string, unknown>)[client.options.typeKey];
        if (type === undefined || t === type) resolve(r as Message);
        else reject(new WebSocketClientError('INVALID_MESSAGE', `reply of type ${t}, not ${type}`, r));
      },
      reject: (e) => {
        done();
        reject(e);
      },
    });
    try {
      if (client.send({ ...msg, [idKey]: id }) === 'dropped')
        throw new WebSocketClientError('QUEUE_OVERFLOW', 'request dropped', msg);
    } catch (e) {
      pending.get(id)!.reject(e);
    }
  });
}
