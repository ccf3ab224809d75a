import { WebSocket as MockWebSocket } from 'mock-socket';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSocketClient, type WebSocketLike } from '../../src/index';
import { makeClient, mockServer, type TestServer, tick } from './helpers';

let srv: TestServer;
beforeEach(() => {
  vi.useFakeTimers();
  srv = mockServer();
});
afterEach(() => {
  srv.server.stop();
  vi.useRealTimers();
});

describe('connecting', () => {
  it('goes idle → connecting → open', async () => {
    const { client, states } = makeClient(srv.url);
    expect(client.state).toBe('connecting');
    await tick();
    expect(client.state).toBe('open');
    expect(client.readyState).toBe(1);
    expect(states).toEqual(['connecting', 'open']);
    client.dispose();
  });

  it('does not connect before connect() with autoConnect: false, and connect() is idempotent', async () => {
    const { client } = makeClient(srv.url, { autoConnect: false });
    expect(client.state).toBe('idle');
    expect(client.readyState).toBe(3);
    client.connect();
    client.connect();
    await tick();
    expect(srv.sockets).toHaveLength(1);
    client.dispose();
  });

  it('evaluates a URL factory on every attempt', async () => {
    const url = vi.fn(() => srv.url);
    const { client } = makeClient(url);
    await tick();
    await srv.drop(1011, 'bye');
    await tick(100);
    await tick();
    expect(url).toHaveBeenCalledTimes(2);
    expect(srv.sockets).toHaveLength(2);
    client.dispose();
  });

  it('accepts an async URL factory', async () => {
    const { client } = makeClient(async () => srv.url);
    await tick();
    expect(client.state).toBe('open');
    client.dispose();
  });

  it('reports NO_WEBSOCKET and stops when there is no WebSocket class', async () => {
    const saved = globalThis.WebSocket;
    // @ts-expect-error: simulate a runtime without WebSocket
    delete globalThis.WebSocket;
    try {
      const { client, errors } = makeClient(srv.url, { WebSocket: undefined });
      expect(errors.map((e) => e.code)).toEqual(['NO_WEBSOCKET']);
      expect(client.state).toBe('closed');
    } finally {
      globalThis.WebSocket = saved;
    }
  });

  it('reports INVALID_OPTIONS at connect when the URL factory returns a bad URL, and retries with backoff', async () => {
    let url = 'ftp://nope';
    const { client, errors } = makeClient(() => url);
    await tick();
    expect(errors.map((e) => e.code)).toEqual(['INVALID_OPTIONS']);
    expect(errors[0]!.message).toContain('options.url');
    expect(client.state).toBe('reconnecting');
    url = srv.url;
    await tick(110);
    expect(client.state).toBe('open');
    client.dispose();
  });

  it('retries with backoff when the URL factory throws (CONNECT_ERROR)', async () => {
    let n = 0;
    const { client, errors } = makeClient(() => {
      if (n++ === 0) throw new Error('discovery down');
      return srv.url;
    });
    await tick();
    expect(errors.map((e) => e.code)).toEqual(['CONNECT_ERROR']);
    expect((errors[0]!.cause as Error).message).toBe('discovery down');
    expect(client.state).toBe('reconnecting');
    await tick(100);
    await tick();
    expect(client.state).toBe('open');
    client.dispose();
  });

  it('abandons a socket stuck in CONNECTING after connectTimeout and retries', async () => {
    const sockets: FakeSocket[] = [];
    class FakeSocket implements WebSocketLike {
      readyState = 0;
      bufferedAmount = 0;
      binaryType = 'blob';
      onopen = null;
      onclose = null;
      onmessage = null;
      onerror = null;
      closed = false;
      constructor() {
        sockets.push(this);
      }
      send() {}
      close() {
        this.closed = true;
        this.readyState = 3;
      }
    }
    const { client, errors, states } = makeClient(srv.url, { WebSocket: FakeSocket, connectTimeout: 500 });
    await tick(499);
    expect(errors).toEqual([]);
    await tick(1);
    expect(errors.map((e) => e.code)).toEqual(['CONNECT_TIMEOUT']);
    expect(sockets[0]!.closed).toBe(true);
    expect(states.at(-1)).toBe('reconnecting');
    await tick(100);
    expect(sockets).toHaveLength(2);
    client.dispose();
  });
});

