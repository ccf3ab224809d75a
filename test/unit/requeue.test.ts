// Nothing lost silently: what a refused connection swallowed, and what a dying socket still
// held unsent, goes back to the head of the queue; a burst on an open connection is never
// dropped by backpressure.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { delivery } from '../../src/delivery';
import type { ClientOptions, WebSocketLike } from '../../src/index';
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

const types = (frames: unknown[]) => frames.map((f) => (f as { type: string }).type);

describe('after an auth refusal', () => {
  it('what was written after the refused token is sent again, in order, after the next auth', async () => {
    let n = 0;
    const { client, errors } = makeClient(srv.url, {
      auth: () => ({ type: 'auth', token: `t${++n}` }),
      autoConnect: false,
    });
    for (const type of ['a', 'b', 'c']) client.send({ type });
    client.connect();
    await tick();
    expect(srv.frames).toEqual([{ type: 'auth', token: 't1' }, { type: 'a' }, { type: 'b' }, { type: 'c' }]);
    await srv.drop(4002, 'bad token'); // the server discarded a, b and c with the connection
    client.send({ type: 'd' }); // queued meanwhile: after the requeued ones
    await tick(110);
    expect(srv.sockets).toHaveLength(2);
    expect(srv.frames.slice(4)).toEqual([
      { type: 'auth', token: 't2' },
      { type: 'a' },
      { type: 'b' },
      { type: 'c' },
      { type: 'd' },
    ]);
    expect(errors.map((e) => e.code)).toEqual(['AUTH_REJECTED']);
    client.dispose();
  });

  it('a refusal by isRejection puts them back the same way', async () => {
    let n = 0;
    const { client } = makeClient(srv.url, {
      auth: { message: () => ({ type: 'auth', token: `t${++n}` }), isRejection: (m) => m.type === 'denied' },
    });
    await tick();
    client.send({ type: 'a' });
    await tick();
    srv.push({ type: 'denied' });
    await tick(110);
    expect(types(srv.frames)).toEqual(['auth', 'a', 'auth', 'a']);
    client.dispose();
  });

  it('without auth (or with isAck, once acknowledged) nothing written is kept for a refusal: only what the socket still held goes back', async () => {
    for (const auth of [undefined, { message: { type: 'auth' }, isAck: (m: { type: string }) => m.type === 'ok' }]) {
      const ws = fakeSockets();
      const { client } = makeClient(srv.url, { WebSocket: ws.WebSocket, auth, reconnect: false });
      await tick(2);
      ws.made[0]!.onmessage?.({ data: '{"type":"ok"}' });
      for (const type of ['a', 'b', 'c']) client.send({ type });
      ws.made[0]!.bufferedAmount = '{"type":"c"}'.length; // a and b are out
      ws.made[0]!.readyState = 3;
      ws.made[0]!.onclose?.({ code: 4001, reason: '', wasClean: true });
      expect(client.queued).toBe(1);
      client.close();
    }
  });

  it('a final refusal keeps them queued for a later connect(), and dispose() reports each with the message', async () => {
    const { client, errors } = makeClient(srv.url, { auth: { type: 'auth', token: 'same' }, autoConnect: false });
    client.send({ type: 'a' });
    client.send({ type: 'b' });
    client.connect();
    await tick();
    await srv.drop(4002);
    expect(client.state).toBe('closed');
    expect(client.queued).toBe(2);
    client.dispose();
    expect(errors.map((e) => [e.code, e.data])).toEqual([
      ['AUTH_REJECTED', { code: 4002, reason: '', wasClean: false }],
      ['DISPOSED', { type: 'a' }],
      ['DISPOSED', { type: 'b' }],
    ]);
  });

  it('a connection that lived 5 s was accepted: a later refusal does not send its messages again', async () => {
    let n = 0;
    const { client } = makeClient(srv.url, { auth: () => ({ type: 'auth', token: `t${++n}` }) });
    await tick();
    client.send({ type: 'early' });
    await tick(5000);
    client.send({ type: 'late' }); // handed to the network at once (bufferedAmount 0)
    await srv.drop(4002, 'token expired');
    await tick(110);
    expect(types(srv.frames)).toEqual(['auth', 'early', 'late', 'auth']);
    client.dispose();
  });

  it('never puts back a { queue: false } send, or a message a plugin re-sends itself', async () => {
    let n = 0;
    const { client } = makeClient(srv.url, { auth: () => ({ type: 'auth', token: `t${++n}` }) });
    client.use({ sent: (m) => m.type === 'mine' });
    await tick();
    client.send({ type: 'typing' }, { queue: false });
    client.send({ type: 'mine' });
    client.send({ type: 'app' });
    await tick();
    await srv.drop(4002);
    await tick(110);
    expect(types(srv.frames)).toEqual(['auth', 'typing', 'mine', 'app', 'auth', 'app']);
    client.dispose();
  });

  it('with delivery, what it re-sends on open goes out once, not twice', async () => {
    let n = 0;
    const { client } = makeClient(srv.url, { auth: () => ({ type: 'auth', token: `t${++n}` }) });
    delivery(client);
    await tick();
    client.send({ type: 'a' });
    client.send({ type: 'b' });
    await tick();
    await srv.drop(4002);
    await tick(110);
    expect(types(srv.frames)).toEqual(['auth', 'a', 'b', 'auth', 'a', 'b']);
    client.dispose();
  });
});

