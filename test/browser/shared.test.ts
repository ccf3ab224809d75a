// `resilient-ws/shared` in each engine: several pages of one browser context (one origin, served
// over http://127.0.0.1) share one connection to a real `ws` server that records every
// connection and every frame, with when it came. The pages load the BUILT package (dist/),
// bundled by esbuild into one script.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { startDemoServer } from '../../demo/server';
import type { Context, TestPage as Page } from './driver';
import { driverForFile, ENGINE, text, waitForBadge } from './helpers';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = (f: string) => path.join(repo, 'dist', f);

interface Conn {
  ws: WebSocket;
  openedAt: number;
  closedAt?: number;
  frames: { at: number; msg: Record<string, unknown> }[];
}

declare global {
  interface Window {
    // biome-ignore lint/suspicious/noExplicitAny: the page's test globals
    RWS: any;
    // biome-ignore lint/suspicious/noExplicitAny: the page's test globals
    c: any;
    got: Record<string, unknown>[];
    states: [string, number][];
    stall(): void;
  }
}

const PAGE = `<!doctype html><meta charset="utf-8"><script src="/bundle.js"></script><script>
  const c = RWS.sharedClient({ url: 'ws://' + location.host + '/ws', name: 'test', reconnect: { initialDelay: 100, maxDelay: 500 } });
  window.c = c; window.got = []; window.states = [];
  c.on('*', (m) => got.push(m));
  c.onStateChange((s) => states.push([s, Date.now()]));
  window.stall = () => { const x = new XMLHttpRequest(); x.open('GET', '/stall', false); x.send(); };
</script>`;

let bundle = '';
let server: http.Server;
let wss: WebSocketServer;
let base = '';
let conns: Conn[] = [];
let stalled: http.ServerResponse[] = [];
let stallAt = 0;
const run = driverForFile();
let context: Context;
let all: Page[] = [];

