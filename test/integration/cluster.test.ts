// Chaos on a real cluster: a private redis-server and three demo instances as child processes,
// 30 SDK clients (delivery mode, a list of endpoints each) spread over them. One instance is
// killed with SIGKILL under load, then restarted. Figures are printed (`[cluster]` lines).
import { createClient } from 'redis';
import { type Message as Msg, WebSocketClient, type WebSocketConstructor } from 'resilient-ws';
import { type Delivery, delivery } from 'resilient-ws/delivery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Instance, spawnInstance } from '../../demo/instances';
import type { StatsResponse } from '../../demo/protocol';
import { demoClient, sleep, until } from './demo-client';
import { freePort, type RedisServer, startRedis } from './redis';

const ROOM = 'chaos';
const N = 30;

let redis: RedisServer;
let ports: number[];
let endpoints: string[];
let instances: Instance[];
const members: Member[] = [];

interface Member {
  i: number;
  client: WebSocketClient<Msg, Msg>;
  d: Delivery;
  /** chat ids as the handler got them */
  got: number[];
  /** when the client became open, each time */
  opens: number[];
  /** when it started reconnecting, each time */
  losses: number[];
}

const start = (port: number): Promise<Instance> => spawnInstance({ port, redis: redis.url, endpoints, quiet: true });

/** Member `i` tries the instances starting at `i % 3`: an even spread, as a balancer would give. */
function member(i: number): Member {
  const urls = [0, 1, 2].map((k) => endpoints[(i + k) % 3] as string);
  const m = { i, got: [], opens: [], losses: [] } as unknown as Member;
  m.client = new WebSocketClient<Msg, Msg>({
    url: urls,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    autoConnect: false,
    auth: { message: { type: 'auth', token: 'demo-token' }, isAck: (msg) => msg.type === 'auth_ok' },
    // the first retry within 0.5 s, as on the demo pages (the default spreads it over 2.5 s)
    reconnect: { initialDelay: 500, maxDelay: 2000 },
    heartbeat: false, // a killed process's sockets close at once; nothing half-open here
    pageEvents: false,
  });
  m.d = delivery(m.client, { resume: true }); // after a failover, the new instance replays from the shared log
  m.client.onStateChange((s) => {
    if (s === 'reconnecting') m.losses.push(Date.now());
    if (s !== 'open') return;
    m.opens.push(Date.now());
    // room membership belongs to the connection: joined afresh on every open, never replayed
    m.client.send({ type: 'join', room: ROOM }, { queue: false });
  });
  m.client.on('chat', (msg) => {
    m.got.push(msg.id as number);
  });
  m.client.connect();
  return m;
}

async function stats(inst: Instance): Promise<StatsResponse> {
  return (await (await fetch(`${inst.url}/stats`)).json()) as StatsResponse;
}

/** The room's shared log, straight from Redis: [id, text] in order. */
async function log(room = ROOM): Promise<Array<{ id: number; text: string; timestamp: number }>> {
  const r = createClient({ url: redis.url });
  await r.connect();
  const entries = (await r.sendCommand(['XRANGE', `rws:log:${room}`, '-', '+'])) as Array<[string, string[]]>;
  await r.close();
  return entries.map(([, f]) => JSON.parse(f[1] as string) as { id: number; text: string; timestamp: number });
}

async function settle(timeoutMs: number): Promise<Awaited<ReturnType<typeof log>>> {
  await until(
    () => members.every((m) => m.client.state === 'open' && m.d.unacked === 0 && m.client.queued === 0),
    timeoutMs,
  );
  const lines = await log();
  await until(() => members.every((m) => m.got.length >= lines.length), timeoutMs);
  await sleep(200); // anything extra (a duplicate) would arrive now
  return lines;
}

beforeAll(async () => {
  redis = await startRedis();
  ports = [await freePort(), await freePort(), await freePort()];
  endpoints = ports.map((p) => `ws://127.0.0.1:${p}/ws`);
  instances = await Promise.all(ports.map(start));
}, 60_000);

afterAll(async () => {
  for (const m of members) m.client.dispose();
  await Promise.all((instances ?? []).map((i) => i.kill()));
  await redis?.stop();
}, 30_000);