/** A socket that buffers what it is sent until the test says the network took it, and that the test breaks. */
const fakeSockets = () => {
  const made: Fake[] = [];
  class Fake implements WebSocketLike {
    readyState = 0;
    bufferedAmount = 0;
    binaryType = 'blob';
    sent: string[] = [];
    onopen: ((e: unknown) => void) | null = null;
    onclose: ((e: unknown) => void) | null = null;
    onmessage: ((e: unknown) => void) | null = null;
    onerror = null;
    constructor() {
      made.push(this);
      setTimeout(() => {
        this.readyState = 1;
        this.onopen?.({});
      }, 1);
    }
    send(d: string) {
      this.sent.push(d);
      this.bufferedAmount += d.length;
    }
    close() {
      this.readyState = 3;
    }
    /** the connection breaks (no close frame) */
    die() {
      this.readyState = 3;
      this.onclose?.({ code: 1006, reason: '', wasClean: false });
    }
  }
  return { made, WebSocket: Fake as unknown as ClientOptions['WebSocket'] };
};

describe('frames a dying socket still held', () => {
  const frame = (i: number) => JSON.stringify({ type: 'm', i });

  it.each([
    ['while the connection is young', 0],
    ['on a connection past 5 s', 6000],
  ])('go back to the head of the queue and are sent first after the reconnect (%s)', async (_, age) => {
    const ws = fakeSockets();
    const { client, errors } = makeClient(srv.url, { WebSocket: ws.WebSocket });
    await tick(age + 1);
    const first = ws.made[0]!;
    for (let i = 0; i < 5; i++) client.send({ type: 'm', i });
    // the network took frames 0 and 1 and all but 3 bytes of frame 2
    first.bufferedAmount = 3 + frame(3).length + frame(4).length;
    client.send({ type: 'm', i: 5 });
    first.die();
    client.send({ type: 'later' });
    await tick(110);
    const second = ws.made[1]!;
    // every frame the socket had not fully put on the network, in order, before the queue
    expect(second.sent.map((d) => JSON.parse(d))).toEqual([
      { type: 'm', i: 2 },
      { type: 'm', i: 3 },
      { type: 'm', i: 4 },
      { type: 'm', i: 5 },
      { type: 'later' },
    ]);
    expect(errors).toEqual([]);
    client.dispose();
  });

  it.each([
    ['while the connection is young', 0],
    ['on a connection past 5 s', 6000],
  ])('go back to the head of the queue when the page enters the back/forward cache (%s)', async (_, age) => {
    const ws = fakeSockets();
    const { client, errors } = makeClient(srv.url, { WebSocket: ws.WebSocket });
    await tick(age + 1);
    const first = ws.made[0]!;
    for (let i = 0; i < 5; i++) client.send({ type: 'm', i });
    first.bufferedAmount = frame(3).length + frame(4).length; // 0, 1 and 2 are out
    const transition = (type: string) => window.dispatchEvent(Object.assign(new Event(type), { persisted: true }));
    transition('pagehide');
    expect(client.queued).toBe(2);
    transition('pageshow');
    await tick(10);
    expect(ws.made[1]!.sent.map((d) => JSON.parse(d))).toEqual([
      { type: 'm', i: 3 },
      { type: 'm', i: 4 },
    ]);
    expect(errors).toEqual([]);
    client.dispose();
  });

  it('an empty buffer at death puts nothing back', async () => {
    const ws = fakeSockets();
    const { client } = makeClient(srv.url, { WebSocket: ws.WebSocket });
    await tick(6000);
    client.send({ type: 'a' });
    ws.made[0]!.bufferedAmount = 0;
    ws.made[0]!.die();
    await tick(110);
    expect(ws.made[1]!.sent).toEqual([]);
    client.dispose();
  });

  it('the auth frame and pings fill the buffer too, but are never put back', async () => {
    const ws = fakeSockets();
    const { client } = makeClient(srv.url, { WebSocket: ws.WebSocket, auth: { type: 'auth' } });
    await tick(6000);
    client.send({ type: 'a' });
    ws.made[0]!.die(); // nothing got out: neither the auth frame nor a
    await tick(110);
    expect(ws.made[1]!.sent).toEqual(['{"type":"auth"}', '{"type":"a"}']);
    client.dispose();
  });

  it('with queue: false, each is reported with its message instead', async () => {
    const ws = fakeSockets();
    const { client, errors } = makeClient(srv.url, { WebSocket: ws.WebSocket, queue: false });
    await tick(6000);
    client.send({ type: 'a' });
    ws.made[0]!.die();
    expect(errors.map((e) => [e.code, e.data])).toEqual([['QUEUE_OVERFLOW', { type: 'a' }]]);
    client.dispose();
  });
});

