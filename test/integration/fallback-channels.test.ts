// Channels with recovery over the HTTP fallback, as over WebSocket (SPEC §14): the reference
// server with its HTTP transport, behind a proxy that refuses every WebSocket upgrade, so every
// client runs over HTTP. The server cuts every session (its chaos drop, no close frame) at
// random; every subscriber gets every publication of its channels once and in order, and a
// member whose session is cut and back within the grace is no presence leave.
import type { Member } from 'resilient-ws/channels';
import { fallback, type Transport } from 'resilient-ws/fallback';
import { afterEach, describe, expect, it } from 'vitest';
import { type DemoServer, startDemoServer } from '../../demo/server/index';
import { audit, keeping, type Peer, peer, publishing, sleep, until } from './channels-harness';
import { type Proxy as ProxyServer, startProxy } from './fallback-proxy';

const stops: (() => unknown)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

const NAMES = Array.from({ length: 8 }, (_, i) => `room:${i}`);

interface FallbackPeer extends Peer {
  transports: Transport[];
}

/** A client with channels whose WebSockets the proxy refuses: it runs over the HTTP transport. */
function httpPeer(proxy: ProxyServer, names: string[], token = 'demo-token'): FallbackPeer {
  const transports: Transport[] = [];
  const p = peer(`ws://127.0.0.1:${proxy.port}/ws`, names, token, (sockets) => ({
    WebSocket: fallback({
      http: '/rt',
      WebSocket: keeping(sockets),
      storage: false,
      onTransport: (t) => transports.push(t),
    }),
    logger: { warn: () => {} },
  }));
  stops.push(() => p.client.dispose());
  return Object.assign(p, { transports });
}

async function setup(
  opts: Parameters<typeof startDemoServer>[0] = {},
): Promise<{ server: DemoServer; proxy: ProxyServer }> {
  const server = await startDemoServer({ quiet: true, priceIntervalMs: 0, rateLimit: 1000, ...opts });
  stops.push(() => server.close());
  const proxy = await startProxy(server.port, 'refuse');
  stops.push(() => proxy.close());
  return { server, proxy };
}

describe('channels over the HTTP fallback', () => {
  it('12 clients × 3 of 8 channels, every HTTP session cut server-side at random: every publication once, in order', async () => {
    const { server, proxy } = await setup();
    const subs = Array.from({ length: 12 }, (_, i) =>
      httpPeer(
        proxy,
        [0, 1, 2].map((k) => NAMES[(i + 3 * k) % NAMES.length] as string),
      ),
    );
    const pubs = Array.from({ length: 2 }, () => httpPeer(proxy, []));
    const all = [...subs, ...pubs];
    await until(
      () => subs.every((p) => [...p.subs.values()].every((c) => c.state === 'subscribed')),
      20_000,
      'subscribed',
    );
    expect(all.every((p) => p.transports.length > 0 && p.transports.every((t) => t === 'http'))).toBe(true);

    const run = publishing(pubs, NAMES, 60);
    let cuts = 0;
    const end = Date.now() + 5000;
    while (Date.now() < end) {
      await sleep(300 + Math.random() * 400);
      if (server.drop() > 0) cuts++;
    }
    run.stop();
    await until(() => pubs.every((p) => p.d.unacked === 0 && p.client.queued === 0), 20_000, 'publishers acked');
    const want = (p: Peer) => [...p.got].every(([name, got]) => got.length >= (run.sent.get(name)?.length ?? 0));
    await until(() => subs.every(want), 20_000, 'every publication delivered');
    await sleep(500); // a duplicate would arrive now
    const f = audit(subs, run.sent);
    console.log(`[fallback] channels over HTTP: ${cuts} server-side cuts; ${JSON.stringify(f)}`);
    expect(cuts).toBeGreaterThanOrEqual(5);
    expect(f).toMatchObject({ duplicates: 0, reorders: 0, silentSkips: 0, lost: 0, gapsReported: 0, extraGaps: 0 });
    expect(f.received).toBe(
      subs.reduce((n, p) => n + [...p.got.keys()].reduce((m, k) => m + (run.sent.get(k)?.length ?? 0), 0), 0),
    );
    expect(f.sent).toBeGreaterThan(100);
    // never a WebSocket: every connection (one per cut, and the first) over HTTP
    expect(all.every((p) => p.transports.every((t) => t === 'http'))).toBe(true);
    expect(proxy.upgrades.every((u) => u === 'refuse')).toBe(true);
    // each cut seen when it happens (not at the next keepalive POST, 25 s on): a session per cut or so
    expect(Math.min(...subs.map((p) => p.opens))).toBeGreaterThanOrEqual(3);
  });

  it('presence: a session cut server-side and back within the grace is no leave; a closed client leaves', async () => {
    const { server, proxy } = await setup({ limits: { presenceGraceMs: 2000 } });
    const a = httpPeer(proxy, ['lobby'], 'alice');
    await until(() => a.subs.get('lobby')?.state === 'subscribed', 10_000);
    const seen: Array<{ joined: string[]; left: string[]; at: number }> = [];
    a.subs
      .get('lobby')
      ?.presence.onChange((_m, c) =>
        seen.push({ joined: c.joined.map((x) => x.user ?? ''), left: c.left.map((x) => x.user ?? ''), at: Date.now() }),
      );
    const b = httpPeer(proxy, ['lobby'], 'bob');
    await until(() => seen.length === 1, 10_000);
    expect(seen[0]).toMatchObject({ joined: ['bob'], left: [] });
    const members = (p: Peer) => (p.subs.get('lobby')?.presence.members ?? []).map((x: Member) => x.user).sort();
    await until(() => members(b).length === 2, 5000);
    expect(members(b)).toEqual(['alice', 'bob']);
    expect([...a.transports, ...b.transports].every((t) => t === 'http')).toBe(true);

    // every HTTP session cut by the server: both back within the grace, no leave, no join
    const bChanges: unknown[] = [];
    b.subs.get('lobby')?.presence.onChange((_m, c) => bChanges.push(c));
    expect(server.drop()).toBe(2);
    await until(
      () => a.opens === 2 && b.opens === 2 && [a, b].every((p) => p.subs.get('lobby')?.state === 'subscribed'),
      5000,
      'both back',
    );
    await sleep(2500); // past the grace
    expect(seen).toHaveLength(1);
    expect(bChanges).toEqual([]);
    expect(members(a)).toEqual(['alice', 'bob']);

    // the client closes: gone within the grace plus a margin
    const closedAt = Date.now();
    b.client.dispose();
    await until(() => seen.length === 2, 6000, 'the leave');
    const after = (seen[1]?.at ?? 0) - closedAt;
    console.log(`[fallback] presence over HTTP: a closed client's leave seen after ${after} ms (grace 2000 ms)`);
    expect(seen[1]).toMatchObject({ joined: [], left: ['bob'] });
    expect(after).toBeLessThan(4500);
  });
});
