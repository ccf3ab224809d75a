import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { delivery } from '../../src/delivery';
import type { ClientOptions } from '../../src/index';
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

type Frame = { type: string; id?: string; n?: number; lastId?: unknown };
const frames = () => srv.frames as Frame[];
const ack = (...ids: (string | undefined)[]) =>
  srv.push(ids.length === 1 ? { type: 'ack', id: ids[0] } : { type: 'ack', ids });

describe('delivery: outgoing', () => {
  it('gives every message an id without touching the caller’s object', async () => {
    const { client } = makeClient(srv.url);
    delivery(client);
    await tick();
    const msg = { type: 'chat', n: 1 };
    client.send(msg);
    client.send({ type: 'chat', n: 2 });
    await tick();
    const [a, b] = frames();
    expect(a!.id).toMatch(/^\w+\.1$/);
    expect(b!.id).toMatch(/^\w+\.2$/);
    expect(msg).toEqual({ type: 'chat', n: 1 });
    client.dispose();
  });

  it('keeps written messages until acknowledged, singly or in a batch', async () => {
    const { client } = makeClient(srv.url);
    const d = delivery(client);
    await tick();
    for (const n of [1, 2, 3]) client.send({ type: 'chat', n });
    await tick();
    expect(d.unacked).toBe(3);
    const [a, b, c] = frames().map((f) => f.id);
    ack(a);
    await tick();
    expect(d.unacked).toBe(2);
    ack(b, c);
    await tick();
    expect(d.unacked).toBe(0);
    client.dispose();
  });

  it('acks are consumed, not dispatched', async () => {
    const { client } = makeClient(srv.url);
    delivery(client);
    const handler = vi.fn();
    client.on('ack', handler);
    client.on('*', handler);
    await tick();
    ack('x');
    await tick();
    expect(handler).not.toHaveBeenCalled();
    client.dispose();
  });

  it('re-sends what was in flight after a reconnect, in order, before the queue', async () => {
    const { client } = makeClient(srv.url);
    const d = delivery(client);
    client.onStateChange((s) => s === 'open' && client.send({ type: 'join' }));
    await tick();
    expect(frames().map((f) => f.type)).toEqual(['join']); // written once, not re-sent as "in flight"
    for (const n of [1, 2, 3]) client.send({ type: 'chat', n });
    await tick();
    ack(frames()[0]!.id, frames()[1]!.id); // join and n=1 acked (frames: join, 1, 2, 3)
    await tick();
    await srv.drop();
    client.send({ type: 'chat', n: 4 }); // queued while down
    await tick(110);
    const second = frames().slice(4);
    expect(second.map((f) => [f.type, f.n])).toEqual([
      ['join', undefined],
      ['chat', 2],
      ['chat', 3],
      ['chat', 4],
    ]);
    expect(second[1]!.id).toBe(frames()[2]!.id); // the same id: the server can drop a repeat
    expect(d.unacked).toBe(4); // the new join is an app message too, plus 2, 3, 4
    client.dispose();
  });

  it('never tracks or replays a `{ queue: false }` send', async () => {
    const { client } = makeClient(srv.url);
    const d = delivery(client);
    await tick();
    client.send({ type: 'typing' }, { queue: false });
    await tick();
    expect(frames()).toEqual([{ type: 'typing' }]);
    expect(d.unacked).toBe(0);
    await srv.drop();
    await tick(110);
    expect(frames()).toEqual([{ type: 'typing' }]);
    client.dispose();
  });

  it('stop() forgets the unacknowledged and leaves messages alone', async () => {
    const { client } = makeClient(srv.url);
    const d = delivery(client);
    await tick();
    client.send({ type: 'a' });
    d.stop();
    client.send({ type: 'b' });
    await tick();
    expect(d.unacked).toBe(0);
    expect(frames()[1]).toEqual({ type: 'b' });
    client.dispose();
  });
});

