// Channels against the reference server on its in-process bus, on real `ws` sockets: recovery
// per channel under random cuts, refusals and isolation, gaps, presence, live token refresh.
import { type Message, WebSocketClient, type WebSocketClientError } from 'resilient-ws';
import { channels, type Member } from 'resilient-ws/channels';
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { type DemoServer, startDemoServer } from '../../demo/server/index';
import { tokens } from '../../demo/server/tokens';
import { audit, cutter, keeping, type Peer, peer, publishing, sleep, until } from './channels-harness';

const stops: (() => unknown)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

const NAMES = Array.from({ length: 20 }, (_, i) => `room:${i}`);

async function server(opts: Parameters<typeof startDemoServer>[0] = {}): Promise<DemoServer> {
  const s = await startDemoServer({ quiet: true, priceIntervalMs: 0, rateLimit: 1000, ...opts });
  stops.push(() => s.close());
  return s;
}
const keep = (p: Peer): Peer => {
  stops.push(() => p.client.dispose());
  return p;
};

describe('channels on one server', () => {
  it('50 clients × 5 of 20 channels, cuts every 100–400 ms: every publication once, in order', async () => {
    const s = await server();
    const subs = Array.from({ length: 50 }, (_, i) =>
      keep(
        peer(
          [s.wsUrl],
          [0, 1, 2, 3, 4].map((k) => NAMES[(i + 4 * k) % 20] as string),
        ),
      ),
    );
    const pubs = Array.from({ length: 4 }, () => keep(peer([s.wsUrl], [])));
    await until(
      () => subs.every((p) => [...p.subs.values()].every((c) => c.state === 'subscribed')),
      15_000,
      'subscribed',
    );
    const run = publishing(pubs, NAMES, 50);
    const cuts = cutter([...subs, ...pubs]);
    await sleep(6000);
    const nCuts = cuts.stop();
    run.stop();
    await until(() => pubs.every((p) => p.d.unacked === 0 && p.client.queued === 0), 15_000, 'publishers acked');
    const want = (p: Peer) => [...p.got].every(([name, got]) => got.length >= (run.sent.get(name)?.length ?? 0));
    await until(() => subs.every(want), 15_000, 'every publication delivered');
    await sleep(300); // a duplicate would arrive now
    const f = audit(subs, run.sent);
    console.log(`[channels] one server: ${nCuts} cuts; ${JSON.stringify(f)}`);
    expect(nCuts).toBeGreaterThan(10);
    expect(f).toMatchObject({ duplicates: 0, reorders: 0, silentSkips: 0, lost: 0, gapsReported: 0, extraGaps: 0 });
    expect(f.received).toBe(
      subs.reduce((n, p) => n + [...p.got.keys()].reduce((m, k) => m + (run.sent.get(k)?.length ?? 0), 0), 0),
    );
    expect(f.sent).toBeGreaterThan(300);
  }, 60_000);

  it('history of 3 under the same chaos: skips happen only at reported gaps, each reported once', async () => {
    const s = await server({ limits: { channelHistory: 3 } });
    const subs = Array.from({ length: 30 }, (_, i) =>
      keep(
        peer(
          [s.wsUrl],
          [0, 1, 2].map((k) => NAMES[(i + 3 * k) % 6] as string),
        ),
      ),
    );
    const pubs = Array.from({ length: 4 }, () => keep(peer([s.wsUrl], [])));
    await until(
      () => subs.every((p) => [...p.subs.values()].every((c) => c.state === 'subscribed')),
      15_000,
      'subscribed',
    );
    const run = publishing(pubs, NAMES.slice(0, 6), 20);
    const cuts = cutter([...subs, ...pubs]);
    await sleep(4000);
    cuts.stop();
    run.stop();
    await until(() => pubs.every((p) => p.d.unacked === 0 && p.client.queued === 0), 15_000, 'publishers acked');
    await until(
      () => subs.every((p) => [...p.subs.values()].every((c) => c.state === 'subscribed')),
      10_000,
      'resubscribed',
    );
    await sleep(500);
    const f = audit(subs, run.sent);
    console.log(`[channels] one server, history 3: ${JSON.stringify(f)}`);
    expect(f).toMatchObject({ duplicates: 0, reorders: 0, silentSkips: 0, extraGaps: 0 });
    expect(f.gapsReported).toBeGreaterThan(0);
  }, 60_000);

  it('a gap (history trimmed while away) is reported once, then the channel goes on live', async () => {
    const s = await server({ limits: { channelHistory: 5 } });
    const reader = keep(peer([s.wsUrl], ['room:a', 'room:b']));
    const writer = keep(peer([s.wsUrl], []));
    await until(() => [...reader.subs.values()].every((c) => c.state === 'subscribed'), 5000);
    const w = channels(writer.client);
    w.publish('room:a', { p: 9, n: 1 });
    await until(() => reader.got.get('room:a')?.length === 1, 5000);
    reader.client.close();
    for (let n = 2; n <= 12; n++) w.publish('room:a', { p: 9, n });
    w.publish('room:b', { p: 9, n: 100 }); // room:b keeps its history: recovered
    await until(() => writer.d.unacked === 0, 5000);
    const states: unknown[] = [];
    reader.subs.get('room:a')?.onStateChange((st, d) => states.push([st, d]));
    reader.client.connect();
    await until(() => reader.subs.get('room:a')?.state === 'subscribed', 5000);
    w.publish('room:a', { p: 9, n: 13 });
    await until(() => reader.got.get('room:a')?.length === 2, 5000);
    await until(() => reader.got.get('room:b')?.length === 1, 5000);
    expect(reader.got.get('room:a')?.map((g) => g[2])).toEqual(['9.1', '9.13']);
    expect(reader.errors.map((e) => [e.code, (e.data as { channel: string }).channel])).toEqual([
      ['CHANNEL_GAP', 'room:a'],
    ]);
    expect(states).toEqual([['subscribed', { recovered: false }]]);
  });

  it('refusals: failed with the server’s reason, not retried; the connection and other channels carry on', async () => {
    const s = await server();
    const frames: string[] = [];
    s.events.on('frame', (_i, d) => frames.push(d));
    const p = keep(peer([s.wsUrl], ['forbidden:x', 'private:bob', 'bad name!', 'room:ok'], 'alice'));
    const writer = keep(peer([s.wsUrl], []));
    await until(() => p.subs.get('room:ok')?.state === 'subscribed', 5000);
    await until(() => p.errors.length === 3, 5000);
    expect(p.errors.map((e) => e.message)).toEqual([
      'CHANNEL_REFUSED: not permitted',
      'CHANNEL_REFUSED: not permitted',
      'CHANNEL_REFUSED: invalid channel name',
    ]);
    expect([...p.subs.values()].map((c) => c.state)).toEqual(['failed', 'failed', 'failed', 'subscribed']);
    channels(writer.client).publish('room:ok', { p: 1, n: 1 });
    await until(() => p.got.get('room:ok')?.length === 1, 5000);
    // a reconnect re-subscribes the good one only
    p.sockets.at(-1)?.terminate();
    await until(() => p.opens === 2 && p.subs.get('room:ok')?.state === 'subscribed', 5000);
    await sleep(300);
    const subsSent = frames.filter((f) => f.includes('"type":"sub"')).map((f) => JSON.parse(f).channel);
    expect(subsSent.filter((c) => c !== 'room:ok')).toEqual(['forbidden:x', 'private:bob', 'bad name!']);
    expect(subsSent.filter((c) => c === 'room:ok')).toHaveLength(2);
    expect(p.client.state).toBe('open');
    // a private channel is its owner's
    const bob = keep(peer([s.wsUrl], ['private:bob'], 'bob'));
    await until(() => bob.subs.get('private:bob')?.state === 'subscribed', 5000);
  });

  it('limits: at most 32 channels per connection', async () => {
    const s = await server();
    const names = Array.from({ length: 33 }, (_, i) => `many:${i}`);
    const p = keep(peer([s.wsUrl], names));
    await until(() => [...p.subs.values()].every((c) => c.state !== 'subscribing'), 5000);
    expect([...p.subs.values()].filter((c) => c.state === 'failed').map((c) => c.name)).toEqual(['many:32']);
    expect(p.errors[0]?.message).toMatch(/too many channels/);
  });
});

