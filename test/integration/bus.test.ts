// The same behaviour on both buses. Two endpoints, A and B: with the in-process bus both are
// the one server; with the Redis bus they are two servers on a private redis-server. What a
// client sees must not depend on which endpoint it uses, nor on the bus.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Bus, type DemoServer, memoryBus, redisBus, startDemoServer } from '../../demo/server';
import { type DemoClient, demoClient, type Msg, sleep, until } from './demo-client';
import { type RedisServer, startRedis } from './redis';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

/** Lines kept per room: small, so a test can outrun the log. */
const logSize = 5;
const kinds = {
  memory: async (): Promise<Bus[]> => {
    const bus = memoryBus({ logSize });
    return [bus, bus];
  },
  redis: async (): Promise<Bus[]> => {
    const prefix = `t${randomBytes(4).toString('hex')}:`;
    return Promise.all([redisBus({ url: redis.url, prefix, logSize }), redisBus({ url: redis.url, prefix, logSize })]);
  },
};

describe.each(Object.keys(kinds) as Array<keyof typeof kinds>)('%s bus', (kind) => {
  let a: DemoServer;
  let b: DemoServer;
  const clients: DemoClient[] = [];
  const client = async (s: DemoServer, token = 'demo-token', extra: object = {}) => {
    const c = await demoClient(s.wsUrl, token, extra);
    clients.push(c);
    return c;
  };
  const chats = (c: DemoClient): Msg[] => c.of('chat');

  beforeAll(async () => {
    const [busA, busB] = await kinds[kind]();
    a = await startDemoServer({ quiet: true, priceIntervalMs: 0, bus: busA });
    b = busB === busA ? a : await startDemoServer({ quiet: true, priceIntervalMs: 0, bus: busB });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('a chat line posted on either endpoint reaches every member on both, once, in one id order', async () => {
    const members = await Promise.all([client(a), client(a, 'alice'), client(b, 'bob'), client(b)]);
    for (const m of members) await m.join('all');
    for (let i = 0; i < 10; i++) (members[i % 4] as DemoClient).send({ type: 'message', text: `line ${i}` });
    await until(() => members.every((m) => chats(m).length >= 10));
    await sleep(50);
    const seen = members.map((m) => chats(m).map((c) => c.id));
    for (const ids of seen) {
      expect(ids).toHaveLength(10);
      expect(ids).toEqual([...ids].sort((x, y) => (x as number) - (y as number)));
      expect(ids).toEqual(seen[0]);
    }
    expect(new Set(chats(members[0] as DemoClient).map((c) => c.text)).size).toBe(10);
  });

  it('a short-lived token issued by one endpoint is accepted by the other', async () => {
    const { token, user } = (await (await fetch(`${a.url}/token?ttl=30`)).json()) as { token: string; user: string };
    const c = await client(b, token);
    expect(c.of('auth_ok')[0]).toMatchObject({ user });
  });

  it('a message id handled on one endpoint is acked, not handled again, on the other', async () => {
    const listener = await client(b, 'bob');
    await listener.join('dedupe');
    const first = await client(a, 'alice');
    await first.join('dedupe');
    const id = `s${randomBytes(3).toString('hex')}.1`;
    first.send({ type: 'message', text: 'once', id });
    await first.waitFor((m) => m.type === 'ack' && m.id === id);
    const second = await client(b, 'alice'); // the same client after a failover, re-sending
    await second.join('dedupe');
    second.send({ type: 'message', text: 'once', id });
    await second.waitFor((m) => m.type === 'ack' && m.id === id);
    await sleep(100);
    expect(chats(listener).filter((m) => m.text === 'once')).toHaveLength(1);
  });

  it('dedupe is per user: the same client id from another user is handled, not swallowed', async () => {
    const listener = await client(a);
    await listener.join('per-user');
    const bob = await client(a, 'bob');
    await bob.join('per-user');
    const alice = await client(b, 'alice');
    await alice.join('per-user');
    const id = `S${randomBytes(3).toString('hex')}.1`;
    bob.send({ type: 'message', text: 'from bob', id });
    await bob.waitFor((m) => m.type === 'ack' && m.id === id);
    alice.send({ type: 'message', text: 'from alice', id });
    await alice.waitFor((m) => m.type === 'ack' && m.id === id);
    await until(() => chats(listener).length >= 2);
    expect(chats(listener).map((m) => m.text)).toEqual(['from bob', 'from alice']);
    // and for any message with an id, not only chat lines
    const echo = `E${randomBytes(3).toString('hex')}.1`;
    bob.send({ type: 'echo', id: echo });
    await bob.waitFor((m) => m.type === 'echo' && m.id === echo);
    alice.send({ type: 'echo', id: echo });
    await alice.waitFor((m) => m.type === 'echo' && m.id === echo);
  });

  it('resume on the other endpoint: resumed, the log after lastId, then live lines, none twice', async () => {
    const writer = await client(a, 'alice');
    await writer.join('resume');
    for (const text of ['r1', 'r2', 'r3', 'r4']) writer.send({ type: 'message', text });
    await until(() => chats(writer).length === 4);
    const lastId = chats(writer)[0]?.id as number;
    const reader = await client(b, 'bob');
    await reader.join('resume');
    const from = reader.messages.length;
    reader.send({ type: 'resume', lastId });
    writer.send({ type: 'message', text: 'live' });
    await until(() => chats(reader).length === 4);
    await sleep(50);
    const after = reader.messages.slice(from).filter((m) => m.type === 'resumed' || m.type === 'chat');
    expect(after.map((m) => (m.type === 'resumed' ? m : m.text))).toEqual([
      { type: 'resumed', lastId },
      'r2',
      'r3',
      'r4',
      'live',
    ]);
  });

  it('resume from null starts from now: resumed with the newest id, no replay', async () => {
    const writer = await client(a, 'alice');
    await writer.join('from-now');
    writer.send({ type: 'message', text: 'old' });
    await until(() => chats(writer).length === 1);
    const reader = await client(b, 'bob');
    await reader.join('from-now');
    reader.send({ type: 'resume', lastId: null });
    const resumed = await reader.next('resumed');
    expect(resumed.lastId).toBeGreaterThanOrEqual(chats(writer)[0]?.id as number);
    expect(resumed.gap).toBeUndefined();
    writer.send({ type: 'message', text: 'new' });
    await reader.waitFor((m) => m.type === 'chat' && m.text === 'new');
    expect(chats(reader).map((m) => m.text)).toEqual(['new']);
  });

  it('a resume from before the trimmed part of the log is answered with a gap, never silently', async () => {
    const writer = await client(a, 'alice');
    await writer.join('gap');
    for (let i = 1; i <= logSize + 3; i++) writer.send({ type: 'message', text: `g${i}` });
    await until(() => chats(writer).length === logSize + 3);
    const ids = chats(writer).map((m) => m.id as number);
    const reader = await client(b, 'bob');
    await reader.join('gap');
    reader.send({ type: 'resume', lastId: ids[0] });
    // g1 … g3 are trimmed: the newest gone is g3
    expect(await reader.next('resumed')).toEqual({ type: 'resumed', lastId: ids[2], gap: true });
    await until(() => chats(reader).length === logSize);
    expect(chats(reader).map((m) => m.text)).toEqual(['g4', 'g5', 'g6', 'g7', 'g8']);
  });

  it('who lists the room’s members on both endpoints', async () => {
    const x = await client(a, 'alice');
    const y = await client(b, 'bob');
    await x.join('who');
    await y.join('who');
    let users: unknown;
    await until(() => {
      x.send({ type: 'request', requestId: 'w', op: 'who' });
      users = x.of('reply').at(-1)?.users;
      return Array.isArray(users) && users.length === 2;
    }, 4000);
    expect([...(users as string[])].sort()).toEqual(['alice', 'bob']);
  });
});