describe('listeners attached right after the constructor', () => {
  it('see every state from connecting on, with autoConnect', async () => {
    const client = new WebSocketClient({ url: srv.url, WebSocket: MockWebSocket as never, heartbeat: false });
    const states: string[] = [];
    client.onStateChange((s) => states.push(s));
    expect(client.state).toBe('idle'); // the connect runs in a microtask, after this task's listeners
    await tick();
    expect(states).toEqual(['connecting', 'open']);
    client.dispose();
  });

  it('connect() or close() in the same task wins over the deferred connect', async () => {
    const a = new WebSocketClient({ url: srv.url, WebSocket: MockWebSocket as never, heartbeat: false });
    a.connect();
    const b = new WebSocketClient({ url: srv.url, WebSocket: MockWebSocket as never, heartbeat: false });
    b.close();
    await tick();
    expect(a.state).toBe('open');
    expect(b.state).toBe('closed');
    expect(srv.sockets).toHaveLength(1);
    a.dispose();
  });

  it('dispose() in the same task: no socket at all', async () => {
    const c = new WebSocketClient({ url: srv.url, WebSocket: MockWebSocket as never });
    c.dispose();
    await tick();
    expect(srv.sockets).toHaveLength(0);
  });
});

describe('reconnecting', () => {
  it('reconnects after an unexpected close with the backoff delay', async () => {
    const details: unknown[] = [];
    const { client } = makeClient(srv.url);
    client.onStateChange((s, d) => s === 'reconnecting' && details.push(d));
    await tick();
    await srv.drop(1011, 'restart');
    expect(client.state).toBe('reconnecting');
    expect(details).toEqual([
      { attempt: 1, delay: 100, closeInfo: { code: 1011, reason: 'restart', wasClean: false } },
    ]);
    await tick(99);
    expect(srv.sockets).toHaveLength(1);
    await tick(10);
    expect(client.state).toBe('open');
    expect(srv.sockets).toHaveLength(2);
    client.dispose();
  });

  it('gives up after maxAttempts with MAX_ATTEMPTS and state closed', async () => {
    srv.server.stop();
    const { client, errors, states } = makeClient(srv.url, {
      reconnect: { initialDelay: 100, factor: 2, jitter: 0, maxAttempts: 3 },
    });
    await vi.advanceTimersByTimeAsync(5000);
    expect(states.filter((s) => s === 'connecting')).toHaveLength(4); // first try + 3 attempts
    expect(errors.map((e) => e.code)).toEqual(['MAX_ATTEMPTS']);
    expect(client.state).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not reconnect after a fatal close code', async () => {
    const { client, states } = makeClient(srv.url);
    await tick();
    await srv.drop(1008, 'policy');
    await tick(5000);
    expect(client.state).toBe('closed');
    expect(states).not.toContain('reconnecting');
    expect(srv.sockets).toHaveLength(1);
  });

  it('lets shouldReconnect decide, with the close info and attempt', async () => {
    const shouldReconnect = vi.fn(() => false);
    const { client } = makeClient(srv.url, { reconnect: { shouldReconnect } });
    await tick();
    await srv.drop(4999, 'done');
    await tick();
    expect(shouldReconnect).toHaveBeenCalledWith({ code: 4999, reason: 'done', wasClean: false }, 0);
    expect(client.state).toBe('closed');
  });

  it('never reconnects with reconnect: false', async () => {
    const { client } = makeClient(srv.url, { reconnect: false });
    await tick();
    await srv.drop(1011, '');
    await tick(5000);
    expect(client.state).toBe('closed');
    expect(srv.sockets).toHaveLength(1);
  });

  it('resets the attempt counter after resetAfter of uptime, not before', async () => {
    const { client } = makeClient(srv.url, {
      reconnect: { initialDelay: 100, factor: 2, jitter: 0, resetAfter: 1000 },
    });
    await tick();
    await srv.drop(1011, '');
    await tick(110);
    expect(client.attempt).toBe(1);
    await srv.drop(1011, ''); // died young: keeps counting
    expect(client.attempt).toBe(2);
    await tick(210);
    await tick(1000); // stable for resetAfter
    await srv.drop(1011, '');
    expect(client.attempt).toBe(1);
    client.dispose();
  });

  it('close() during a pending reconnect cancels it and leaves no timer', async () => {
    const { client } = makeClient(srv.url);
    await tick();
    await srv.drop(1011, '');
    expect(client.state).toBe('reconnecting');
    client.close();
    expect(client.state).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
    await tick(10_000);
    expect(srv.sockets).toHaveLength(1);
  });

  it('connect() after close() reconnects, keeping the queue', async () => {
    const { client } = makeClient(srv.url);
    await tick();
    client.close();
    expect(client.send({ type: 'later' })).toBe('queued');
    client.connect();
    await tick();
    expect(srv.frames).toEqual([{ type: 'later' }]);
    client.dispose();
  });
});

