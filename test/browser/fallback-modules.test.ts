// Shared tabs and the outbox over the HTTP fallback, in each engine, behind a proxy that refuses
// WebSocket upgrades. Shared: two tabs of one profile share one HTTP session; each tab's sends
// reach the server once, in its order; every tab gets every message; when the leader tab closes,
// the other takes over (over HTTP again) and carries on. Outbox: what a page sent while the
// server was down survives a reload and is sent once, in order, over HTTP when it is back.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoServer, startDemoServer } from '../../demo/server/index';
import { type Proxy as ProxyServer, startProxy } from '../integration/fallback-proxy';
import { type Driver, launch, type TestPage as Page } from './driver';
import { ENGINE } from './helpers';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const dist = (f: string) => path.join(repo, 'dist', f);

let browser: Driver;
let server: DemoServer;
let proxy: ProxyServer;
let assets: string;

declare global {
  interface Window {
    /** this test's page state (the bundle's exports are `RWSFB`) */
    __fbs: {
      // biome-ignore lint/suspicious/noExplicitAny: the page's client
      c: any;
      got: string[];
      transports: string[];
    };
  }
}

beforeAll(async () => {
  assets = mkdtempSync(path.join(tmpdir(), 'rws-fallback-'));
  const out = await build({
    stdin: {
      contents: `export { sharedClient } from 'resilient-ws/shared'; export { fallback } from 'resilient-ws/fallback'; export { outbox } from 'resilient-ws/outbox'; export { WebSocketClient } from 'resilient-ws';`,
      resolveDir: repo,
    },
    bundle: true,
    format: 'iife',
    globalName: 'RWSFB',
    write: false,
    alias: {
      'resilient-ws/shared': dist('shared.mjs'),
      'resilient-ws/fallback': dist('fallback.mjs'),
      'resilient-ws/outbox': dist('outbox.mjs'),
      'resilient-ws': dist('index.mjs'),
    },
  });
  writeFileSync(path.join(assets, 'fb-shared.js'), out.outputFiles[0]!.text);
  // the demo's pages forbid inline scripts (CSP): the page only loads the bundle
  writeFileSync(
    path.join(assets, 'fb-shared.html'),
    '<!doctype html><meta charset="utf-8"><script src="/fb-shared.js"></script>',
  );
  server = await startDemoServer({ quiet: true, priceIntervalMs: 0, assetsDir: assets });
  proxy = await startProxy(server.port, 'refuse');
  browser = await launch();
  console.info(`engine: ${browser.version}`);
});
afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await server?.close();
  rmSync(assets, { recursive: true, force: true });
});

const tab = async (page: Page) => {
  await page.goto(`http://127.0.0.1:${proxy.port}/fb-shared.html`);
  await page.evaluate(() => {
    // biome-ignore lint/suspicious/noExplicitAny: the bundle's global
    const RWS = (window as any).RWSFB;
    const state = (window.__fbs = { c: undefined, got: [] as string[], transports: [] as string[] });
    const c = RWS.sharedClient({
      url: `ws://${location.host}/ws`,
      name: 'fb',
      WebSocket: RWS.fallback({ http: '/rt', onTransport: (t: string) => state.transports.push(t) }),
      auth: { message: { type: 'auth', token: 'demo-token' }, isAck: (m: { type: string }) => m.type === 'auth_ok' },
      reconnect: { initialDelay: 100, maxDelay: 500 },
      logger: { warn: () => {} },
    });
    c.on('echo', (m: { n: string }) => state.got.push(m.n));
    state.c = c;
  });
};

const send = (page: Page, ns: string[]) =>
  page.evaluate((list) => {
    for (const n of list) window.__fbs.c.send({ type: 'echo', n });
  }, ns);

const echoes = (page: Page) => page.evaluate(() => [...window.__fbs.got]);