describe('delivery: incoming', () => {
  it('a message re-sent with the same id reaches handlers once', async () => {
    const { client } = makeClient(srv.url);
    delivery(client);
    const chat = vi.fn();
    client.on('chat', chat);
    await tick();
    for (const id of [1, 2, 1, 3, 2]) srv.push({ type: 'chat', id });
    srv.push({ type: 'chat' }); // no id: never deduplicated
    srv.push({ type: 'chat' });
    await tick();
    expect(chat.mock.calls.map(([m]) => m.id)).toEqual([1, 2, 3, undefined, undefined]);
    client.dispose();
  });

  it('remembers only the last `window` ids', async () => {
    const { client } = makeClient(srv.url);
    delivery(client, { window: 2 });
    const chat = vi.fn();
    client.on('chat', chat);
    await tick();
    for (const id of [1, 2, 3, 1]) srv.push({ type: 'chat', id });
    await tick();
    expect(chat).toHaveBeenCalledTimes(4); // 1 fell out of the window
    client.dispose();
  });
});

describe('delivery: maxUnacked', () => {
  it('refuses the new message at the bound: dropped, reported once with it, never sent', async () => {
    const { client, errors } = makeClient(srv.url);
    const d = delivery(client, { maxUnacked: 2 });
    await tick();
    expect([1, 2, 3].map((n) => client.send({ type: 'chat', n }))).toEqual(['sent', 'sent', 'dropped']);
    await tick();
    expect(d.unacked).toBe(2);
    expect(frames().map((f) => f.n)).toEqual([1, 2]);
    expect(errors.map((e) => [e.code, e.data])).toEqual([['QUEUE_OVERFLOW', { type: 'chat', n: 3 }]]);
    expect(errors[0]!.message).toBe('QUEUE_OVERFLOW: maxUnacked (2) reached: not sent');
    ack(frames()[0]!.id); // room for one more
    await tick();
    expect(client.send({ type: 'chat', n: 4 })).toBe('sent');
    await srv.drop();
    await tick(110); // a reconnect re-sends 2 and 4, and nothing else
    expect(frames().map((f) => f.n)).toEqual([1, 2, 4, 2, 4]);
    expect(errors).toHaveLength(1);
    client.dispose();
  });

  it('bounds unacknowledged + queued while offline too, and delivers exactly what it did not report', async () => {
    const { client, errors } = makeClient(srv.url, { reconnect: { initialDelay: 1000, jitter: 0 } });
    const d = delivery(client, { maxUnacked: 5 });
    const held = () => d.unacked + client.queued;
    let most = 0;
    client.onStateChange(() => {
      most = Math.max(most, held());
    });
    await tick();
    for (const n of [1, 2, 3]) client.send({ type: 'chat', n }); // written, never acknowledged
    await tick();
    await srv.drop();
    const results: string[] = [];
    for (let n = 4; n <= 10; n++) {
      results.push(client.send({ type: 'chat', n }));
      most = Math.max(most, held());
    }
    expect(results).toEqual(['queued', 'queued', 'dropped', 'dropped', 'dropped', 'dropped', 'dropped']);
    expect(held()).toBe(5);
    await tick(1100); // back: 1–3 again, then 4 and 5
    expect(frames().map((f) => f.n)).toEqual([1, 2, 3, 1, 2, 3, 4, 5]);
    expect(errors.map((e) => [e.code, (e.data as Frame).n])).toEqual(
      [6, 7, 8, 9, 10].map((n) => ['QUEUE_OVERFLOW', n]),
    );
    expect(most).toBeLessThanOrEqual(5);
    ack(
      ...frames()
        .slice(3)
        .map((f) => f.id),
    );
    await tick();
    expect(held()).toBe(0);
    await srv.drop();
    await tick(1100); // nothing left to re-send, nothing reported again
    expect(frames()).toHaveLength(8);
    expect(errors).toHaveLength(5);
    client.dispose();
  });

  it('re-sends a written message until it is acknowledged, however old, without a report', async () => {
    const { client, errors } = makeClient(srv.url, { reconnect: { initialDelay: 60_000, jitter: 0 } });
    delivery(client);
    await tick();
    client.send({ type: 'chat', n: 1 });
    await tick();
    await srv.drop();
    await tick(60_100); // back after a minute
    expect(frames().map((f) => f.n)).toEqual([1, 1]);
    expect(errors).toEqual([]);
    client.dispose();
  });
});