describe('presence on one server', () => {
  it('joins and leaves; a brief cut is not a leave; a closed page is gone within the grace', async () => {
    const s = await server({ limits: { presenceGraceMs: 2000 } });
    const a = keep(peer([s.wsUrl], ['lobby'], 'alice'));
    await until(() => a.subs.get('lobby')?.state === 'subscribed', 5000);
    const seen: Array<{ joined: string[]; left: string[]; at: number }> = [];
    a.subs
      .get('lobby')
      ?.presence.onChange((_m, c) =>
        seen.push({ joined: c.joined.map((x) => x.user ?? ''), left: c.left.map((x) => x.user ?? ''), at: Date.now() }),
      );
    const b = keep(peer([s.wsUrl], ['lobby'], 'bob'));
    await until(() => seen.length === 1, 5000);
    expect(seen[0]).toMatchObject({ joined: ['bob'], left: [] });
    const members = (p: Peer) => (p.subs.get('lobby')?.presence.members ?? []).map((x: Member) => x.user).sort();
    await until(() => members(b).length === 2, 5000);
    expect(members(b)).toEqual(['alice', 'bob']);
    // a cut and back within the grace: no leave, no join, on either side
    const bChanges: unknown[] = [];
    b.subs.get('lobby')?.presence.onChange((_m, c) => bChanges.push(c));
    b.sockets.at(-1)?.terminate();
    await until(() => b.opens === 2 && b.subs.get('lobby')?.state === 'subscribed', 5000);
    await sleep(2500); // past the grace
    expect(seen).toHaveLength(1);
    expect(bChanges).toEqual([]);
    // the page closes: gone within the grace (2 s here) plus a margin
    const closedAt = Date.now();
    b.client.dispose();
    await until(() => seen.length === 2, 6000);
    const after = (seen[1]?.at ?? 0) - closedAt;
    console.log(`[channels] presence: a closed page's leave seen after ${after} ms (grace 2000 ms)`);
    expect(seen[1]).toMatchObject({ joined: [], left: ['bob'] });
    expect(after).toBeGreaterThanOrEqual(1900);
    expect(after).toBeLessThan(4500);
  });

  it('unsubscribe is an immediate leave', async () => {
    const s = await server();
    const a = keep(peer([s.wsUrl], ['lobby'], 'alice'));
    const b = keep(peer([s.wsUrl], ['lobby'], 'bob'));
    await until(() => a.subs.get('lobby')?.presence.members.length === 2, 5000);
    b.subs.get('lobby')?.unsubscribe();
    await until(() => a.subs.get('lobby')?.presence.members.length === 1, 1000);
  });
});