describe('three instances on Redis', () => {
  it('spreads 30 clients, and every chat line reaches every member on every instance exactly once', async () => {
    for (let i = 0; i < N; i++) members.push(member(i));
    await until(() => members.every((m) => m.opens.length > 0), 10_000);
    let counts: number[] = [];
    for (let t = 0; t < 50; t++) {
      counts = await Promise.all(instances.map(async (inst) => (await stats(inst)).rooms[ROOM] ?? 0));
      if (counts.every((c) => c === 10)) break;
      await sleep(100);
    }
    expect(counts).toEqual([10, 10, 10]);

    for (const m of members) for (const k of [1, 2]) m.client.send({ type: 'message', text: `p${m.i}.${k}` });
    const lines = await settle(10_000);
    expect(lines).toHaveLength(2 * N);
    expect(new Set(lines.map((l) => l.text)).size).toBe(2 * N);
    for (const m of members) expect(m.got).toEqual(lines.map((l) => l.id));
  }, 30_000);

  it('SIGKILL one instance under load: its clients are back within 2 s, nothing lost or duplicated', async () => {
    const sent: string[] = [];
    let n = 0;
    const sender = setInterval(() => {
      n++;
      for (const m of members) {
        const text = `k${m.i}.${n}`;
        sent.push(text);
        m.client.send({ type: 'message', text });
      }
    }, 250);
    await sleep(1000);
    const killAt = Date.now();
    await instances[0]?.kill();
    const deadAfter = Date.now() - killAt;
    await sleep(2500);
    clearInterval(sender);

    const lines = await settle(15_000);
    // client → server: every message sent is in the shared log exactly once
    const texts = lines.map((l) => l.text).filter((t) => t.startsWith('k'));
    expect(texts.length).toBe(sent.length);
    expect(new Set(texts)).toEqual(new Set(sent));
    // server → client: every member got every line, once, across the failover
    const ids = lines.map((l) => l.id);
    for (const m of members) {
      expect(new Set(m.got).size).toBe(m.got.length);
      expect(m.got).toEqual(ids); // in id order, across the failover too
    }

    const moved = members.filter((m) => m.losses.some((t) => t >= killAt));
    // per client: from the kill signal, and from the moment it saw the connection go (on a busy
    // host the OS itself may take a while to kill the process)
    const lost = moved.map((m) => m.losses.find((t) => t >= killAt) as number);
    const back = moved.map((m) => m.opens.find((t) => t >= killAt) as number);
    const fromKill = back.map((t) => t - killAt).sort((a, b) => a - b);
    const fromLoss = back.map((t, k) => t - (lost[k] as number)).sort((a, b) => a - b);
    const fmt = (xs: number[]) => `min ${xs[0]} / median ${xs[Math.floor(xs.length / 2)]} / max ${xs.at(-1)} ms`;
    // lines posted while a moved client was away reached it only through `resume` (no history on join)
    const missed = moved.reduce(
      (sum, _m, k) =>
        sum + lines.filter((l) => l.timestamp > (lost[k] as number) && l.timestamp < (back[k] as number)).length,
      0,
    );
    console.log(
      `[cluster] SIGKILL: process gone after ${deadAfter} ms; ${moved.length} clients moved; back ` +
        `${fmt(fromKill)} after the signal, ${fmt(fromLoss)} after the loss; ` +
        `${sent.length} sent during the run, ${texts.length} in the log (0 lost, 0 duplicated), ` +
        `${missed} lines replayed by resume to the moved clients, ` +
        `${members.reduce((s, m) => s + m.got.length, 0)} chat deliveries (${lines.length} lines × ${N} clients)`,
    );
    expect(moved).toHaveLength(10);
    expect(missed).toBeGreaterThan(0);
    expect(fromLoss.at(-1)).toBeLessThan(2000);
    const left = await Promise.all(instances.slice(1).map(async (inst) => (await stats(inst)).authenticated));
    expect(left[0] + left[1]).toBe(N);
  }, 40_000);

  it('resume replays from the shared log on another instance', async () => {
    const reader = await demoClient(endpoints[1] as string, 'bob');
    await reader.join('resume-x');
    const writer = await demoClient(endpoints[2] as string, 'alice');
    await writer.join('resume-x');
    writer.send({ type: 'message', text: 'seen' });
    await reader.waitFor((m) => m.type === 'chat' && m.text === 'seen');
    const lastId = reader.of('chat')[0]?.id as number;
    reader.close();
    for (const text of ['missed 1', 'missed 2', 'missed 3']) writer.send({ type: 'message', text });
    await until(() => writer.of('chat').length === 4);
    const back = await demoClient(endpoints[2] as string, 'bob'); // another instance
    await back.join('resume-x');
    back.send({ type: 'resume', lastId });
    // (the instances replay the room's last lines on join, marked `replay`; resume's are not)
    const resumed = () => back.of('chat').filter((m) => m.replay === undefined);
    await until(() => resumed().length === 3);
    await sleep(50);
    expect(resumed().map((m) => m.text)).toEqual(['missed 1', 'missed 2', 'missed 3']);
    back.close();
    writer.close();
  });

  it('a restarted instance rejoins the cluster', async () => {
    const restarted = await start(ports[0] as number);
    instances[0] = restarted;
    const fresh = await demoClient(restarted.wsUrl, 'alice');
    await fresh.join(ROOM);
    const before = (await log()).length;
    fresh.send({ type: 'message', text: 'from the restarted one' });
    await until(() => members.every((m) => m.got.length === before + 1), 5000);
    members[1]?.client.send({ type: 'message', text: 'to the restarted one' });
    await fresh.waitFor((m) => m.type === 'chat' && m.text === 'to the restarted one');
    let users: unknown;
    await until(() => {
      fresh.send({ type: 'request', requestId: 'w', op: 'who' });
      users = fresh.of('reply').at(-1)?.users;
      return Array.isArray(users) && users.length === N + 1;
    }, 5000);
    fresh.close();
  }, 60_000);
});