describe('delivery: resume', () => {
  /** A client in resume mode that attaches delivery before its first connect. */
  const resumer = (options: Partial<ClientOptions> = {}) => {
    const t = makeClient(srv.url, { ...options, autoConnect: false });
    const d = delivery(t.client, { resume: true });
    const chat = vi.fn();
    t.client.on('chat', chat);
    t.client.connect();
    return { ...t, d, got: () => chat.mock.calls.map(([m]) => m.id) };
  };

  it('performs the handshake on every open, with lastId null before any id was seen', async () => {
    const { client, d } = resumer();
    await tick();
    expect(frames()).toEqual([{ type: 'resume', lastId: null }]);
    srv.push({ type: 'resumed', lastId: 40 });
    srv.push({ type: 'chat', id: 41 });
    srv.push({ type: 'chat', id: 42 });
    await tick();
    expect(d.lastId).toBe(42);
    await srv.drop();
    await tick(110);
    expect(frames()).toEqual([
      { type: 'resume', lastId: null },
      { type: 'resume', lastId: 42 },
    ]);
    expect(d.unacked).toBe(0); // the resume request is not tracked
    client.dispose();
  });

  it('takes the resume point from `resumed`, so a cut before the first message skips nothing', async () => {
    const { client, d } = resumer();
    await tick();
    srv.push({ type: 'resumed', lastId: 40 });
    await tick();
    expect(d.lastId).toBe(40);
    await srv.drop();
    await tick(110);
    expect(frames()[1]).toEqual({ type: 'resume', lastId: 40 });
    client.dispose();
  });

  it('ignores messages with an id that come before `resumed`: the replay brings them in their place', async () => {
    const { client, d, got } = resumer();
    const plain = vi.fn();
    client.on('notice', plain);
    await tick();
    srv.push({ type: 'resumed', lastId: 0 });
    srv.push({ type: 'chat', id: 1 });
    await tick();
    await srv.drop();
    await tick(110);
    srv.push({ type: 'chat', id: 9 }); // live, too early: before the replay of 2–8
    srv.push({ type: 'notice' }); // no id: may come at any time
    await tick();
    expect(d.lastId).toBe(1);
    await srv.drop(); // a cut between the early live message and the replay
    await tick(210); // the second attempt waits 200 ms
    expect(frames().map((f) => f.lastId)).toEqual([null, 1, 1]);
    srv.push({ type: 'resumed', lastId: 1 });
    for (let id = 2; id <= 9; id++) srv.push({ type: 'chat', id });
    await tick();
    expect(got()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(plain).toHaveBeenCalledTimes(1);
    client.dispose();
  });

  it('reports a gap once, as RESUME_GAP, and goes on from the server’s point', async () => {
    const { client, d, errors, got } = resumer();
    const resumed = vi.fn();
    client.on('resumed', resumed);
    await tick();
    srv.push({ type: 'resumed', lastId: 0 });
    srv.push({ type: 'chat', id: 1 });
    await tick();
    await srv.drop();
    await tick(110);
    const answer = { type: 'resumed', lastId: 500, gap: true };
    srv.push(answer);
    srv.push({ type: 'chat', id: 501 });
    await tick();
    expect(errors.map((e) => [e.code, e.data])).toEqual([['RESUME_GAP', { lastId: 1, resumed: 500 }]]);
    expect(errors[0]!.message).toBe('RESUME_GAP: messages after 1 are gone; resumed from 500');
    expect(got()).toEqual([1, 501]);
    expect(resumed).not.toHaveBeenCalled(); // consumed, like acks
    await srv.drop();
    await tick(210); // the second attempt waits 200 ms
    expect(frames()[2]).toEqual({ type: 'resume', lastId: 501 });
    srv.push({ type: 'resumed', lastId: 501 });
    await tick();
    expect(d.lastId).toBe(501);
    expect(errors).toHaveLength(1);
    client.dispose();
  });

  it('resumes after the auth ack, before the queue', async () => {
    const { client } = resumer({
      auth: { message: { type: 'auth', token: 't' }, isAck: (m) => m.type === 'auth_ok' },
    });
    client.send({ type: 'chat', n: 1 }); // queued while connecting
    await tick();
    expect(frames()).toEqual([{ type: 'auth', token: 't' }]);
    srv.push({ type: 'auth_ok' });
    await tick();
    expect(frames().map((f) => f.type)).toEqual(['auth', 'resume', 'chat']);
    client.dispose();
  });

  it('an already connecting client resumes on its first open; an open one from its next', async () => {
    const { client } = makeClient(srv.url); // connecting already
    delivery(client, { resume: true });
    await tick();
    expect(frames()).toEqual([{ type: 'resume', lastId: null }]);
    const late = makeClient(srv.url);
    await tick();
    const d = delivery(late.client, { resume: true });
    srv.push({ type: 'chat', id: 7 }); // to `late`: no handshake on a connection open before delivery
    await tick();
    expect(d.lastId).toBe(7);
    expect(frames()).toHaveLength(1);
    client.dispose();
    late.client.dispose();
  });

  it('guards from the first `resumed` on: a server that never answers one still gets its messages through', async () => {
    const { client, d, got } = resumer();
    await tick();
    srv.push({ type: 'chat', id: 1 });
    await tick();
    await srv.drop();
    await tick(110);
    srv.push({ type: 'chat', id: 2 });
    await tick();
    expect(got()).toEqual([1, 2]);
    expect(frames()).toEqual([
      { type: 'resume', lastId: null },
      { type: 'resume', lastId: 1 },
    ]);
    expect(d.lastId).toBe(2);
    client.dispose();
  });
});

describe('delivery: the client’s typeKey', () => {
  it('reads acks and `resumed` by the client’s typeKey, and sends `resume` with it', async () => {
    const { client, errors } = makeClient(srv.url, { typeKey: 'kind', autoConnect: false });
    const d = delivery(client, { resume: true });
    const all = vi.fn();
    client.on('*', all);
    client.connect();
    await tick();
    expect(srv.frames).toEqual([{ kind: 'resume', lastId: null }]);
    srv.push({ kind: 'resumed', lastId: 40, gap: true });
    client.send({ kind: 'chat' } as never);
    await tick();
    const id = (srv.frames[1] as { id: string }).id;
    expect(d.unacked).toBe(1);
    srv.push({ kind: 'ack', id });
    await tick();
    expect(d.unacked).toBe(0);
    expect(d.lastId).toBe(40);
    expect(errors.map((e) => e.code)).toEqual(['RESUME_GAP']);
    expect(all).not.toHaveBeenCalled(); // neither `resumed` nor the ack reaches a handler
    client.dispose();
  });
});

describe('delivery: option checks', () => {
  it('refuses the removed `ttl` with INVALID_OPTIONS naming it and pointing to queue.ttl', () => {
    const { client } = makeClient(srv.url, { autoConnect: false });
    expect(() => delivery(client, { ttl: 5000 } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/options\.ttl.*queue\.ttl/) }),
    );
    client.dispose();
  });

  it('refuses an unknown option, suggesting the nearest name', () => {
    const { client } = makeClient(srv.url, { autoConnect: false });
    expect(() => delivery(client, { maxUnacket: 5 } as never)).toThrow(
      'INVALID_OPTIONS: delivery: options.maxUnacket is not an option; did you mean maxUnacked?',
    );
    expect(() => delivery(client, { colour: 1 } as never)).toThrow(
      'INVALID_OPTIONS: delivery: options.colour is not an option',
    );
    client.dispose();
  });
});
