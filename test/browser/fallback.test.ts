// The HTTP fallback in each engine (the browser's own WebSocket and fetch streaming), against
// the reference server behind a "proxy" that refuses WebSocket upgrades with 403: working over
// HTTP within 3 s with nothing sent meanwhile lost or doubled, a reload in the same tab going
// straight to HTTP, and the move back once the proxy lets WebSockets through.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoServer, startDemoServer } from '../../demo/server/index';
import { type Proxy as ProxyServer, startProxy } from '../integration/fallback-proxy';
import { type Driver, launch, type TestPage as Page } from './driver';
import { ENGINE } from './helpers';

let browser: Driver;
let server: DemoServer;
let proxy: ProxyServer;

beforeAll(async () => {
  server = await startDemoServer({ quiet: true, priceIntervalMs: 0 });
  proxy = await startProxy(server.port, 'refuse');
  browser = await launch();
  console.info(`engine: ${browser.version}`);
});
afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await server?.close();
});

interface PageResult {
  transports: string[];
  echoes: number[];
  openedIn: number;
  state: string;
}

declare global {
  interface Window {
    __fb?: PageResult & { send(n: number): void };
  }
}

/**
 * In the page: the built core and fallback from the server's /dist, a client through the proxy,
 * `sent` echoes written at once (before any transport is chosen); resolves once it is open.
 */
const startClient = (page: Page, opts: { retry?: number; hold?: number; sent: number }) =>
  page.evaluate(async ({ retry, hold, sent }) => {
    // a dynamic import the test's own bundler leaves alone
    const load = new Function('u', 'return import(u)') as (u: string) => Promise<unknown>;
    const core = (await load(`${location.origin}/dist/index.mjs`)) as typeof import('resilient-ws');
    const { fallback } = (await load(`${location.origin}/dist/fallback.mjs`)) as typeof import('resilient-ws/fallback');
    const r = { transports: [] as string[], echoes: [] as number[], openedIn: 0, state: '' };
    const started = performance.now();
    const client = new core.WebSocketClient<import('resilient-ws').Message, import('resilient-ws').Message>(
      `ws://${location.host}/ws`,
      {
        WebSocket: fallback({ http: '/rt', retry, hold, onTransport: (t: string) => r.transports.push(t) }),
        auth: { message: { type: 'auth', token: 'demo-token' }, isAck: (m: { type: string }) => m.type === 'auth_ok' },
        reconnect: { initialDelay: 200 },
        logger: { warn: () => {} },
      },
    );
    client.on('echo', (m) => r.echoes.push(m.n as number));
    window.__fb = Object.assign(r, {
      send: (n: number) => client.send({ type: 'echo', n }),
      get state() {
        return client.state;
      },
    });
    for (let i = 1; i <= sent; i++) client.send({ type: 'echo', n: i });
    await new Promise<void>((resolve) => {
      const off = client.onStateChange((s: string) => {
        if (s !== 'open') return;
        off();
        resolve();
      });
    });
    r.openedIn = performance.now() - started;
    return { openedIn: r.openedIn, transports: [...r.transports] };
  }, opts);

const read = (page: Page) =>
  page.evaluate(() => {
    const r = window.__fb!;
    return { transports: [...r.transports], echoes: [...r.echoes], state: r.state };
  });

const poll = async (page: Page, check: (r: Awaited<ReturnType<typeof read>>) => boolean, ms: number) => {
  const end = Date.now() + ms;
  for (;;) {
    const r = await read(page);
    if (check(r)) return r;
    if (Date.now() > end) throw new Error(`timed out; last ${JSON.stringify(r)}`);
    await new Promise((x) => setTimeout(x, 50));
  }
};

describe(`${ENGINE} behind a proxy that refuses WebSocket upgrades (403)`, () => {
  it('works over HTTP within 3 s; a reload skips the probe; moves back when WebSockets pass, nothing lost', async () => {
    const context = await browser.newContext();
    const page = await context.newPage('about:blank');
    // a page of the server's origin (through the proxy) without a client of its own
    await page.goto(`http://127.0.0.1:${proxy.port}/style.css`);

    proxy.upgrades.length = 0;
    const first = await startClient(page, { sent: 5 });
    expect(first.transports).toEqual(['http']);
    expect(first.openedIn).toBeLessThan(3000);
    expect(proxy.upgrades).toEqual(['refuse', 'refuse']);
    const r1 = await poll(page, (r) => r.echoes.length >= 5, 5000);
    expect(r1.echoes).toEqual([1, 2, 3, 4, 5]);
    console.log(`${ENGINE}: open over HTTP ${Math.round(first.openedIn)} ms after the first attempt`);

    // a reload in the same tab: sessionStorage remembers, no WebSocket attempt
    await page.reload();
    const upgrades = proxy.upgrades.length;
    const second = await startClient(page, { sent: 3, retry: 500, hold: 300 });
    expect(second.transports).toEqual(['http']);
    expect(proxy.upgrades.length).toBe(upgrades);
    console.log(`${ENGINE}, reloaded: open over HTTP ${Math.round(second.openedIn)} ms, no WebSocket attempt`);

    // WebSockets pass again: back within retry + hold + the reconnect delay, nothing lost or doubled
    proxy.mode = 'pass';
    const passedAt = Date.now();
    let n = 3;
    let movedIn = 0;
    while (Date.now() - passedAt < 8000) {
      await page.evaluate((i) => window.__fb!.send(i), ++n);
      await new Promise((x) => setTimeout(x, 20));
      const r = await read(page);
      if (!movedIn && r.transports.at(-1) === 'websocket') movedIn = Date.now() - passedAt;
      if (movedIn && Date.now() - passedAt > movedIn + 300) break;
    }
    expect(movedIn).toBeGreaterThan(0);
    expect(movedIn).toBeLessThan(4000);
    const last = n;
    const r2 = await poll(page, (r) => r.echoes.length >= last, 5000);
    expect(r2.transports).toEqual(['http', 'websocket']);
    expect(r2.echoes).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    // the move back dropped the remembered choice: a reload now tries WebSocket first
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    console.log(
      `${ENGINE}: back on WebSocket ${movedIn} ms after it passes (retry 500 + hold 300); ${last} echoes, each once`,
    );
    await context.close();
  });
});