describe('live token refresh', () => {
  const SECRET = 'test-secret';
  const issue = tokens(SECRET).issue;

  function refreshing(url: string, make: () => string, extra: { timeout?: number } = {}) {
    const sockets: WebSocket[] = [];
    const errors: WebSocketClientError[] = [];
    const client = new WebSocketClient<Message, Message>({
      url,
      WebSocket: keeping(sockets),
      autoConnect: false,
      auth: {
        message: () => ({ type: 'auth', token: make() }),
        isAck: (m) => m.type === 'auth_ok',
      },
      heartbeat: false,
      pageEvents: false,
      reconnect: { initialDelay: 100, maxDelay: 500 },
    });
    client.onError((e) => errors.push(e));
    const ch = channels(client, { refresh: extra });
    stops.push(() => client.dispose());
    client.connect();
    return { client, ch, sockets, errors };
  }

  it('tokens expiring every 5 s: one connection for 60 s, channels kept, a fresh token before each expiry', async () => {
    const s = await server({ secret: SECRET });
    const reauths: Array<{ at: number; expiresAt: number }> = [];
    let firstExpiry = 0;
    s.events.on('reauth', (_i, expiresAt) => reauths.push({ at: Date.now(), expiresAt: expiresAt ?? 0 }));
    const r = refreshing(s.wsUrl, () => issue(5, 'carol').token);
    r.client.on('auth_ok', (m) => {
      firstExpiry = m.expiresAt as number;
    });
    const lobby = r.ch.subscribe<{ n: number }>('lobby');
    const got: number[] = [];
    lobby.on((d) => got.push(d.n));
    await until(() => lobby.state === 'subscribed', 5000);
    const writer = keep(peer([s.wsUrl], []));
    const w = setInterval(() => channels(writer.client).publish('lobby', { p: 0, n: got.length }), 1000);
    await sleep(60_000);
    clearInterval(w);
    expect(r.sockets).toHaveLength(1);
    expect(r.client.state).toBe('open');
    expect(lobby.state).toBe('subscribed');
    expect(got.length).toBeGreaterThan(50);
    expect(r.errors).toEqual([]);
    // each fresh token arrived before the one it replaces expired
    let expiry = firstExpiry;
    for (const x of reauths) {
      expect(x.at).toBeLessThan(expiry);
      expiry = x.expiresAt;
    }
    expect(reauths.length).toBeGreaterThanOrEqual(12);
    console.log(
      `[channels] refresh: ${reauths.length} reauths in 60 s on 1 connection; margin before expiry min ${Math.min(
        ...reauths.map((x, i) => (i === 0 ? firstExpiry : (reauths[i - 1]?.expiresAt ?? 0)) - x.at),
      )} ms`,
    );
  }, 75_000);

  it('a refused refresh takes the refusal path (AUTH_REJECTED, one retry with fresh credentials)', async () => {
    const s = await server({ secret: SECRET });
    let n = 0;
    // the second token is another user's: refused (4002); the third (the retry) is fine
    const r = refreshing(s.wsUrl, () => issue(3, ++n === 2 ? 'mallory' : 'carol').token);
    await until(() => r.errors.length > 0, 5000);
    expect(r.errors[0]?.code).toBe('AUTH_REJECTED');
    await until(() => r.client.state === 'open' && r.sockets.length === 2, 5000);
    expect(r.errors.map((e) => e.code)).toEqual(['AUTH_REJECTED']);
  });

  it('a server without re-auth costs one warning and nothing else', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    stops.push(() => new Promise((r) => wss.close(r)));
    const frames: string[] = [];
    wss.on('connection', (ws) => {
      ws.on('message', (d) => {
        frames.push(String(d));
        const m = JSON.parse(String(d));
        if (m.type === 'auth') ws.send(JSON.stringify({ type: 'auth_ok', expiresAt: Date.now() + 1500 }));
        if (m.type === 'reauth') ws.send(JSON.stringify({ type: 'error', message: 'unknown type' }));
      });
    });
    await new Promise((r) => wss.once('listening', r));
    const port = (wss.address() as { port: number }).port;
    const r = refreshing(`ws://127.0.0.1:${port}`, () => 'tok', { timeout: 1000 });
    await sleep(5000);
    expect(frames.filter((f) => f.includes('reauth'))).toHaveLength(1);
    expect(r.errors.map((e) => e.code)).toEqual(['AUTH_TIMEOUT']);
    expect(r.sockets).toHaveLength(1);
    expect(r.client.state).toBe('open');
  });
});
