import { type ClientPlugin, type Message, type WebSocketClient, WebSocketClientError } from 'resilient-ws';

/** Options of {@link delivery}. */
export interface DeliveryOptions {
  /** The field that carries a message's id, both ways. @default 'id' */
  idKey?: string;
  /** The type of the server's acknowledgements: `{ type: 'ack', id }` or `{ type: 'ack', ids: [...] }`. @default 'ack' */
  ackType?: string;
  /** How many incoming ids are remembered to suppress duplicates. @default 1000 */
  window?: number;
  /** Most messages held unacknowledged plus queued; beyond it the oldest is dropped (`QUEUE_OVERFLOW`). @default 1000 */
  maxUnacked?: number;
  /** An unacknowledged message older than this, ms, is not re-sent but dropped (`QUEUE_EXPIRED`). @default Infinity */
  ttl?: number;
  /**
   * After every (re)open, send `{ type: resume, lastId }` so the server can replay what this
   * client missed; `true` means the type `'resume'`. Sent only once an id has been seen. @default false
   */
  resume?: boolean | string;
}

/** A running delivery mode; see {@link delivery}. */
export interface Delivery {
  /** Messages written to a socket and not yet acknowledged. */
  readonly unacked: number;
  /** The id of the last new message received, for a resume/replay request. */
  readonly lastId: unknown;
  /** Leave delivery mode: forget what is unacknowledged and stop deduplicating. */
  stop(): void;
}

/** A process-unique prefix, so ids from two page loads never collide on the server. */
const session = () => Math.random().toString(36).slice(2, 10);

/**
 * At-least-once delivery over a {@link WebSocketClient}, with duplicate suppression.
 *
 * Outgoing: every message gets an id (`idKey`) and is kept until the server acknowledges it;
 * after a reconnect (and auth), what was written but not acknowledged is sent again, in its
 * original order, before the queue. The server must acknowledge and drop repeats by id.
 *
 * Incoming: a message carrying an id already seen (within `window`) never reaches a handler
 * twice, so a server may re-send freely after a reconnect.
 */
export const delivery = <In extends Message, Out>(
  client: WebSocketClient<In, Out>,
  options: DeliveryOptions = {},
): Delivery => {
  const { idKey = 'id', ackType = 'ack', window = 1000, maxUnacked = 1000, ttl = Infinity, resume = false } = options;
  const prefix = `${session()}.`;
  let n = 0;
  /** written and not acknowledged, oldest first (Map keeps insertion order); `w` numbers the write */
  const inflight = new Map<unknown, { msg: Out; at: number; w: number }>();
  /** writes so far, and their number when the current connection began: what came after is on it */
  let writes = 0;
  let mark = 0;
  /** incoming ids seen, oldest first; `seen` mirrors it for lookups */
  const recent: unknown[] = [];
  const seen = new Set<unknown>();
  let lastId: unknown;
  const report = (code: 'QUEUE_OVERFLOW' | 'QUEUE_EXPIRED', msg: Out) =>
    client.report(new WebSocketClientError(code, undefined, msg));
  const field = (m: unknown) => (m as Record<string, unknown>)[idKey];

  const resumeType = resume === true ? 'resume' : resume;
  const plugin: ClientPlugin<In, Out> = {
    // ids on app messages only: neither a resume request nor a `{ queue: false }` send is replayed
    send: (msg, opts) =>
      field(msg) === undefined && opts?.queue !== false && (msg as Message).type !== resumeType
        ? ({ ...msg, [idKey]: prefix + ++n } as Out)
        : msg,
    sent(msg) {
      const id = field(msg);
      if (id === undefined) return;
      inflight.delete(id); // a re-send moves to the end, keeping the order of the last writes
      inflight.set(id, { msg, at: Date.now(), w: ++writes });
      while (inflight.size + client.queued > maxUnacked) {
        const [oldest, { msg: m }] = inflight.entries().next().value!;
        inflight.delete(oldest);
        report('QUEUE_OVERFLOW', m);
      }
      return true; // delivery re-sends it on open itself: the client must not requeue it too
    },
    open() {
      if (resumeType && lastId !== undefined) client.send({ type: resumeType, lastId } as Out, { queue: false });
      const now = Date.now();
      // snapshot: re-sending re-inserts each entry; what the open listeners just wrote is not lost
      for (const [id, { msg, at, w }] of [...inflight]) {
        if (w > mark) continue;
        if (now - at > ttl) {
          inflight.delete(id);
          report('QUEUE_EXPIRED', msg);
        } else client.send(msg);
      }
    },
    message(msg) {
      const m = msg as Record<string, unknown>;
      if (m.type === ackType) {
        for (const id of Array.isArray(m.ids) ? m.ids : [m.id]) inflight.delete(id);
        return false;
      }
      const id = m[idKey];
      if (id === undefined) return;
      if (seen.has(id)) return false;
      seen.add(id);
      recent.push(id);
      if (recent.length > window) seen.delete(recent.shift());
      lastId = id;
    },
  };
  const removePlugin = client.use(plugin);
  const unlisten = client.onStateChange((state) => {
    if (state === 'connecting') mark = writes;
  });
  return {
    get unacked() {
      return inflight.size;
    },
    get lastId() {
      return lastId;
    },
    stop() {
      removePlugin();
      unlisten();
      inflight.clear();
      seen.clear();
      recent.length = 0;
    },
  };
};
