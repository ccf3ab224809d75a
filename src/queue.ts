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

/**
 * The bounded FIFO of frames sent while the socket could not take them. It never drops
 * anything silently: every message it lets go goes to `onDrop` with the reason.
 */
export class Queue<T = unknown> {
  /** oldest first */
  items: Queued<T>[] = [];
  /** bytes held, when `maxBytes` is finite */
  bytes = 0;

  constructor(
    /** the limits */
    readonly o: QueueLimits,
    private onDrop: (error: WebSocketClientError) => void,
  ) {}

  /** Adds a frame, making room by the overflow policy. `'throw'` throws `QUEUE_OVERFLOW`. */
  push(item: Queued<T>): 'queued' | 'dropped' {
    const { maxSize, maxBytes, overflow } = this.o;
    this.expire(item.at);
    const full = () => this.items.length >= maxSize || this.bytes + item.size > maxBytes;
    if (full()) {
      const e = this.err('QUEUE_OVERFLOW', item);
      if (overflow === 'throw') throw e;
      if (overflow === 'drop-newest' || item.size > maxBytes) {
        this.onDrop(e);
        return 'dropped';
      }
      while (full()) this.onDrop(this.err('QUEUE_OVERFLOW', this.shift()!));
    }
    this.items.push(item);
    this.bytes += item.size;
    return 'queued';
  }

  /** Takes the oldest frame out. */
  shift(): Queued<T> | undefined {
    const item = this.items.shift();
    if (item) this.bytes -= item.size;
    return item;
  }

  /** Drops (and reports) every frame older than `ttl`. */
  expire(now: number): void {
    while (this.items.length && now - this.items[0]!.at > this.o.ttl) {
      this.onDrop(this.err('QUEUE_EXPIRED', this.shift()!));
    }
  }

  private err(code: 'QUEUE_OVERFLOW' | 'QUEUE_EXPIRED', item: Queued<T>) {
    return new WebSocketClientError(code, undefined, item.msg);
  }
}
