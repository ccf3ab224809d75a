// resilient-ws/outbox in each engine: real IndexedDB, real Web Locks, real reloads.
// The test serves a small page over http://127.0.0.1 that loads the BUILT modules (dist/, through
// an import map) and a real `ws` server on the same port that records every frame, acknowledges
// and deduplicates delivery ids, can refuse connections (the server unreachable) and can cut
// them at random intervals.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { startDemoServer } from '../../demo/server';
import type { Context, TestPage as Page } from './driver';
import { driverForFile, ENGINE, fill, pressEnter, waitForBadge } from './helpers';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

type Msg = { type: string; n?: number; id?: string; [key: string]: unknown };

/**
 * The page: a client on `/ws` with an outbox; `?delivery=outbox-first|delivery-first`, `?ttl=ms`,
 * `?shared`; `?send=k`: k new chats (n = 101…) right after the outbox is attached; `?late`: the
 * outbox attached once the client is open (in a task of its own, after the open listeners).
 */
const PAGE = `<!doctype html><meta charset="utf-8"><title>outbox</title>
<script type="importmap">{"imports":{
  "resilient-ws":"/dist/index.mjs",
  "resilient-ws/outbox":"/dist/outbox.mjs",
  "resilient-ws/shared":"/dist/shared.mjs",
  "resilient-ws/delivery":"/dist/delivery.mjs"}}</script>
<script type="module">
import { WebSocketClient } from 'resilient-ws';
import { outbox } from 'resilient-ws/outbox';
import { delivery } from 'resilient-ws/delivery';
import { sharedClient } from 'resilient-ws/shared';
const q = new URLSearchParams(location.search);
const mode = q.get('delivery');
const ttl = Number(q.get('ttl') || Infinity);
const options = {
  url: 'ws://' + location.host + '/ws',
  heartbeat: false,
  reconnect: { initialDelay: 30, maxDelay: 100, jitter: 0 },
  queue: { ttl, maxSize: 10000 },
};
// ?shared: one connection for every page, owned by the leader tab
const client = q.has('shared') ? sharedClient({ ...options, name: 'outbox-test' }) : new WebSocketClient(options);
const errors = [];
client.onError((e) => errors.push({ code: e.code, message: e.message, data: e.data }));
window.t = { client, box: undefined, errors, restored: undefined };
const attach = () => {
  const box = (window.t.box = outbox(client, { name: q.get('name') || 'chat', ttl, delivery: !!mode }));
  box.restored.then((n) => (window.t.restored = n));
  for (let i = 1; i <= Number(q.get('send')); i++) client.send({ type: 'chat', n: 100 + i });
};
if (mode === 'outbox-first') attach();
if (mode) delivery(client);
if (q.has('late')) client.onStateChange((s) => s === 'open' && !window.t.box && setTimeout(attach));
else if (mode !== 'outbox-first') attach();
</script>`;

interface Frame {
  conn: number;
  msg: Msg;
}

let http: Server;
let wss: WebSocketServer;
let base: string;
let frames: Frame[];
let accept: boolean;
/** With `accept` false: hold upgrades unanswered (released by `release()`) instead of refusing them. */
let hold: boolean;
let held: Array<{ socket: import('node:stream').Duplex; go: () => void }>;
let conns: number;
let cutter: ReturnType<typeof setTimeout> | undefined;
const run = driverForFile();
let context: Context;
let pages: Page[] = [];

beforeEach(async () => {
  frames = [];
  accept = true;
  hold = false;
  held = [];
  conns = 0;
  const files: Record<string, string> = {
    '/dist/index.mjs': 'dist/index.mjs',
    '/dist/outbox.mjs': 'dist/outbox.mjs',
    '/dist/delivery.mjs': 'dist/delivery.mjs',
    '/dist/shared.mjs': 'dist/shared.mjs',
  };
  http = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const file = files[url.pathname];
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store' });
      return res.end(PAGE);
    }
    if (!file) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' });
    res.end(readFileSync(path.join(repo, file)));
  });
  wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => {
    // the server unreachable: the upgrade fails, the client retries
    const upgrade = () => wss.handleUpgrade(req, socket, head, (ws) => serve(ws));
    if (accept) return upgrade();
    if (!hold) return socket.destroy();
    held.push({ socket, go: () => socket.destroyed || upgrade() });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
  context = await run.driver.newContext();
  pages = [];
});