describe('backpressure on an open connection', () => {
  it('a burst beyond the queue limits waits for the socket and is never dropped', async () => {
    const ws = fakeSockets();
    const { client, errors } = makeClient(srv.url, {
      WebSocket: ws.WebSocket,
      highWaterMark: 100,
      queue: { maxSize: 10, maxBytes: 200 },
    });
    await tick(6000);
    const sock = ws.made[0]!;
    const results = new Set<string>();
    for (let i = 0; i < 500; i++) results.add(client.send({ type: 'm', i })); // the network takes nothing meanwhile
    expect(results).toEqual(new Set(['sent', 'queued']));
    expect(client.queued).toBeGreaterThan(10);
    expect(errors).toEqual([]);
    sock.bufferedAmount = 0; // the network caught up
    for (let k = 0; k < 1000 && client.queued; k++) {
      await tick(50);
      sock.bufferedAmount = 0;
    }
    expect(sock.sent.map((d) => JSON.parse(d).i)).toEqual([...Array(500).keys()]);
    expect(errors).toEqual([]);
    client.dispose();
  });

  it('the limits still apply to what is sent while the connection cannot take data', async () => {
    const { client, errors } = makeClient(srv.url, { autoConnect: false, queue: { maxSize: 2 } });
    for (const i of [1, 2, 3]) client.send({ type: 'm', i });
    expect(errors.map((e) => e.code)).toEqual(['QUEUE_OVERFLOW']);
    client.dispose();
  });
});
