import { type ClientPlugin, type Message, type WebSocketClient, WebSocketClientError } from 'resilient-ws';
import { checkOptions } from './check';

/** Options of {@link delivery}. */
export interface DeliveryOptions {
  /** The field that carries a message's id, both ways. @default 'id' */
  idKey?: string;
  /** The type of the server's acknowledgements: `{ type: 'ack', id }` or `{ type: 'ack', ids: [...] }`. @default 'ack' */
  ackType?: string;
  /** How many incoming ids are remembered to suppress duplicates. @default 1000 */
  window?: number;
  /**
   * Most messages held unacknowledged plus queued, at every moment, online or offline. A
   * `send()` beyond it is refused: it returns `'dropped'` and the message is reported once
   * (`QUEUE_OVERFLOW`). The new message is the one refused because it is the only one known
   * not to be on the server already. @default 1000
   */
  maxUnacked?: number;
  /**
   * Resume the server's stream on every (re)open: right after auth, send
   * `{ type: resume, lastId }` (`lastId: null` before any id was seen) and expect
   * `{ type: 'resumed', lastId, gap? }` before the replay; once the server has answered one,
   * messages with an id that come before it are ignored (the replay brings them), and
   * `gap: true` is reported (`RESUME_GAP`). `true` means the type `'resume'`. @default false
   */
  resume?: boolean | string;
}

/** A running delivery mode; see {@link delivery}. */
export interface Delivery {
  /** Messages written to a socket and not yet acknowledged. */
  readonly unacked: number;
  /** The id of the last new message received (or the resume point the server gave): where the next resume starts. */
  readonly lastId: unknown;
  /** Leave delivery mode: forget what is unacknowledged and stop deduplicating. */
  stop(): void;
}

/** New for every `delivery()`: the time and ~40 random bits, so ids of two tabs or page loads never collide. */
const session = () => Date.now().toString(36) + Math.random().toString(36).slice(2, 10);

/**
 * At-least-once delivery over a {@link WebSocketClient}, with duplicate suppression and,
 * optionally, a resume handshake that replays what the client missed. The README's
 * "At-least-once delivery" section is the protocol a server implements.
 *
 * Outgoing: every message gets an id (`idKey`) and is kept until the server acknowledges it;
 * after a reconnect (and auth), what was written but not acknowledged is sent again, in its
 * original order, before the queue. Every report is true: a message reported is never sent.
 *
 * Incoming: a message carrying an id already seen (within `window`) never reaches a handler
 * twice; with `resume`, none is skipped either, or the gap is reported.
 */
export const delivery = <In extends Message, Out>(
  client: WebSocketClient<In, Out>,
  options: DeliveryOptions = {},
): Delivery => {
  if (__DEV__)
    checkOptions('delivery', options, ['idKey', 'ackType', 'window', 'maxUnacked', 'resume'], {
      ttl: "it is gone: a written message may be on the server already, so the client's queue.ttl expires only what was never written",
    });
  const { idKey = 'id', ackType = 'ack', window = 1000, maxUnacked = 1000, resume = false } = options;
  const prefix = `${session()}.`;
  let n = 0;
  /** written and not acknowledged, in the order of their last write (Map keeps insertion order); `w` numbers the write */
  const inflight = new Map<unknown, { msg: Out; w: number }>();
  /** writes so far, and their number when the current connection began: what came after is on it */
  let writes = 0;
  let mark = 0;
  /** incoming ids seen, oldest first; `seen` mirrors it for lookups */
  const recent: unknown[] = [];
  const seen = new Set<unknown>();
  let lastId: unknown;
  const resumeType = resume === true ? 'resume' : resume;
  const typeKey = client.options.typeKey;
  /** the `lastId` the current connection resumed from: what a gap is reported after */
  let asked: unknown;
  /**
   * Whether the server has answered a `resumed` yet (it speaks this protocol), and whether the
   * current connection's is still to come. Until the first one, the client cannot tell an
   * older server from a slow one, so it delivers as such a server expects.
   */
  let spoken = false;
  let pending = false;
  const field = (m: unknown) => (m as Record<string, unknown>)[idKey];

  const plugin: ClientPlugin<In, Out> = {
    // ids on app messages only: neither a resume request nor a `{ queue: false }` send is replayed
    send(msg, opts) {
      const id = field(msg);
      if (opts?.queue === false || inflight.has(id)) return msg; // inflight: a re-send from `open`
      if (inflight.size + client.queued >= maxUnacked) {
        client.report(new WebSocketClientError('QUEUE_OVERFLOW', `maxUnacked (${maxUnacked}) reached: not sent`, msg));
        return;
      }
      return id === undefined ? ({ ...msg, [idKey]: prefix + ++n } as Out) : msg;
    },
    sent(msg) {
      const id = field(msg);
      if (id === undefined) return;
      inflight.delete(id); // a re-send moves to the end, keeping the order of the last writes
      inflight.set(id, { msg, w: ++writes });
      return true; // delivery re-sends it on open itself: the client must not requeue it too
    },
    open() {
      if (resumeType) client.send({ [typeKey]: resumeType, lastId: (asked = lastId ?? null) } as Out, { queue: false });
      // snapshot: re-sending re-inserts each entry; what the open listeners just wrote is not sent twice
      for (const { msg, w } of [...inflight.values()]) if (w <= mark) client.send(msg);
    },
    message(msg) {
      const m = msg as Record<string, unknown>;
      if (m[typeKey] === ackType) {
        for (const id of Array.isArray(m.ids) ? m.ids : [m.id]) inflight.delete(id);
        return false;
      }
      if (resumeType && m[typeKey] === 'resumed') {
        spoken = true;
        pending = false;
        if (m.gap)
          client.report(
            new WebSocketClientError('RESUME_GAP', `messages after ${asked} are gone; resumed from ${m.lastId}`, {
              lastId: asked,
              resumed: m.lastId,
            }),
          );
        if (m.lastId !== undefined) lastId = m.lastId;
        return false;
      }
      const id = m[idKey];
      if (id === undefined) return;
      // before `resumed`, a message with an id came too early: the replay brings it in its place
      if (pending || seen.has(id)) return false;
      seen.add(id);
      recent.push(id);
      if (recent.length > window) seen.delete(recent.shift());
      lastId = id;
    },
  };
  const removePlugin = client.use(plugin);
  const unlisten = client.onStateChange((state) => {
    if (state === 'connecting') {
      mark = writes;
      pending = spoken;
    }
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