afterEach(async () => {
  clearTimeout(cutter);
  await context?.close();
  for (const h of held) h.socket.destroy();
  for (const ws of wss.clients) ws.terminate();
  wss.close();
  http.closeAllConnections();
  await new Promise((r) => http.close(r));
  expect(pages.flatMap((p) => p.errors)).toEqual([]);
});

/** Records every frame; acknowledges each delivery id (the dedupe is the test's, over `frames`). */
function serve(ws: WebSocket): void {
  const conn = ++conns;
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as Msg;
    frames.push({ conn, msg });
    if (msg.id !== undefined) ws.send(JSON.stringify({ type: 'ack', id: msg.id }));
  });
}

/** Accept connections again, answering the upgrades held meanwhile. */
function release(): void {
  accept = true;
  for (const h of held.splice(0)) h.go();
}

/** Cut every open connection at random intervals of 100–300 ms until stopped. */
function startCutting(): void {
  const next = () => {
    cutter = setTimeout(
      () => {
        for (const ws of wss.clients) ws.terminate();
        next();
      },
      100 + Math.random() * 200,
    );
  };
  next();
}

async function openPage(query = ''): Promise<Page> {
  const page = await context.newPage(base + query);
  pages.push(page);
  await page.waitFor(() => window.t?.restored !== undefined);
  return page;
}

/** Wait until the outbox's writes have reached IndexedDB: read the store until it holds `count`. */
async function storedCount(page: Page, name = 'chat'): Promise<number> {
  return page.evaluate(
    (n) =>
      new Promise<number>((resolve, reject) => {
        const open = indexedDB.open(`resilient-ws/outbox/${n}/`);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const req = db.transaction('m').objectStore('m').count();
          req.onsuccess = () => {
            db.close();
            resolve(req.result);
          };
        };
      }),
    name,
  );
}

