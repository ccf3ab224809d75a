// The channel stores, in-process and on a private redis-server: positions, the gap rule, a new
// epoch when the stream is lost, idle expiry, deduplicated publications, presence owners.
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChannelStore, memoryChannels, redisChannels } from '../../demo/server/channels-store';
import { type RedisServer, startRedis } from './redis';

let redis: RedisServer;
const stores: ChannelStore[] = [];
beforeAll(async () => {
  redis = await startRedis();
}, 30_000);
afterAll(async () => {
  for (const s of stores) await s.close();
  await redis?.stop();
});

const kinds: Array<[string, (o: { history?: number; idleMs?: number; prefix: string }) => Promise<ChannelStore>]> = [
  ['memory', async (o) => memoryChannels(o)],
  ['redis', (o) => redisChannels({ url: redis.url, ...o })],
];

describe.each(kinds)('%s store', (kind, make) => {
  let n = 0;
  const store = async (o: { history?: number; idleMs?: number } = {}) => {
    const s = await make({ ...o, prefix: `${kind}${n++}:` });
    stores.push(s);
    return s;
  };

  it('offsets from 1 per channel; recovery within the history, the gap rule outside it', async () => {
    const s = await store({ history: 3 });
    const first = await s.read('a');
    expect(first).toMatchObject({ offset: 0, recovered: false, pubs: [] });
    for (let i = 1; i <= 5; i++) await s.publish('a', { i });
    const since = { epoch: first.epoch, offset: 2 };
    const r = await s.read('a', since);
    expect(r).toMatchObject({ epoch: first.epoch, offset: 5, recovered: true });
    expect(r.pubs.map((f) => JSON.parse(f).data.i)).toEqual([3, 4, 5]);
    // offset 1: publication 2 is trimmed (history 3 keeps 3..5)
    expect(await s.read('a', { epoch: first.epoch, offset: 1 })).toMatchObject({ recovered: false, pubs: [] });
    expect(await s.read('a', { epoch: 'other', offset: 4 })).toMatchObject({ recovered: false });
    expect(await s.read('a', { epoch: first.epoch, offset: 5 })).toMatchObject({ recovered: true, pubs: [] });
    expect(await s.read('a', { epoch: first.epoch, offset: 9 })).toMatchObject({ recovered: false });
  });

  it('a publication id is appended once', async () => {
    const s = await store();
    const d = { user: 'u', id: 'sess.1' };
    expect(await s.publish('b', 1, d)).toBe(true);
    expect(await s.publish('b', 1, d)).toBe(false);
    expect(await s.publish('b', 1, { user: 'other', id: 'sess.1' })).toBe(true); // per user
    expect((await s.read('b')).offset).toBe(2);
  });

  it('presence: a member taken over by another owner is not removed by the old one', async () => {
    const s = await store();
    const frames: string[] = [];
    s.onEvent((_c, f) => frames.push(f));
    await s.join('p', { client: 'x', user: 'u' }, 'conn1');
    await s.join('p', { client: 'x', user: 'u' }, 'conn2'); // a reconnect: no second join
    await s.leave('p', 'x', 'conn1'); // the old connection's grace ends: nothing
    expect((await s.members('p')).map((m) => m.client)).toEqual(['x']);
    await s.leave('p', 'x', 'conn2');
    expect(await s.members('p')).toEqual([]);
    await new Promise((r) => setTimeout(r, 100));
    expect(frames.map((f) => JSON.parse(f).type)).toEqual(['presence_join', 'presence_leave']);
  });
});

describe('redis store', () => {
  it('a lost stream gets a new epoch; channel keys expire when idle', async () => {
    const s = await redisChannels({ url: redis.url, prefix: 'lost:', idleMs: 60_000 });
    stores.push(s);
    const first = await s.read('c');
    await s.publish('c', 1);
    await s.publish('c', 2);
    const r = createClient({ url: redis.url });
    await r.connect();
    const ttl = Number(await r.sendCommand(['PTTL', 'lost:ch:c:log']));
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await r.sendCommand(['DEL', 'lost:ch:c:log']); // the history is lost (evicted, flushed)
    await r.close();
    const after = await s.read('c', { epoch: first.epoch, offset: 2 });
    expect(after.epoch).not.toBe(first.epoch);
    expect(after).toMatchObject({ offset: 0, recovered: false });
  });
});
