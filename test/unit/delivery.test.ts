import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { delivery } from '../../src/delivery';
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

  it('bounds unacknowledged + queued by maxUnacked, reporting what it drops', async () => {
    const { client, errors } = makeClient(srv.url);
    const d = delivery(client, { maxUnacked: 2 });
    await tick();
    for (const n of [1, 2, 3]) client.send({ type: 'chat', n });
    await tick();
    expect(d.unacked).toBe(2);
    expect(errors.map((e) => [e.code, (e.data as Frame).n])).toEqual([['QUEUE_OVERFLOW', 1]]);
    client.dispose();
  });

  it('reports an unacknowledged message older than ttl instead of re-sending it', async () => {
    const { client, errors } = makeClient(srv.url, { reconnect: { initialDelay: 2000, jitter: 0 } });
    delivery(client, { ttl: 1000 });
    await tick();
    client.send({ type: 'chat', n: 1 });
    await tick();
    await srv.drop();
    await tick(2100); // back after 2 s: the message is 2 s old
    expect(errors.map((e) => [e.code, (e.data as Frame).n])).toEqual([['QUEUE_EXPIRED', 1]]);
    expect(frames().filter((f) => f.n === 1)).toHaveLength(1);
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

  it('with resume, asks the server to replay from the last id after every reconnect', async () => {
    const { client } = makeClient(srv.url);
    const d = delivery(client, { resume: true });
    await tick();
    expect(frames()).toEqual([]); // nothing seen yet: nothing to resume
    srv.push({ type: 'chat', id: 41 });
    srv.push({ type: 'chat', id: 42 });
    await tick();
    expect(d.lastId).toBe(42);
    await srv.drop();
    await tick(110);
    expect(frames()).toEqual([{ type: 'resume', lastId: 42 }]);
    expect(d.unacked).toBe(0); // the resume request is not tracked
    client.dispose();
  });
});