beforeAll(async () => {
  const out = await build({
    stdin: {
      contents: `export { sharedClient } from 'resilient-ws/shared'; export { request } from 'resilient-ws/request';`,
      resolveDir: repo,
    },
    bundle: true,
    format: 'iife',
    globalName: 'RWS',
    write: false,
    alias: {
      'resilient-ws/shared': dist('shared.mjs'),
      'resilient-ws/request': dist('request.mjs'),
      'resilient-ws': dist('index.mjs'),
    },
  });
  bundle = out.outputFiles[0]!.text;
  server = http.createServer((req, res) => {
    if (req.url === '/bundle.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else if (req.url === '/stall') {
      // held open until the test lets go: the page that asked is stalled meanwhile
      stallAt = Date.now();
      res.writeHead(200, { 'content-type': 'text/plain' }); // the body comes when released
      stalled.push(res);
    } else res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
  });
  wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (ws) => {
    const conn: Conn = { ws, openedAt: Date.now(), frames: [] };
    conns.push(conn);
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as Record<string, unknown>;
      conn.frames.push({ at: Date.now(), msg });
      if (msg.type === 'time') ws.send(JSON.stringify({ type: 'time', requestId: msg.requestId, now: Date.now() }));
    });
    ws.on('close', () => {
      conn.closedAt = Date.now();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  wss?.close();
  await new Promise((r) => server?.close(r));
});

beforeEach(async () => {
  conns = [];
  stalled = [];
  all = [];
  context = await run.driver.newContext();
});

afterEach(async () => {
  for (const r of stalled) r.end();
  await context.close();
  for (const c of conns) c.ws.terminate();
  expect(all.flatMap((p) => p.errors)).toEqual([]);
});

// Counts are taken relative to a point in a test, and "one connection" means one open at a time:
// on a starved machine a page can stall long enough for the others to take over, by design.
const open = () => conns.filter((c) => c.closedAt === undefined);

/** The first connection made after `base` connections (waits for it). */
async function newConnection(base: number, timeout = 5000): Promise<Conn> {
  await until(() => conns.length > base, timeout);
  return conns[base]!;
}

async function until(check: () => boolean | Promise<boolean>, timeout = 10_000): Promise<void> {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out: ${check}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function pages(n: number): Promise<Page[]> {
  const list: Page[] = [];
  for (let i = 0; i < n; i++) list.push(await context.newPage(`${base}/`));
  all.push(...list);
  for (const p of list) await p.waitFor(() => window.c.state === 'open');
  return list;
}

const leaderOf = async (list: Page[]) => {
  for (const p of list) if (await p.evaluate(() => window.c.leader)) return p;
  throw new Error('no leader');
};

/** Every page sends `count` messages `{ type: 'say', from, i }`, all at once. */
const sendFrom = (list: Page[], count: number, tag = '') =>
  Promise.all(
    list.map((p, n) =>
      p.evaluate(
        ([from, count]) => {
          for (let i = 0; i < count; i++) window.c.send({ type: 'say', from, i });
        },
        [`${tag}${n}`, count] as const,
      ),
    ),
  );

/** The `say` frames the server got, by sender, in arrival order. */
function said(): Map<string, number[]> {
  const all = conns.flatMap((c) => c.frames).sort((a, b) => a.at - b.at);
  const by = new Map<string, number[]>();
  for (const { msg } of all)
    if (msg.type === 'say') by.set(msg.from as string, [...(by.get(msg.from as string) ?? []), msg.i as number]);
  return by;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe(`sharedClient in ${ENGINE}`, () => {
  it('three pages hold one server connection, and every page is open', async () => {
    const list = await pages(3);
    expect(open()).toHaveLength(1);
    const leaders = await Promise.all(list.map((p) => p.evaluate(() => window.c.leader)));
    expect(leaders.filter(Boolean)).toHaveLength(1);
  });

  it('50 messages from each page all arrive once, each page in its own order', async () => {
    const list = await pages(3);
    await sendFrom(list, 50);
    await until(() => [...said().values()].flat().length >= 150);
    await new Promise((r) => setTimeout(r, 200)); // nothing more comes
    const by = said();
    for (const n of ['0', '1', '2']) expect(by.get(n)).toEqual(range(50));
    expect(open()).toHaveLength(1);
    // every frame confirmed: nothing is left waiting in a follower
  });

  it('every page receives every broadcast, in order', async () => {
    const list = await pages(3);
    const live = open()[0]!;
    for (let i = 0; i < 30; i++) live.ws.send(JSON.stringify({ type: 'news', i }));
    await until(
      () => Promise.all(list.map((p) => p.evaluate(() => window.got.length >= 30))).then((a) => a.every(Boolean)),
      5000,
    ).catch(() => {
      throw new Error(`connections: ${conns.length}`);
    });
    for (const p of list) {
      await p.waitFor(() => window.got.filter((m) => m.type === 'news').length >= 30);
      expect(await p.evaluate(() => window.got.filter((m) => m.type === 'news').map((m) => m.i))).toEqual(range(30));
    }
  });

  it("a follower's request gets its reply", async () => {
    const list = await pages(2);
    const leader = await leaderOf(list);
    const follower = list.find((p) => p !== leader)!;
    const reply = await follower.evaluate(() => window.RWS.request(window.c, { type: 'time' }, { timeout: 3000 }));
    expect(reply).toMatchObject({ type: 'time', now: expect.any(Number) });
    // the reply went to the promise, not to the follower's own handlers
    expect(await follower.evaluate(() => window.got.filter((m) => m.type === 'time'))).toEqual([]);
    expect(open()).toHaveLength(1);
  });

  it('closing the leader page: one new connection within 2 s, nothing lost', async () => {
    const list = await pages(3);
    const leader = await leaderOf(list);
    const rest = list.filter((p) => p !== leader);
    await sendFrom(rest, 50, 'before');
    const base = conns.length;
    const t0 = Date.now();
    const closing = leader.close();
    await sendFrom(rest, 50, 'during');
    await closing;
    const takeover = (await newConnection(base)).openedAt - t0;
    console.log(`takeover after the leader page closed: ${takeover} ms`);
    expect(takeover).toBeLessThan(2000);
    for (const p of rest) await p.waitFor(() => window.c.state === 'open');
    await sendFrom(rest, 50, 'after');
    await until(() => [...said().values()].flat().length >= 300);
    const by = said();
    // Nothing lost, and each page's order holds across the handover. A frame the closing leader
    // wrote but could not confirm before it went is sent again by the next leader (the documented
    // duplicate): so compare first arrivals, and only frames in flight at the handover may repeat.
    const first = (xs: number[]) => [...new Set(xs)];
    for (const n of ['0', '1']) {
      for (const tag of ['before', 'during']) expect(first(by.get(tag + n)!)).toEqual(range(50));
      expect(by.get(`after${n}`)).toEqual(range(50));
    }
    const repeats = ['before', 'during'].flatMap((t) => ['0', '1'].map((n) => by.get(t + n)!.length - 50));
    console.log(`frames sent twice across the handover: ${repeats.reduce((a, b) => a + b)}`);
    expect(open()).toHaveLength(1);
  });

  // WebKit cannot be stalled this way: the held synchronous XHR fails in the page with a
  // TimeoutError instead of running on when released (see docs/browser-support.md)
  if (ENGINE !== 'webkit')
    it('a stalled (hung, by a held synchronous XHR: Chromium and Firefox) leader is replaced within 2 s and, once it runs again, writes nothing', async () => {
      const list = await pages(3);
      const leader = await leaderOf(list);
      const rest = list.filter((p) => p !== leader);
      const base = conns.length;
      const old = open()[0]!;
      await leader.evaluate(() => void setTimeout(() => window.stall(), 0));
      await until(() => stalled.length === 1);
      await sendFrom(rest, 20, 'stalled');
      const takeover = (await newConnection(base)).openedAt - stallAt;
      console.log(`takeover after the leader stalled: ${takeover} ms`);
      expect(takeover).toBeLessThan(2000);
      await until(() => [...said().values()].flat().length >= 40);
      // the old leader runs again, with everything that queued up meanwhile
      const released = Date.now();
      for (const r of stalled) r.end('ok');
      stalled = [];
      await leader.waitFor(() => window.c.state === 'open' && !window.c.leader);
      await leader.evaluate(() => {
        for (let i = 0; i < 10; i++) window.c.send({ type: 'say', from: 'thawed', i });
      });
      await until(() => (said().get('thawed')?.length ?? 0) >= 10);
      await new Promise((r) => setTimeout(r, 500));
      expect(old.frames.filter((f) => f.at >= released)).toEqual([]);
      expect(open()).toHaveLength(1);
      await until(() => old.closedAt !== undefined);
      const by = said();
      for (const n of ['0', '1']) expect(by.get(`stalled${n}`)).toEqual(range(20));
      expect(by.get('thawed')).toEqual(range(10));
    });

  it('disposing the client in every page closes the socket, with the last one', async () => {
    const list = await pages(3);
    const leader = await leaderOf(list);
    for (const p of list.filter((p) => p !== leader)) {
      await p.evaluate(() => window.c.dispose());
      expect(await p.evaluate(() => window.c.state)).toBe('closed');
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(open()).toHaveLength(1);
    await leader.evaluate(() => window.c.dispose());
    await until(() => open().length === 0, 3000);
  });

  it('a leader that leaves hands over: the others reconnect through a new leader', async () => {
    const list = await pages(3);
    const leader = await leaderOf(list);
    const rest = list.filter((p) => p !== leader);
    const marks = await Promise.all(rest.map((p) => p.evaluate(() => window.states.length)));
    const base = conns.length;
    await leader.evaluate(() => window.c.close());
    await newConnection(base, 3000);
    await until(() => open().length === 1, 3000);
    for (const [i, p] of rest.entries())
      await p.waitFor((m) => window.states.slice(m).some(([s]) => s === 'open'), marks[i]);
    expect((await Promise.all(rest.map((p) => p.evaluate(() => window.c.leader)))).filter(Boolean)).toHaveLength(1);
    // the page that left can come back, as a follower
    await leader.evaluate(() => window.c.connect());
    await leader.waitFor(() => window.c.state === 'open');
    expect(await leader.evaluate(() => window.c.leader)).toBe(false);
    expect(open()).toHaveLength(1);
  });

  for (const how of ENGINE === 'chromium' ? (['crashes', 'navigates away'] as const) : (['navigates away'] as const))
    it(`the leader page ${how === 'crashes' ? 'crashes (Chromium only: CDP Page.crash)' : how}: one new connection within 2 s, nothing lost`, async () => {
      const list = await pages(3);
      const leader = await leaderOf(list);
      const rest = list.filter((p) => p !== leader);
      const base = conns.length;
      const t0 = Date.now();
      if (how === 'crashes') {
        const cdp = await leader.chromium!.context().newCDPSession(leader.chromium!);
        void cdp.send('Page.crash').catch(() => {});
      } else await leader.goto('about:blank');
      await sendFrom(rest, 30, how);
      const takeover = (await newConnection(base)).openedAt - t0;
      console.log(`takeover after the leader page ${how}: ${takeover} ms`);
      expect(takeover).toBeLessThan(2000);
      await until(() => [...said().values()].flat().length >= 60);
      for (const n of ['0', '1']) expect(new Set(said().get(how + n))).toEqual(new Set(range(30)));
      await until(() => open().length === 1);
    });
});

describe('the demo pages, shared across tabs', () => {
  it('three tabs (plain and React) hold one connection in /stats, and one of them is the leader', async () => {
    const demo = await startDemoServer({ port: 0, quiet: true });
    try {
      const tabs: Page[] = [];
      for (const path of ['/?shared', '/react.html?shared', '/?shared'])
        tabs.push(await context.newPage(demo.url + path));
      all.push(...tabs);
      for (const p of tabs) await waitForBadge(p, 'open', 15_000);
      const stats = (await (await fetch(`${demo.url}/stats`)).json()) as { connections: number };
      expect(stats.connections).toBe(1);
      const roles = await Promise.all(tabs.map((p) => text(p, '#tab-role')));
      expect(roles.filter((r) => r?.startsWith('leader'))).toHaveLength(1);
      expect(roles.filter((r) => r?.startsWith('follower'))).toHaveLength(2);
      expect(await tabs[0]!.evaluate(() => (document.getElementById('share-tabs') as HTMLInputElement).checked)).toBe(
        true,
      );
    } finally {
      await demo.close();
    }
  });
});