const poll = async <T>(get: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out; last ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const serverEchoes = () =>
  server.received
    .map((f) => JSON.parse(f.data) as { type: string; n?: string })
    .filter((m) => m.type === 'echo')
    .map((m) => m.n as string);

describe(`sharedClient over the HTTP fallback (${ENGINE})`, () => {
  it('two tabs share one HTTP session; each send once and in order; the other tab takes over when the leader closes', async () => {
    const context = await browser.newContext();
    const a = await context.newPage('about:blank');
    const b = await context.newPage('about:blank');
    await tab(a);
    await tab(b);
    const mine = (p: string, from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => `${p}${from + i}`);
    await send(a, mine('a', 1, 5));
    await send(b, mine('b', 1, 5));
    // every tab gets every message: the echoes of both
    for (const p of [a, b])
      await poll(
        () => echoes(p),
        (e) => e.length >= 10,
        8000,
      );
    const first = serverEchoes();
    expect(first.filter((n) => n.startsWith('a'))).toEqual(mine('a', 1, 5));
    expect(first.filter((n) => n.startsWith('b'))).toEqual(mine('b', 1, 5));
    // one connection for both tabs, and it is HTTP: only the leader tab chose a transport
    const chosen = [
      ...(await a.evaluate(() => window.__fbs.transports)),
      ...(await b.evaluate(() => window.__fbs.transports)),
    ];
    expect(chosen).toEqual(['http']);
    expect(server.connections()).toBe(1);

    // the leader goes away: the other tab takes over, over HTTP, and carries on
    const leader = (await a.evaluate(() => window.__fbs.transports.length)) ? a : b;
    const other = leader === a ? b : a;
    const p = other === a ? 'a' : 'b';
    const closedAt = Date.now();
    await leader.close();
    await send(other, mine(p, 6, 10));
    await poll(
      () => echoes(other),
      (e) => e.filter((n) => n.startsWith(p)).length >= 10,
      8000,
    );
    const tookOver = Date.now() - closedAt;
    expect(await other.evaluate(() => window.__fbs.transports)).toEqual(['http']);
    const all = serverEchoes();
    expect(all.filter((n) => n.startsWith(p))).toEqual(mine(p, 1, 10));
    expect(tookOver).toBeLessThan(6000);
    console.log(`shared over HTTP: the other tab carried on ${tookOver} ms after the leader closed`);
    await context.close();
  });
});

describe(`the outbox over the HTTP fallback (${ENGINE})`, () => {
  it('sent while the server is down, kept across a reload, sent once and in order over HTTP when it is back', async () => {
    const context = await browser.newContext();
    const page = await context.newPage('about:blank');
    const open = async () => {
      await page.goto(`http://127.0.0.1:${proxy.port}/fb-shared.html`);
      return page.evaluate(async () => {
        // biome-ignore lint/suspicious/noExplicitAny: the bundle's global
        const RWS = (window as any).RWSFB;
        const state = (window.__fbs = { c: undefined, got: [] as string[], transports: [] as string[] });
        const c = new RWS.WebSocketClient(`ws://${location.host}/ws`, {
          WebSocket: RWS.fallback({ http: '/rt', onTransport: (t: string) => state.transports.push(t) }),
          auth: {
            message: { type: 'auth', token: 'demo-token' },
            isAck: (m: { type: string }) => m.type === 'auth_ok',
          },
          reconnect: { initialDelay: 100, maxDelay: 300 },
          logger: { warn: () => {} },
        });
        state.c = c;
        return RWS.outbox(c, { name: 'fb-outbox' }).restored as Promise<number>;
      });
    };
    await open();
    await poll(
      () => page.evaluate(() => window.__fbs.c.state as string),
      (s) => s === 'open',
      8000,
    );
    expect(await page.evaluate(() => window.__fbs.transports)).toEqual(['http']);
    const before = serverEchoes().length;

    // down for a while: what the page sends now is queued, and stored
    const up = server.restart(2500);
    await poll(
      () => page.evaluate(() => window.__fbs.c.state as string),
      (s) => s !== 'open',
      3000,
    );
    await page.evaluate(() => {
      for (let i = 1; i <= 5; i++) window.__fbs.c.send({ type: 'echo', n: `o${i}` });
    });
    // a reload while it is down: the new page restores them
    const restored = await open();
    expect(restored).toBe(5);
    await up;
    await poll(
      () => Promise.resolve(serverEchoes().slice(before)),
      (e) => e.length >= 5,
      10_000,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(serverEchoes().slice(before)).toEqual(['o1', 'o2', 'o3', 'o4', 'o5']);
    // the reloaded page kept to HTTP: the remembered choice survived the restart
    expect(await page.evaluate(() => window.__fbs.transports)).toEqual(['http']);
    await context.close();
  });
});
