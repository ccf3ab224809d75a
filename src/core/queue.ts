import { WebSocketClientError } from './errors';

/** A frame waiting for the socket: the serialised data and the message it came from. */
export interface Queued<T = unknown> {
  /** serialised frame, as it will be written */
  data: unknown;
  /** the message, handed back when it is dropped */
  msg: T;
  /** when it was queued (ms since epoch) */
  at: number;
  /** bytes counted against `maxBytes` */
  size: number;
}

/** Limits of the offline queue. */
export interface QueueLimits {
  maxSize: number;
  maxBytes: number;
  overflow: 'drop-oldest' | 'drop-newest' | 'throw';
  ttl: number;
}

/** A bounded FIFO; see {@link queue}. */
export interface Queue<T = unknown> {
  /** Frames held. */
  readonly length: number;
  /**
   * Adds a frame, making room by the overflow policy. `'throw'` throws `QUEUE_OVERFLOW`.
   * With `wait` (the connection is open, the socket's buffer is only full for now) the limits
   * do not apply: a burst on a healthy connection is never dropped.
   */
  push(item: Queued<T>, wait?: boolean): 'queued' | 'dropped';
  /** Puts frames back at the head, in their order, whatever the limits (they were accepted already). */
  back(list: Queued<T>[]): void;
  /** Takes the oldest frame out. */
  shift(): Queued<T> | undefined;
  /** Drops (and reports) every frame older than `ttl`. */
  expire(now: number): void;
  /** Forgets everything, unreported (for `dispose()`). */
  clear(): void;
}

/**
 * The bounded FIFO of frames sent while the socket could not take them. It never drops
 * anything silently: every message it lets go goes to `onDrop` with the reason.
 */
export const queue = <T>(o: QueueLimits, onDrop: (error: WebSocketClientError) => void): Queue<T> => {
  // `items[head]` is the oldest. Taking one out moves `head` rather than the array:
  // `Array#shift` is O(n) on large arrays, and flushing 100k messages would take seconds.
  let items: Queued<T>[] = [];
  let head = 0;
  let bytes = 0;
  const drop = (code: 'QUEUE_OVERFLOW' | 'QUEUE_EXPIRED', item: Queued<T>) =>
    new WebSocketClientError(code, undefined, item.msg);
  const q: Queue<T> = {
    get length() {
      return items.length - head;
    },
    push(item, wait) {
      q.expire(item.at);
      const full = () => !wait && (q.length >= o.maxSize || bytes + item.size > o.maxBytes);
      if (full()) {
        const e = drop('QUEUE_OVERFLOW', item);
        if (o.overflow === 'throw') throw e;
        if (o.overflow === 'drop-newest' || item.size > o.maxBytes) {
          onDrop(e);
          return 'dropped';
        }
        while (full()) onDrop(drop('QUEUE_OVERFLOW', q.shift()!));
      }
      items.push(item);
      bytes += item.size;
      return 'queued';
    },
    shift() {
      const item = items[head];
      if (item) {
        bytes -= item.size;
        // once half of the array is taken, keep only the rest: amortised O(1)
        if (++head * 2 >= items.length) {
          items = items.slice(head);
          head = 0;
        }
      }
      return item;
    },
    back(list) {
      items = list.concat(items.slice(head));
      head = 0;
      for (const i of list) bytes += i.size;
    },
    expire(now) {
      while (q.length && now - items[head]!.at > o.ttl) onDrop(drop('QUEUE_EXPIRED', q.shift()!));
    },
    clear() {
      items = [];
      head = bytes = 0;
    },
  };
  return q;
};