describe('sending and the queue', () => {
  it('sends when open and queues when not, flushing FIFO across a reconnect', async () => {
    const { client } = makeClient(srv.url);
    expect(client.send({ type: 'a' })).toBe('queued');
    await tick();
    expect(client.send({ type: 'b' })).toBe('sent');
    await srv.drop(1011, '');
    expect(['c', 'd', 'e'].map((type) => client.send({ type }))).toEqual(['queued', 'queued', 'queued']);
    expect(client.queued).toBe(3);
    await tick(110);
    expect(srv.frames.map((f) => (f as { type: string }).type)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(client.queued).toBe(0);
    client.dispose();
  });

  it('{ queue: false } is sent now or dropped, never replayed', async () => {
    const { client } = makeClient(srv.url);
    expect(client.send({ type: 'typing' }, { queue: false })).toBe('dropped');
    await tick();
    expect(client.send({ type: 'typing' }, { queue: false })).toBe('sent');
    await tick();
    expect(srv.frames).toEqual([{ type: 'typing' }]);
    client.dispose();
  });

  it('{ queue: false } while open goes now past a hold (an outbox reading its store) and past waiting messages', async () => {
    const { client } = makeClient(srv.url);
    await tick();
    const end = client.hold();
    expect(client.send({ type: 'chat', n: 1 })).toBe('queued');
    // a rename, a join, a typing indicator: never queued, so it takes no queued message's place
    expect(client.send({ type: 'set_username' }, { queue: false })).toBe('sent');
    await tick();
    expect(srv.frames).toEqual([{ type: 'set_username' }]);
    end(() => client.send({ type: 'restored' }));
    await tick();
    expect(srv.frames).toEqual([{ type: 'set_username' }, { type: 'restored' }, { type: 'chat', n: 1 }]);
    client.dispose();
  });

  it('queue: false drops what cannot be sent now', async () => {
    const { client } = makeClient(srv.url, { queue: false });
    expect(client.send({ type: 'x' })).toBe('dropped');
    expect(client.queued).toBe(0);
    client.dispose();
  });

  it('reports each overflow with the dropped message attached', async () => {
    const { client, errors } = makeClient(srv.url, { autoConnect: false, queue: { maxSize: 2 } });
    for (const n of [1, 2, 3]) client.send({ type: 'm', n });
    expect(errors.map((e) => [e.code, e.data])).toEqual([['QUEUE_OVERFLOW', { type: 'm', n: 1 }]]);
    client.dispose();
  });

  it("overflow 'throw' makes send throw QUEUE_OVERFLOW", () => {
    const { client } = makeClient(srv.url, { autoConnect: false, queue: { maxSize: 1, overflow: 'throw' } });
    client.send({ type: 'a' });
    expect(() => client.send({ type: 'b' })).toThrowError(expect.objectContaining({ code: 'QUEUE_OVERFLOW' }));
    client.dispose();
  });

  it('counts maxBytes in UTF-8 bytes of the serialised frame', () => {
    const { client, errors } = makeClient(srv.url, { autoConnect: false, queue: { maxBytes: 40 } });
    client.send({ type: 'ü', t: 'ééééé' }); // 29 bytes
    expect(client.queued).toBe(1);
    client.send({ type: 'x', t: 'abcdefghijklmn' });
    expect(client.queued).toBe(1);
    expect(errors.map((e) => e.data)).toEqual([{ type: 'ü', t: 'ééééé' }]);
    client.dispose();
  });

  it('drops queued messages older than ttl with QUEUE_EXPIRED instead of sending them', async () => {
    const { client, errors } = makeClient(srv.url, { autoConnect: false, queue: { ttl: 1000 } });
    client.send({ type: 'old' });
    await tick(600);
    client.send({ type: 'fresh' });
    await tick(600);
    client.connect();
    await tick();
    expect(srv.frames).toEqual([{ type: 'fresh' }]);
    expect(errors.map((e) => [e.code, e.data])).toEqual([['QUEUE_EXPIRED', { type: 'old' }]]);
    client.dispose();
  });

  it('throws SERIALIZE_ERROR for a message that cannot be serialised, and queues nothing', () => {
    const { client } = makeClient(srv.url, { autoConnect: false });
    const circular: Record<string, unknown> = { type: 'loop' };
    circular.self = circular;
    expect(() => client.send(circular as never)).toThrowError(
      expect.objectContaining({ code: 'SERIALIZE_ERROR', data: circular }),
    );
    expect(() => client.send({ type: 'big', n: 10n } as never)).toThrowError(
      expect.objectContaining({
        code: 'SERIALIZE_ERROR',
        message: 'SERIALIZE_ERROR: Do not know how to serialize a BigInt',
        cause: expect.any(TypeError),
      }),
    );
    expect(() => client.send(undefined as never)).toThrowError(
      expect.objectContaining({ code: 'SERIALIZE_ERROR', message: 'SERIALIZE_ERROR: serialize returned undefined' }),
    );
    expect(client.queued).toBe(0);
    client.dispose();
  });

  it('holds sends in the queue while bufferedAmount is above highWaterMark and drains as it empties', async () => {
    const written: string[] = [];
    let buffered = 0;
    class SlowSocket implements WebSocketLike {
      readyState = 0;
      binaryType = 'blob';
      onopen: ((e: unknown) => void) | null = null;
      onclose = null;
      onmessage = null;
      onerror = null;
      get bufferedAmount() {
        return buffered;
      }
      constructor() {
        setTimeout(() => {
          this.readyState = 1;
          this.onopen?.({});
        }, 1);
      }
      send(d: string) {
        written.push(d);
        buffered += d.length;
      }
      close() {}
    }
    const client = new WebSocketClient({ url: srv.url, WebSocket: SlowSocket, heartbeat: false, highWaterMark: 20 });
    await tick();
    expect(client.send({ type: 'a', pad: '1234567890' })).toBe('sent'); // 31 bytes buffered now
    expect(client.send({ type: 'b' })).toBe('queued');
    expect(client.send({ type: 'c' })).toBe('queued');
    expect(written).toHaveLength(1);
    await tick(200);
    expect(written).toHaveLength(1);
    buffered = 0; // the network caught up
    await tick(50);
    expect(written.map((d) => JSON.parse(d).type)).toEqual(['a', 'b', 'c']);
    expect(client.queued).toBe(0);
    client.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('close and dispose', () => {
  it('close() closes the socket with the code, stays closed, and leaves no timer', async () => {
    const { client, states } = makeClient(srv.url, { heartbeat: { interval: 1000 } });
    await tick();
    const closed = vi.fn();
    srv.last().on('close', closed);
    client.close(4000, 'bye');
    expect(states.slice(-2)).toEqual(['closing', 'closed']);
    await tick();
    expect(closed).toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
    await tick(60_000);
    expect(srv.sockets).toHaveLength(1);
  });

  it('close() with a code or reason the socket refuses throws, and changes nothing', async () => {
    const { client } = makeClient(srv.url);
    await tick();
    expect(() => client.close(1006)).toThrow(/1000, or between 3000 and 4999/);
    expect(() => client.close(1000, 'x'.repeat(124))).toThrow(/123 bytes/);
    expect(client.state).toBe('open');
    expect(client.send({ type: 'still' })).toBe('sent');
    client.dispose();
  });

  it('dispose() drops every handler and listener, and reports what the queue held', async () => {
    const warn = vi.fn();
    const { client, errors } = makeClient(srv.url, { autoConnect: false, logger: { warn } });
    const handler = vi.fn();
    const listener = vi.fn();
    client.on('x', handler);
    client.onStateChange(listener);
    client.send({ type: 'q' });
    listener.mockClear();
    client.dispose();
    expect(client.queued).toBe(0);
    expect(errors.map((e) => [e.code, e.data])).toEqual([['DISPOSED', { type: 'q' }]]);
    // listeners are gone: later reports reach the logger only
    expect(client.send({ type: 'late' })).toBe('dropped');
    expect(warn).toHaveBeenCalledWith(
      '[resilient-ws]',
      expect.objectContaining({ code: 'DISPOSED', data: { type: 'late' } }),
    );
    expect(errors).toHaveLength(1);
    expect(listener.mock.calls.map((c) => c[0])).toEqual(['closed']);
  });

  it('dispose() is final: send() is dropped and reported, connect() throws DISPOSED', async () => {
    const warn = vi.fn();
    const { client, errors } = makeClient(srv.url, { logger: { warn } });
    await tick();
    client.dispose();
    expect(client.send({ type: 'after' })).toBe('dropped');
    expect(warn.mock.calls[0]![1]).toMatchObject({
      code: 'DISPOSED',
      message: 'DISPOSED: not sent',
      data: { type: 'after' },
    });
    expect(() => client.connect()).toThrowError(
      expect.objectContaining({ code: 'DISPOSED', message: 'DISPOSED: connect() after dispose()' }),
    );
    await tick(10_000);
    expect(srv.sockets).toHaveLength(1);
    expect(client.state).toBe('closed');
    expect(errors).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
