import { describe, expect, it } from 'vitest';
import type { WebSocketClientError } from '../../src/core/errors';
import { type Queue, type QueueLimits, queue } from '../../src/core/queue';

const limits: QueueLimits = { maxSize: 3, maxBytes: Infinity, overflow: 'drop-oldest', ttl: Infinity };
const item = (n: number, at = 0, size = 0) => ({ data: `m${n}`, msg: { n }, at, size });

/** the messages held, oldest first (takes them out) */
const drain = (q: Queue) => {
  const out: unknown[] = [];
  for (let i = q.shift(); i; i = q.shift()) out.push(i.msg);
  return out;
};

const make = (o: Partial<QueueLimits> = {}) => {
  const dropped: WebSocketClientError[] = [];
  return { q: queue({ ...limits, ...o }, (e) => dropped.push(e)), dropped };
};

describe('queue', () => {
  it('is first in, first out', () => {
    const { q } = make();
    for (const n of [1, 2, 3]) q.push(item(n));
    expect([q.shift(), q.shift(), q.shift()].map((i) => i?.msg)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(q.shift()).toBeUndefined();
  });

  it('drop-oldest makes room and reports the dropped message', () => {
    const { q, dropped } = make();
    const r = [1, 2, 3, 4].map((n) => q.push(item(n)));
    expect(r).toEqual(['queued', 'queued', 'queued', 'queued']);
    expect(drain(q)).toEqual([{ n: 2 }, { n: 3 }, { n: 4 }]);
    expect(dropped.map((e) => [e.code, e.data])).toEqual([['QUEUE_OVERFLOW', { n: 1 }]]);
  });

  it('drop-newest refuses the new message and reports it', () => {
    const { q, dropped } = make({ overflow: 'drop-newest' });
    const r = [1, 2, 3, 4].map((n) => q.push(item(n)));
    expect(r).toEqual(['queued', 'queued', 'queued', 'dropped']);
    expect(drain(q)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(dropped.map((e) => [e.code, e.data])).toEqual([['QUEUE_OVERFLOW', { n: 4 }]]);
  });

  it('throw policy throws QUEUE_OVERFLOW with the message and keeps the queue', () => {
    const { q, dropped } = make({ overflow: 'throw' });
    for (const n of [1, 2, 3]) q.push(item(n));
    expect(() => q.push(item(4))).toThrowError(expect.objectContaining({ code: 'QUEUE_OVERFLOW', data: { n: 4 } }));
    expect(q.length).toBe(3);
    expect(dropped).toEqual([]);
  });

  it('counts bytes against maxBytes and drops the oldest to fit', () => {
    const { q, dropped } = make({ maxSize: 100, maxBytes: 10 });
    q.push(item(1, 0, 4));
    q.push(item(2, 0, 4));
    q.push(item(3, 0, 4));
    expect(dropped.map((e) => e.data)).toEqual([{ n: 1 }]);
    q.push(item(4, 0, 2)); // 4 + 4 + 2 fits exactly: the count of bytes went down with the drop
    expect(dropped).toHaveLength(1);
    expect(drain(q)).toEqual([{ n: 2 }, { n: 3 }, { n: 4 }]);
  });

  it('stays first in, first out across many pushes and shifts', () => {
    const { q } = make({ maxSize: 100_000 });
    const out: unknown[] = [];
    for (let n = 0; n < 50_000; n++) {
      q.push(item(n));
      if (n % 3 === 0) out.push(q.shift()!.msg);
    }
    out.push(...drain(q));
    expect(out).toEqual(Array.from({ length: 50_000 }, (_, n) => ({ n })));
    expect(q.length).toBe(0);
  });

  it('drops a message larger than maxBytes by itself, keeping the rest', () => {
    const { q, dropped } = make({ maxBytes: 10 });
    q.push(item(1, 0, 4));
    expect(q.push(item(2, 0, 11))).toBe('dropped');
    expect(drain(q)).toEqual([{ n: 1 }]);
    expect(dropped.map((e) => e.data)).toEqual([{ n: 2 }]);
  });

  it('expires messages older than ttl with QUEUE_EXPIRED and the message', () => {
    const { q, dropped } = make({ ttl: 1000 });
    q.push(item(1, 0));
    q.push(item(2, 600));
    q.expire(1500);
    expect(drain(q)).toEqual([{ n: 2 }]);
    expect(dropped.map((e) => [e.code, e.data])).toEqual([['QUEUE_EXPIRED', { n: 1 }]]);
  });
});
