// Room limits on both buses: a cap per connection and in total (cluster-wide on Redis), and
// idle room logs forgotten (on Redis: PEXPIRE on the stream keys, refreshed on activity).
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Bus, type DemoServer, memoryBus, redisBus, startDemoServer } from '../../demo/server';
import { type DemoClient, demoClient, type Msg, sleep } from './demo-client';
import { type RedisServer, startRedis } from './redis';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

const maxRooms = 5;
const roomIdleMs = 600;
let prefix = '';
const kinds = {
  memory: async (): Promise<Bus[]> => {
    const bus = memoryBus({ maxRooms, roomIdleMs });
    return [bus, bus];
  },
  redis: async (): Promise<Bus[]> => {
    prefix = `t${randomBytes(4).toString('hex')}:`;
    const opts = { url: redis.url, prefix, maxRooms, roomIdleMs };
    return Promise.all([redisBus(opts), redisBus(opts)]);
  },
};

describe.each(Object.keys(kinds) as Array<keyof typeof kinds>)('%s bus', (kind) => {
  let a: DemoServer;
  let b: DemoServer;
  const clients: DemoClient[] = [];
  const client = async (s: DemoServer, token = 'demo-token'): Promise<DemoClient> => {
    const c = await demoClient(s.wsUrl, token);
    clients.push(c);
    return c;
  };
  /** Join: `'joined'`, or the error message. */
  const join = async (c: DemoClient, room: string): Promise<string> => {
    const from = c.messages.length;
    c.send({ type: 'join', room });
    const m = await c.waitFor(
      (x) => x.type === 'error' || (x.type === 'system' && x.room === room && String(x.text).endsWith(' joined')),
      3000,
      from,
    );
    return m.type === 'error' ? String(m.message) : 'joined';
  };

  // a fresh pair of endpoints per test: the limits are the bus's state
  beforeEach(async () => {
    const [busA, busB] = await kinds[kind]();
    const limits = { roomsPerConnection: 3 };
    a = await startDemoServer({ quiet: true, priceIntervalMs: 0, bus: busA, limits });
    b = busB === busA ? a : await startDemoServer({ quiet: true, priceIntervalMs: 0, bus: busB, limits });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await a.close();
    if (b !== a) await b.close();
  });

  it('caps the rooms one connection joins (limits.roomsPerConnection), with a clear error', async () => {
    const c = await client(a);
    for (const room of ['p0', 'p1', 'p2']) expect(await join(c, room)).toBe('joined');
    expect(await join(c, 'p3')).toBe('room limit: a connection may join at most 3 rooms');
    expect(await join(c, 'p0')).toBe('joined'); // one it joined before
  });

  it('caps the rooms in total, across endpoints (bus maxRooms), with a clear error', async () => {
    const one = await client(a);
    const two = await client(b);
    for (const room of ['q0', 'q1', 'q2']) expect(await join(one, room)).toBe('joined');
    for (const room of ['q3', 'q4']) expect(await join(two, room)).toBe('joined');
    const three = await client(b);
    expect(await join(three, 'q5')).toBe(`room limit: the server has its maximum of ${maxRooms} rooms`);
    expect(await join(three, 'q1')).toBe('joined'); // an existing room is fine
  });

  it('forgets an idle room log after roomIdleMs; a resume from before reports the gap', async () => {
    const writer = await client(a);
    await join(writer, 'idle');
    writer.send({ type: 'message', text: 'old line' });
    await writer.waitFor((m) => m.type === 'chat');
    if (kind === 'redis') {
      const r = createClient({ url: redis.url });
      await r.connect();
      const ttl = await r.pTTL(`${prefix}log:idle`);
      await r.close();
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(roomIdleMs);
    }
    writer.send({ type: 'leave' });
    await sleep(roomIdleMs * 2);
    const reader = await client(b);
    await join(reader, 'idle');
    const from = reader.messages.length;
    reader.send({ type: 'resume', lastId: 0 });
    const resumed = await reader.waitFor((m) => m.type === 'resumed', 3000, from);
    await sleep(100);
    expect(resumed.gap).toBe(true);
    expect(reader.messages.slice(from).filter((m: Msg) => m.type === 'chat')).toEqual([]);
    // the room starts a new log; a resume from before the old one still reports the gap
    reader.send({ type: 'message', text: 'new line' });
    await reader.waitFor((m) => m.type === 'chat' && m.text === 'new line');
    const again = await client(a);
    await join(again, 'idle');
    const mark = again.messages.length;
    again.send({ type: 'resume', lastId: 0 });
    expect(await again.waitFor((m) => m.type === 'resumed', 3000, mark)).toMatchObject({ gap: true });
    await again.waitFor((m) => m.type === 'chat' && m.text === 'new line', 3000, mark);
    // and its place counts no more: as many new rooms as the cap allows
    const c = await client(a);
    const d = await client(b);
    for (const room of ['n0', 'n1']) expect(await join(c, room)).toBe('joined');
    for (const room of ['n2', 'n3']) expect(await join(d, room)).toBe('joined');
  });
});