async function until(check: () => boolean | Promise<boolean>, timeout = 10_000): Promise<void> {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const chats = () => frames.filter((f) => f.msg.type === 'chat');
const ns = () => chats().map((f) => f.msg.n);

declare global {
  interface Window {
    t: {
      client: import('resilient-ws').WebSocketClient<Msg, Msg>;
      box: import('resilient-ws/outbox').Outbox;
      errors: { code: string; message: string; data: Msg }[];
      restored: number | undefined;
    };
  }
}

describe(`outbox in ${ENGINE}`, () => {
  if (ENGINE === 'chromium')
    it('offline (Chromium only: CDP offline emulation), send 50, reload, online: the server receives exactly 50, in order', async () => {
      const page = await openPage();
      await until(() => conns === 1);
      await page.chromium!.context().setOffline(true);
      for (const ws of wss.clients) ws.terminate(); // an open socket outlives setOffline: drop it
      await page.waitFor(() => window.t.client.state === 'reconnecting');
      const results = await page.evaluate(() =>
        Array.from({ length: 50 }, (_, i) => window.t.client.send({ type: 'chat', n: i + 1 })),
      );
      expect(new Set(results)).toEqual(new Set(['queued']));
      await until(async () => (await storedCount(page)) === 50);
      // reload: the page itself has to come over the network, so the network is back, but the
      // socket server stays unreachable until the new page has restored what it holds
      accept = false; // before the network is back: the `online` event makes the client retry at once
      await page.chromium!.context().setOffline(false);
      await page.reload();
      await page.waitFor(() => window.t?.restored !== undefined);
      expect(await page.evaluate(() => window.t.restored)).toBe(50);
      expect(chats()).toEqual([]);
      accept = true;
      await until(() => chats().length >= 50);
      await new Promise((r) => setTimeout(r, 300)); // nothing more comes
      expect(ns()).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      await until(async () => (await storedCount(page)) === 0);
      expect(await page.evaluate(() => window.t.errors)).toEqual([]);
    });

  it('server unreachable (upgrades refused), send 50, reload, server back: the server receives exactly 50, in order', async () => {
    const page = await openPage();
    await until(() => conns === 1);
    accept = false; // the server's side of an outage: the connection dropped, new ones refused
    for (const ws of wss.clients) ws.terminate();
    await page.waitFor(() => window.t.client.state === 'reconnecting');
    const results = await page.evaluate(() =>
      Array.from({ length: 50 }, (_, i) => window.t.client.send({ type: 'chat', n: i + 1 })),
    );
    expect(new Set(results)).toEqual(new Set(['queued']));
    await until(async () => (await storedCount(page)) === 50);
    await page.reload();
    await page.waitFor(() => window.t?.restored !== undefined);
    expect(await page.evaluate(() => window.t.restored)).toBe(50);
    expect(chats()).toEqual([]);
    accept = true;
    await until(() => chats().length >= 50, 20_000);
    await new Promise((r) => setTimeout(r, 300)); // nothing more comes
    expect(ns()).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    await until(async () => (await storedCount(page)) === 0);
    expect(await page.evaluate(() => window.t.errors)).toEqual([]);
  });

  it('keeps what was sent in the very task that reloads the page', async () => {
    accept = false;
    const page = await openPage();
    // no await between the sends and the reload: the writes are issued at the end of this task
    await page.evaluate(() => {
      for (let i = 1; i <= 50; i++) window.t.client.send({ type: 'chat', n: i });
      location.reload();
    });
    // the reloaded page's (the evaluate may return before the old page is gone)
    await page.waitFor(
      () =>
        (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).type === 'reload' &&
        window.t?.restored !== undefined,
    );
    expect(await page.evaluate(() => window.t.restored)).toBe(50);
    accept = true;
    await until(() => chats().length >= 50);
    expect(ns()).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it.each(['outbox-first', 'delivery-first'])(
    'delivery (%s), connections cut every 100–300 ms, a reload midway: each of 50 exactly once after dedupe',
    async (order) => {
      const page = await openPage(`?delivery=${order}`);
      startCutting();
      const sendRange = (p: Page, from: number, to: number) =>
        p.evaluate(
          async ([a, b]) => {
            for (let n = a; n <= b; n++) {
              window.t.client.send({ type: 'chat', n });
              await new Promise((r) => setTimeout(r, 15));
            }
          },
          [from, to] as const,
        );
      await sendRange(page, 1, 25);
      await page.reload();
      await page.waitFor(() => window.t?.restored !== undefined);
      const restored = await page.evaluate(() => window.t.restored);
      await sendRange(page, 26, 50);
      clearTimeout(cutter);
      await until(() => new Set(ns()).size === 50, 20_000);
      if (order === 'outbox-first') {
        // every id acknowledged: nothing left in storage
        await until(async () => (await storedCount(page)) === 0);
      }
      const byN = new Map<number, Set<string>>();
      for (const f of chats()) {
        const ids = byN.get(f.msg.n!) ?? new Set<string>();
        ids.add(f.msg.id!);
        byN.set(f.msg.n!, ids);
      }
      // after dedupe by id, each message once; and never one message under two ids
      expect([...byN.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect([...byN.values()].filter((ids) => ids.size !== 1)).toEqual([]);
      const copies = chats().length;
      console.info(`delivery ${order}: ${copies} frames for 50 messages, ${conns} connections, ${restored} restored`);
    },
  );

  it('two pages open at load: each stored message is sent by exactly one', async () => {
    accept = false;
    const first = await openPage();
    await first.evaluate(() => {
      for (let n = 1; n <= 30; n++) window.t.client.send({ type: 'chat', n });
    });
    await until(async () => (await storedCount(first)) === 30);
    await first.close(); // the load that stored them is gone, its lock with it
    accept = true;
    const [a, b] = await Promise.all([openPage(), openPage()]);
    const restored = [await a.evaluate(() => window.t.restored), await b.evaluate(() => window.t.restored)];
    expect(restored.sort()).toEqual([0, 30]);
    await until(() => chats().length >= 30);
    await new Promise((r) => setTimeout(r, 300));
    expect(ns()).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(new Set(chats().map((f) => f.conn)).size).toBe(1);
  });

  it('with one connection shared by two pages, both reloaded while offline: each message sent once', async () => {
    accept = false;
    const [a, b] = [await openPage('?shared'), await openPage('?shared')];
    const sendRange = (p: Page, from: number, to: number) =>
      p.evaluate(
        ([x, y]) => {
          for (let n = x; n <= y; n++) window.t.client.send({ type: 'chat', n });
        },
        [from, to] as const,
      );
    await sendRange(a, 1, 20);
    await sendRange(b, 21, 40);
    await until(async () => (await storedCount(a)) === 40);
    await a.reload();
    await b.reload();
    await a.waitFor(() => window.t?.restored !== undefined);
    await b.waitFor(() => window.t?.restored !== undefined);
    const restored = [await a.evaluate(() => window.t.restored), await b.evaluate(() => window.t.restored)];
    // a new load takes over what gone loads stored (its own earlier one, and the other page's if that
    // one is reloaded meanwhile): between them, all 40, each by one load only
    expect(restored[0]! + restored[1]!).toBe(40);
    accept = true;
    await until(() => chats().length >= 40);
    await new Promise((r) => setTimeout(r, 500)); // nothing more comes
    expect([...ns()].sort((x, y) => x! - y!)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // each page's messages in its own order, all on the one shared connection
    expect(ns().filter((n) => n! <= 20)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(ns().filter((n) => n! > 20)).toEqual(Array.from({ length: 20 }, (_, i) => i + 21));
    expect(new Set(chats().map((f) => f.conn)).size).toBe(1);
    await until(async () => (await storedCount(a)) === 0);
  });

  it('a live page keeps its own messages: a page opened beside it takes none of them', async () => {
    accept = false;
    const live = await openPage();
    await live.evaluate(() => {
      for (let n = 1; n <= 10; n++) window.t.client.send({ type: 'chat', n });
    });
    await until(async () => (await storedCount(live)) === 10);
    const other = await openPage();
    expect(await other.evaluate(() => window.t.restored)).toBe(0);
    accept = true;
    await until(() => chats().length >= 10);
    await new Promise((r) => setTimeout(r, 300));
    expect(ns()).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it('the ttl keeps counting from the original send across a reload', async () => {
    // the server unreachable by holding the upgrade, not refusing it: Chromium spaces out new
    // sockets to a host that kept refusing them by up to 5 s, longer than this test's window
    accept = false;
    hold = true;
    const page = await openPage('?ttl=10000');
    const t1 = await page.evaluate(() => {
      window.t.client.send({ type: 'chat', n: 1 });
      return Date.now();
    });
    await new Promise((r) => setTimeout(r, 5000));
    await page.evaluate(() => window.t.client.send({ type: 'chat', n: 2 }));
    await until(async () => (await storedCount(page)) === 2);
    await page.reload();
    await page.waitFor(() => window.t?.restored !== undefined);
    expect(await page.evaluate(() => window.t.restored)).toBe(2);
    // n=1 older than the ttl, n=2 (sent 5 s after it) still young for 4.8 s more; the reloaded
    // page's connection attempt is pending (under its 10 s connect timeout) and opens at once
    await until(() => Date.now() - t1 > 10_200);
    release();
    await until(() => chats().length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(ns()).toEqual([2]);
    const errors = await page.evaluate(() => window.t.errors);
    expect(errors.map((e) => [e.code, e.data.n])).toEqual([['QUEUE_EXPIRED', 1]]);
    await until(async () => (await storedCount(page)) === 0);
  });

  if (ENGINE === 'chromium')
    it('a full quota (Chromium only: CDP quota override): reported, kept in memory, send() never throws, all delivered', async () => {
      accept = false;
      const page = await openPage();
      const cdp = await page.chromium!.context().newCDPSession(page.chromium!);
      // the origin's quota far below what the messages need
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: base.slice(0, -1), quotaSize: 1024 });
      const results = await page.evaluate(() =>
        Array.from({ length: 50 }, (_, i) => window.t.client.send({ type: 'chat', n: i + 1, text: 'x'.repeat(200) })),
      );
      expect(new Set(results)).toEqual(new Set(['queued']));
      await page.waitFor(() => window.t.errors.length > 0);
      const errors = await page.evaluate(() => window.t.errors.map((e) => [e.code, e.message]));
      expect(errors).toEqual([['STORAGE_ERROR', expect.stringMatching(/quota/i)]]);
      expect(await page.evaluate(() => window.t.client.send({ type: 'chat', n: 51 }))).toBe('queued');
      accept = true;
      await until(() => chats().length >= 51);
      expect(ns()).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: base.slice(0, -1) });
    });
});

describe('outbox in Chromium: what was stored goes before new sends', () => {
  it.each([
    ['client and outbox created and 10 sent at once, the server up', '?send=10'],
    ['the outbox attached to the open client, and 10 sent at once', '?send=10&late'],
  ])('a reload: %s: the 10 stored arrive first', async (_, query) => {
    accept = false;
    const page = await openPage();
    await page.evaluate(() => {
      for (let n = 1; n <= 10; n++) window.t.client.send({ type: 'chat', n });
    });
    await until(async () => (await storedCount(page)) === 10);
    // A page being reloaded may hold its lock a moment after it is gone: another page of the
    // app holds the old load’s lock for 400 ms, so the next load reads the store late
    const lock = await page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          const open = indexedDB.open('resilient-ws/outbox/chat/');
          open.onsuccess = () => {
            const all = open.result.transaction('m').objectStore('m').getAll();
            all.onsuccess = () => {
              open.result.close();
              resolve(`resilient-ws/outbox/chat/${all.result[0].o}`);
            };
          };
        }),
    );
    await page.goto('about:blank'); // the old load is gone, its lock released
    // the server up only now: before, the old load could reconnect and send the 10 itself
    accept = true;
    const other = await context.newPage(`${base}?name=other`);
    pages.push(other);
    await other.evaluate(
      (name) =>
        new Promise<void>((granted) => {
          navigator.locks.request(name, () => {
            granted();
            return new Promise((r) => setTimeout(r, 400));
          });
        }),
      lock,
    );
    await page.goto(base + query); // the next load of the page
    await page.waitFor(() => window.t?.restored !== undefined);
    expect(await page.evaluate(() => window.t.restored)).toBe(10);
    await until(() => chats().length >= 20);
    await new Promise((r) => setTimeout(r, 200)); // nothing more comes
    expect(ns()).toEqual([
      ...Array.from({ length: 10 }, (_, i) => i + 1),
      ...Array.from({ length: 10 }, (_, i) => 101 + i),
    ]);
    expect(await page.evaluate(() => window.t.errors)).toEqual([]);
  });
});

// Chromium only: it reads what a socket held from bufferedAmount (WebKit reports none, see
// burst.test.ts) and records the socket from an init script
if (ENGINE === 'chromium')
  describe('the back/forward cache (Chromium only: bufferedAmount and an init script)', () => {
    it('frames the socket still held when the page entered the cache are sent after it comes back, in order', async () => {
      const page = await context.newPage('about:blank');
      pages.push(page);
      // record what the first socket was handed, to tell which frames it still held
      await page.chromium!.addInitScript(() => {
        const Native = window.WebSocket;
        type Socket = InstanceType<typeof Native>;
        const w = window as unknown as { first?: { ws: Socket; sent: string[] } };
        window.WebSocket = class extends Native {
          constructor(u: string | URL, p?: string | string[]) {
            super(u, p);
            if (w.first) return;
            const rec = (w.first = { ws: this as Socket, sent: [] as string[] });
            const send = this.send.bind(this);
            this.send = (d: string) => {
              rec.sent.push(d);
              send(d);
            };
          }
        };
      });
      await page.goto(base);
      await page.waitFor(() => window.t?.client.state === 'open');
      // the first connection reads nothing: what the page sends piles up in the kernel, then in Chromium
      for (const ws of wss.clients) (ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
      const N = 2000;
      await page.evaluate((n) => {
        const pad = 'z'.repeat(10_000);
        for (let i = 1; i <= n; i++) window.t.client.send({ type: 'chat', n: i, pad });
      }, N);
      await new Promise((r) => setTimeout(r, 500)); // the kernel's buffers fill up
      const first = await page.evaluate(() => {
        const f = (window as unknown as { first: { ws: { bufferedAmount: number }; sent: string[] } }).first;
        const buffered = f.ws.bufferedAmount;
        window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }));
        return { buffered, sent: f.sent.map((d) => JSON.parse(d).n as number), bytes: f.sent.map((d) => d.length) };
      });
      for (const ws of wss.clients) ws.terminate(); // the connection is gone for good
      await page.evaluate(() => window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true })));
      await until(() => chats().some((f) => f.conn === 2 && f.msg.n === N), 20_000);
      // what the first socket still held: its newest frames, counted back until they cover bufferedAmount
      let k = first.sent.length;
      for (let b = 0; b < first.buffered; ) b += first.bytes[--k]!;
      const held = first.sent.slice(k);
      const next = chats()
        .filter((f) => f.conn === 2)
        .map((f) => f.msg.n as number);
      console.info(
        `bfcache: ${first.sent.length} frames handed to the first socket, ${first.buffered} bytes (${held.length} frames) still in its buffer at pagehide; the next connection got ${next.length} from #${next[0]}`,
      );
      expect(held.length).toBeGreaterThan(0);
      // every frame it held, then what waited in the queue: in order, none skipped
      expect(next).toEqual(Array.from({ length: N - held[0]! + 1 }, (_, i) => held[0]! + i));
      expect(await page.evaluate(() => window.t.errors)).toEqual([]);
    });
  });

describe('the demo pages', () => {
  it.each(['/', '/react.html'])('%s: chat sent while the server is down survives a reload', async (pagePath) => {
    const demo = await startDemoServer({ port: 0, quiet: true });
    try {
      const page = await context.newPage(demo.url + pagePath);
      pages.push(page);
      await waitForBadge(page, 'open');
      const down = demo.restart(8000); // every connection closed, upgrades refused for 8 s
      await waitForBadge(page, 'reconnecting');
      await fill(page, '#message', 'typed on a train');
      await pressEnter(page, '#message');
      await new Promise((r) => setTimeout(r, 300)); // the write is issued at the end of the task; let it commit
      await page.reload();
      await page.waitFor(() =>
        [...document.querySelectorAll('#event-log li')].some((li) => li.textContent?.includes('restored 1 messages')),
      );
      await down;
      const sent = () =>
        demo.received
          .map((f) => JSON.parse(f.data) as Msg)
          .filter((m) => m.type === 'message' && m.text === 'typed on a train');
      await until(() => sent().length >= 1, 15_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(new Set(sent().map((m) => m.id)).size).toBe(1); // one id: once after the server's dedupe
    } finally {
      await demo.close();
    }
  });
});
