// Channels on a real cluster: a private redis-server and three demo instances as child
// processes. Recovery per channel while connections are cut at random and one instance is
// SIGKILLed and restarted; presence seen on every instance. Figures are printed (`[channels]`).
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Instance, spawnInstance } from '../../demo/instances';
import { audit, cutter, type Peer, peer, publishing, sleep, until } from './channels-harness';
import { demoClient } from './demo-client';
import { freePort, type RedisServer, startRedis } from './redis';

const NAMES = Array.from({ length: 20 }, (_, i) => `room:${i}`);
let redis: RedisServer;
let ports: number[];
let endpoints: string[];
let instances: Instance[];
const peers: Peer[] = [];

const start = (port: number): Promise<Instance> => spawnInstance({ port, redis: redis.url, endpoints, quiet: true });
/** Instance `i % 3` first, then the others: an even spread, as a balancer would give. */
const urls = (i: number): string[] => [0, 1, 2].map((k) => endpoints[(i + k) % 3] as string);
const add = (p: Peer): Peer => {
  peers.push(p);
  return p;
};

beforeAll(async () => {
  redis = await startRedis();
  ports = [await freePort(), await freePort(), await freePort()];
  endpoints = ports.map((p) => `ws://127.0.0.1:${p}/ws`);
  instances = await Promise.all(ports.map(start));
}, 60_000);

afterAll(async () => {
  for (const p of peers) p.client.dispose();
  await Promise.all((instances ?? []).map((i) => i.kill()));
  await redis?.stop();
}, 30_000);

describe('channels on three instances and Redis', () => {
  it('50 clients × 5 of 20 channels, cuts every 100–400 ms, one instance SIGKILLed and restarted', async () => {
    const subs = Array.from({ length: 50 }, (_, i) =>
      add(
        peer(
          urls(i),
          [0, 1, 2, 3, 4].map((k) => NAMES[(i + 4 * k) % 20] as string),
        ),
      ),
    );
    const pubs = Array.from({ length: 6 }, (_, i) => add(peer(urls(i), [])));
    await until(
      () => subs.every((p) => [...p.subs.values()].every((c) => c.state === 'subscribed')),
      20_000,
      'subscribed',
    );
    const t0 = Date.now();
    const run = publishing(pubs, NAMES, 100);
    const cuts = cutter([...subs, ...pubs]);
    await sleep(2500);
    await instances[0]?.kill();
    const killedAfter = Date.now() - t0;
    await sleep(3000);
    instances[0] = await start(ports[0] as number);
    const restartedAfter = Date.now() - t0;
    await sleep(3000);
    const nCuts = cuts.stop();
    run.stop();
    await until(() => pubs.every((p) => p.d.unacked === 0 && p.client.queued === 0), 20_000, 'publishers acked');
    const want = (p: Peer) => [...p.got].every(([name, got]) => got.length >= (run.sent.get(name)?.length ?? 0));
    await until(() => subs.every(want), 20_000, 'every publication delivered');
    await sleep(500); // a duplicate would arrive now
    const f = audit(subs, run.sent);
    console.log(
      `[channels] cluster: killed at ${killedAfter} ms, restarted at ${restartedAfter} ms, ${nCuts} cuts, ` +
        `settled ${Date.now() - t0} ms after the start; ${JSON.stringify(f)}`,
    );
    expect(nCuts).toBeGreaterThan(10);
    expect(f).toMatchObject({ duplicates: 0, reorders: 0, silentSkips: 0, lost: 0, gapsReported: 0 });
    expect(f.sent).toBeGreaterThan(200);
    // the streams hold every publication once
    const r = createClient({ url: redis.url });
    await r.connect();
    let inStreams = 0;
    for (const name of NAMES) inStreams += Number(await r.sendCommand(['XLEN', `rws:ch:${name}:log`]));
    await r.close();
    expect(inStreams).toBe(f.sent);
  }, 90_000);

  it('presence across instances: joins and leaves seen everywhere, a brief cut is no leave, a closed page goes within the grace', async () => {
    const a = add(peer([endpoints[0] as string], ['p:lobby'], 'alice'));
    const b = add(peer([endpoints[1] as string, endpoints[2] as string], ['p:lobby'], 'bob'));
    const c = add(peer([endpoints[2] as string], ['p:lobby'], 'demo-token'));
    const users = (p: Peer) => (p.subs.get('p:lobby')?.presence.members ?? []).map((m) => m.user).sort();
    await until(() => [a, b, c].every((p) => users(p).length === 3), 10_000, 'three members everywhere');
    expect(users(a)).toEqual(['alice', 'bob', 'demo']);
    const changes: Array<{ who: string; joined: string[]; left: string[]; at: number }> = [];
    for (const [who, p] of [
      ['a', a],
      ['c', c],
    ] as const)
      p.subs.get('p:lobby')?.presence.onChange((_m, ch) =>
        changes.push({
          who,
          joined: ch.joined.map((x) => x.user ?? ''),
          left: ch.left.map((x) => x.user ?? ''),
          at: Date.now(),
        }),
      );
    // bob's connection is cut; it comes back on the other instance of its list
    b.sockets.at(-1)?.terminate();
    await until(() => b.opens === 2 && b.subs.get('p:lobby')?.state === 'subscribed', 10_000, 'bob back');
    await sleep(6500); // past the grace (5 s)
    expect(changes).toEqual([]);
    // bob's page closes: everyone sees the leave within the grace plus a margin
    const closedAt = Date.now();
    b.client.dispose();
    await until(() => changes.length === 2, 12_000, 'leave seen');
    const after = changes.map((x) => x.at - closedAt);
    console.log(
      `[channels] cluster presence: a closed page's leave seen after ${after.join(' / ')} ms (grace 5000 ms)`,
    );
    expect(changes.map((x) => [x.who, x.left])).toEqual(
      expect.arrayContaining([
        ['a', ['bob']],
        ['c', ['bob']],
      ]),
    );
    // not before the grace either (a member in its grace is still its instance's, never swept as stale)
    for (const ms of after) expect(ms).toBeGreaterThanOrEqual(4950);
    for (const ms of after) expect(ms).toBeLessThan(9000);
    // a member on an instance that is killed goes once its entry is stale (6 s) and swept (every 2 s)
    const raw = await demoClient(endpoints[1] as string, 'bob');
    raw.send({ type: 'sub', channel: 'p:lobby', client: 'raw-bob' });
    await until(() => users(a).length === 3, 5000, 'raw bob joined');
    const killedAt = Date.now();
    await instances[1]?.kill();
    await until(() => users(a).length === 2, 15_000, 'raw bob gone');
    const gone = Date.now() - killedAt;
    console.log(`[channels] cluster presence: a killed instance's member gone after ${gone} ms`);
    expect(gone).toBeLessThan(12_000);
    instances[1] = await start(ports[1] as number);
  }, 90_000);
});
