// Channels over the HTTP fallback, in each engine: a page whose WebSocket upgrades a proxy
// refuses (403) runs over HTTP with a channel subscribed; the server drops every connection (its
// HTTP session included) while lines are being published, from the page and from a Node client
// on WebSocket; the page shows each line once, in the channel's order (the order a WebSocket
// subscriber saw), and its own lines reach the channel once each, in order. The page loads the
// `<script>` builds: core, extras (delivery), channels and fallback.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { channels } from 'resilient-ws/channels';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoServer, startDemoServer } from '../../demo/server/index';
import { type Peer, peer, sleep, until } from '../integration/channels-harness';
import { type Proxy as ProxyServer, startProxy } from '../integration/fallback-proxy';
import { driverForFile, ENGINE } from './helpers';

const scripts = [
  'resilient-ws.min.js',
  'resilient-ws.extras.min.js',
  'resilient-ws.channels.min.js',
  'resilient-ws.fallback.min.js',
];

const run = driverForFile();
let server: DemoServer;
let proxy: ProxyServer;
let assets: string;
const peers: Peer[] = [];

declare global {
  interface Window {
    /** this test's page state */
    __fbch: {
      // biome-ignore lint/suspicious/noExplicitAny: the page's channels
      ch: any;
      /** [epoch, offset, line] in the order the page's handler got them */
      got: Array<[string, number, string]>;
      transports: string[];
      opens: number;
      state: string;
      errors: string[];
    };
  }
}

beforeAll(async () => {
  assets = mkdtempSync(path.join(tmpdir(), 'rws-fallback-channels-'));
  // the demo's pages forbid inline scripts (CSP): the page only loads the `<script>` builds, the
  // core first, each module adding itself to the `ResilientWS` global
  writeFileSync(
    path.join(assets, 'fb-channels.html'),
    `<!doctype html><meta charset="utf-8">${scripts.map((f) => `<script src="/dist/${f}"></script>`).join('')}`,
  );
  server = await startDemoServer({ quiet: true, priceIntervalMs: 0, rateLimit: 1000, assetsDir: assets });
  proxy = await startProxy(server.port, 'refuse');
});
afterAll(async () => {
  for (const p of peers) p.client.dispose();
  await proxy?.close();
  await server?.close();
  if (assets) rmSync(assets, { recursive: true, force: true });
});

const read = (page: import('./driver').TestPage) =>
  page.evaluate(() => {
    const s = window.__fbch;
    return {
      got: s.got.map(([e, o, l]) => [e, o, l] as [string, number, string]),
      transports: [...s.transports],
      opens: s.opens,
      state: s.state,
      errors: [...s.errors],
    };
  });

describe(`channels over the HTTP fallback (${ENGINE})`, () => {
  it('a page whose WebSocket is refused: subscribed over HTTP, through a server-side drop each line once, in order', async () => {
    const context = await run.driver.newContext();
    try {
      // a WebSocket subscriber, to see the channel's order, and a WebSocket publisher
      const watcher = peer([server.wsUrl], ['room:fb']);
      const pub = peer([server.wsUrl], []);
      peers.push(watcher, pub);
      const order: string[] = [];
      watcher.subs.get('room:fb')?.on((data) => order.push((data as unknown as { line: string }).line));
      await until(() => watcher.subs.get('room:fb')?.state === 'subscribed' && pub.client.state === 'open', 10_000);

      const page = await context.newPage(`http://127.0.0.1:${proxy.port}/fb-channels.html`);
      proxy.upgrades.length = 0;
      await page.evaluate(() => {
        // biome-ignore lint/suspicious/noExplicitAny: the `<script>` builds' global
        const RWS = (window as any).ResilientWS;
        const s: Window['__fbch'] = (window.__fbch = {
          ch: undefined,
          got: [] as Array<[string, number, string]>,
          transports: [] as string[],
          opens: 0,
          state: '',
          errors: [] as string[],
        });
        const client = new RWS.WebSocketClient(`ws://${location.host}/ws`, {
          WebSocket: RWS.fallback({ http: '/rt', storage: false, onTransport: (t: string) => s.transports.push(t) }),
          auth: {
            message: { type: 'auth', token: 'demo-token' },
            isAck: (m: { type: string }) => m.type === 'auth_ok',
          },
          reconnect: { initialDelay: 100, maxDelay: 500 },
          logger: { warn: () => {} },
        });
        client.onStateChange((st: string) => {
          if (st === 'open') s.opens++;
        });
        client.onError((e: { code: string }) => s.errors.push(e.code));
        RWS.delivery(client);
        s.ch = RWS.channels(client);
        const sub = s.ch.subscribe('room:fb');
        sub.onStateChange((st: string) => {
          s.state = st;
        });
        sub.on((data: { line: string }, pos: { epoch: string; offset: number }) =>
          s.got.push([pos.epoch, pos.offset, data.line]),
        );
      });
      const r0 = await pollPage(page, (r) => r.state === 'subscribed', 10_000);
      expect(r0.transports).toEqual(['http']);

      // lines from both sides, the server dropping every connection half-way
      const N = 30;
      for (let i = 1; i <= N; i++) {
        channels(pub.client).publish('room:fb', { line: `n${i}` });
        if (i % 3 === 0) await page.evaluate((l) => window.__fbch.ch.publish('room:fb', { line: l }), `p${i / 3}`);
        if (i === N / 2) expect(server.drop()).toBeGreaterThanOrEqual(3);
        await sleep(40);
      }
      const total = N + N / 3;
      await until(() => (watcher.got.get('room:fb')?.length ?? 0) >= total, 15_000, 'the watcher has every line');
      const r = await pollPage(page, (x) => x.got.length >= total && x.state === 'subscribed', 15_000);
      await sleep(500); // a duplicate would arrive now
      const final = await read(page);
      const lines = final.got.map((g) => g[2]);
      console.log(
        `${ENGINE}: channel over HTTP through a drop: ${total} sent, ${lines.length} shown, ${lines.length - new Set(lines).size} twice, ${final.opens} opens (${final.transports.join(',')})`,
      );
      // each line once, in the channel's order
      expect(lines).toEqual(order);
      expect(new Set(lines).size).toBe(total);
      expect(lines.filter((l) => l.startsWith('n'))).toEqual(Array.from({ length: N }, (_, i) => `n${i + 1}`));
      expect(lines.filter((l) => l.startsWith('p'))).toEqual(Array.from({ length: N / 3 }, (_, i) => `p${i + 1}`));
      // consecutive offsets: nothing skipped, nothing reordered
      for (let i = 1; i < final.got.length; i++) expect(final.got[i]?.[1]).toBe((final.got[i - 1]?.[1] ?? 0) + 1);
      // over HTTP all along, and back after the drop
      expect(r.transports.length).toBeGreaterThanOrEqual(2);
      expect(final.transports.every((t) => t === 'http')).toBe(true);
      expect(final.opens).toBeGreaterThanOrEqual(2);
      expect(proxy.upgrades.every((u) => u === 'refuse')).toBe(true);
      expect(final.errors).toEqual([]);
      expect(page.errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});

async function pollPage(
  page: import('./driver').TestPage,
  ok: (r: Awaited<ReturnType<typeof read>>) => boolean,
  ms: number,
): Promise<Awaited<ReturnType<typeof read>>> {
  const end = Date.now() + ms;
  for (;;) {
    const r = await read(page);
    if (ok(r)) return r;
    if (Date.now() > end) throw new Error(`timed out; last ${JSON.stringify(r)}`);
    await sleep(50);
  }
}
