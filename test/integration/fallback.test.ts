// The HTTP fallback against the reference server, through a "proxy" that blocks WebSockets in
// each of the ways seen in the field: working over HTTP within 3 s, nothing sent meanwhile lost
// or doubled, auth, heartbeat and delivery over HTTP, no fallback on a plain server restart, and
// the move back to WebSocket when it works again.
import {
  type ClientOptions,
  type Message,
  type State,
  WebSocketClient,
  type WebSocketClientError,
  type WebSocketConstructor,
} from 'resilient-ws';
import { type Delivery, delivery } from 'resilient-ws/delivery';
import { type FallbackOptions, fallback, type Transport } from 'resilient-ws/fallback';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type DemoServer, startDemoServer } from '../../demo/server/index';
import { demoClient } from './demo-client';
import { type ProxyMode, type Proxy as ProxyServer, startProxy } from './fallback-proxy';

const stops: (() => unknown)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Polls `check` until it holds, for at most `ms`. */
const until = async (check: () => boolean, ms = 10_000, what = 'condition'): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
};

/** A memory Storage, as a page session's `sessionStorage`. */
const memoryStorage = () => {
  const m = new Map<string, string>();
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
    size: () => m.size,
  };
};

interface Setup {
  server: DemoServer;
  proxy: ProxyServer;
  client: WebSocketClient<Message, Message>;
  transports: Transport[];
  states: State[];
  errors: WebSocketClientError[];
  /** every message the client's handlers got (prices left out) */
  got: Message[];
  /** WebSocket objects the fallback made */
  sockets: () => number;
  started: number;
}

const start = async (
  mode: ProxyMode,
  opts: {
    fallback?: Partial<FallbackOptions>;
    client?: Partial<ClientOptions<Message, Message>>;
    server?: DemoServer;
    proxy?: ProxyServer;
    token?: string;
  } = {},
): Promise<Setup> => {
  const server = opts.server ?? (await startDemoServer({ quiet: true, priceIntervalMs: 0 }));
  if (!opts.server) stops.push(() => server.close());
  const proxy = opts.proxy ?? (await startProxy(server.port, mode));
  if (!opts.proxy) stops.push(() => proxy.close());
  let n = 0;
  class Counting extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      n++;
    }
  }
  const transports: Transport[] = [];
  const states: State[] = [];
  const errors: WebSocketClientError[] = [];
  const got: Message[] = [];
  const started = Date.now();
  const client = new WebSocketClient<Message, Message>(`ws://127.0.0.1:${proxy.port}/ws`, {
    WebSocket: fallback({
      http: '/rt',
      WebSocket: Counting as unknown as WebSocketConstructor,
      storage: false,
      onTransport: (t) => transports.push(t),
      ...opts.fallback,
    }),
    auth: { message: { type: 'auth', token: opts.token ?? 'demo-token' }, isAck: (m) => m.type === 'auth_ok' },
    reconnect: { initialDelay: 200, maxDelay: 1000 },
    heartbeat: false,
    pageEvents: false,
    logger: { warn: () => {} },
    ...opts.client,
  });
  stops.push(() => client.dispose());
  client.onStateChange((s) => states.push(s));
  client.onError((e) => errors.push(e));
  client.on('*', (m) => {
    if (m.type !== 'price') got.push(m);
  });
  return { server, proxy, client, transports, states, errors, got, sockets: () => n, started };
};

const echoes = (got: Message[]) => got.filter((m) => m.type === 'echo').map((m) => m.n);

describe('falls back to HTTP within 3 s behind a proxy that blocks WebSockets', () => {
  for (const mode of ['refuse', 'drop', 'kill'] as const) {
    it(`${mode === 'refuse' ? 'refuses upgrades with 403' : mode === 'drop' ? 'drops the connection' : 'accepts the upgrade and kills the socket before the first message'}: open over HTTP in time, what was sent meanwhile arrives once, in order`, async () => {
      const s = await start(mode);
      // sent before and while the transport is decided
      for (let i = 1; i <= 5; i++) s.client.send({ type: 'echo', n: i });
      await until(() => s.client.state === 'open', 5000, 'open');
      const openedIn = Date.now() - s.started;
      for (let i = 6; i <= 10; i++) s.client.send({ type: 'echo', n: i });
      await until(() => echoes(s.got).length >= 10, 5000, 'echoes');
      await sleep(200);
      expect(s.transports).toEqual(['http']);
      expect(openedIn).toBeLessThan(3000);
      expect(echoes(s.got)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      // the server got each once (the proxy let none of the WebSocket frames through)
      const frames = s.server.received.map((f) => JSON.parse(f.data) as Message).filter((m) => m.type === 'echo');
      expect(frames.map((m) => m.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      // two WebSocket attempts, then HTTP; the client saw one connection
      expect(s.proxy.upgrades).toEqual([mode, mode]);
      expect(s.states).toEqual(['connecting', 'authenticating', 'open']);
      console.log(`fallback (${mode}): open over HTTP ${openedIn} ms after the first attempt`);
    });
  }

  it('a WebSocket that does not open within `timeout`: HTTP once it answers', async () => {
    const s = await start('pass', { fallback: { timeout: 300 } });
    // a proxy that holds the upgrade: point the client at a TCP server that never answers it
    s.client.close();
    const net = await import('node:net');
    const held: import('node:net').Socket[] = [];
    const hold = net.createServer((sock) => {
      sock.on('error', () => {});
      sock.resume();
      held.push(sock);
    });
    await new Promise<void>((r) => hold.listen(0, '127.0.0.1', r));
    stops.push(
      () =>
        new Promise<void>((r) => {
          for (const x of held) x.destroy();
          hold.close(() => r());
        }),
    );
    const port = (hold.address() as import('node:net').AddressInfo).port;
    const transports: Transport[] = [];
    const started = Date.now();
    const c = new WebSocketClient<Message, Message>(`ws://127.0.0.1:${port}/ws`, {
      WebSocket: fallback({
        http: `http://127.0.0.1:${s.server.port}/rt`,
        WebSocket: WebSocket as unknown as WebSocketConstructor,
        storage: false,
        timeout: 300,
        onTransport: (t) => transports.push(t),
      }),
      auth: { message: { type: 'auth', token: 'demo-token' }, isAck: (m) => m.type === 'auth_ok' },
      heartbeat: false,
      pageEvents: false,
      logger: { warn: () => {} },
    });
    stops.push(() => c.dispose());
    await until(() => c.state === 'open', 5000, 'open');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(transports).toEqual(['http']);
  });
});

describe('over the HTTP transport, everything above it works unchanged', () => {
  it('auth: a refused token closes with the server code (4002) and ends the client with AUTH_REJECTED', async () => {
    const s = await start('refuse', { token: 'not-a-token' });
    await until(() => s.client.state === 'closed', 5000, 'closed');
    expect(s.transports).toEqual(['http']);
    expect(s.errors.map((e) => e.code)).toContain('AUTH_REJECTED');
    expect(s.server.events.listenerCount('auth')).toBe(0);
  });

  it('heartbeat: a half-open HTTP session (server stalled) is detected within interval + timeout', async () => {
    const s = await start('refuse', { client: { heartbeat: { interval: 400, timeout: 400 } } });
    await until(() => s.client.state === 'open', 5000, 'open');
    // the server has answered a ping: its silence is now proof of death
    await until(() => s.client.latency !== undefined, 5000, 'a pong');
    s.server.stall();
    const stalledAt = Date.now();
    await until(() => s.client.state === 'reconnecting', 5000, 'reconnecting');
    const detected = Date.now() - stalledAt;
    expect(s.errors.map((e) => e.code)).toContain('HEARTBEAT_TIMEOUT');
    expect(detected).toBeLessThan(800 + 1000);
    // and it comes back, over HTTP again (remembered), without probing WebSocket
    const upgrades = s.proxy.upgrades.length;
    await until(() => s.client.state === 'open', 5000, 'open again');
    expect(s.proxy.upgrades.length).toBe(upgrades);
    expect(s.transports).toEqual(['http', 'http']);
    console.log(`heartbeat over HTTP: half-open detected in ${detected} ms (bound 800 ms + one ping)`);
  });

  it('delivery through cuts of the HTTP session: 0 lost, 0 duplicated, in order', async () => {
    const server = await startDemoServer({ quiet: true, priceIntervalMs: 0 });
    stops.push(() => server.close());
    const observer = await demoClient(server.wsUrl);
    stops.push(() => observer.ws.terminate());
    observer.send({ type: 'join', room: 'cuts' });
    await observer.waitFor((m) => m.type === 'system' && m.room === 'cuts');
    const s = await start('refuse', { server });
    let d: Delivery | undefined;
    d = delivery(s.client);
    s.client.onStateChange((st) => {
      if (st === 'open') s.client.send({ type: 'join', room: 'cuts' });
    });
    await until(() => s.client.state === 'open', 5000, 'open');
    const N = 60;
    let cuts = 0;
    for (let i = 1; i <= N; i++) {
      s.client.send({ type: 'message', text: String(i) });
      await sleep(20);
      if (i % 12 === 0) {
        await until(() => s.client.state === 'open', 5000, 'open before a cut');
        s.proxy.cut();
        cuts++;
      }
    }
    const texts = () => observer.of('chat').map((m) => Number(m.text));
    await until(() => new Set(texts()).size >= N && d?.unacked === 0, 15_000, `all ${N} chat lines`);
    // the last cut's reconnect may still be under way
    await until(() => s.client.state === 'open' && s.transports.length === cuts + 1, 5000, 'a session per cut');
    await sleep(300);
    expect(cuts).toBe(5);
    expect(texts()).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(s.transports.every((t) => t === 'http')).toBe(true);
    // a session per cut, and one more after the last
    expect(s.transports.length).toBe(cuts + 1);
    d.stop();
  });
});

describe('a plain server restart never causes a fallback', () => {
  it('chaos restart (both transports down for 1.5 s): back on WebSocket, HTTP never chosen', async () => {
    const s = await start('pass', { client: { heartbeat: false } });
    await until(() => s.client.state === 'open', 5000, 'open');
    expect(s.transports).toEqual(['websocket']);
    await s.server.restart(1500);
    await until(() => s.client.state === 'open' && s.transports.length === 2, 10_000, 'open again');
    expect(s.transports).toEqual(['websocket', 'websocket']);
    expect(s.states.filter((x) => x === 'reconnecting').length).toBeGreaterThanOrEqual(2);
  });

  it('the server process gone and started again on its port: back on WebSocket, HTTP never chosen', async () => {
    let server = await startDemoServer({ quiet: true, priceIntervalMs: 0 });
    const port = server.port;
    stops.push(() => server.close());
    const s = await start('pass', { server });
    await until(() => s.client.state === 'open', 5000, 'open');
    await server.close();
    await sleep(1200);
    server = await startDemoServer({ quiet: true, priceIntervalMs: 0, port });
    await until(() => s.client.state === 'open' && s.transports.length === 2, 10_000, 'open again');
    expect(s.transports).toEqual(['websocket', 'websocket']);
  });
});

describe('remembered for the page session, and moved back when WebSocket works again', () => {
  it('a second client in the same page session (storage) goes straight to HTTP, without a WebSocket attempt', async () => {
    const storage = memoryStorage();
    const a = await start('refuse', { fallback: { storage } });
    await until(() => a.client.state === 'open', 5000, 'open');
    expect(storage.size()).toBe(1);
    a.client.dispose();
    const before = a.proxy.upgrades.length;
    const b = await start('refuse', { fallback: { storage }, server: a.server, proxy: a.proxy });
    await until(() => b.client.state === 'open', 5000, 'open');
    expect(b.transports).toEqual(['http']);
    expect(b.sockets()).toBe(0);
    expect(a.proxy.upgrades.length).toBe(before);
  });

  it('with delivery: chat lines sent across the move back reach the room once each, in order', async () => {
    const server = await startDemoServer({ quiet: true, priceIntervalMs: 0 });
    stops.push(() => server.close());
    const observer = await demoClient(server.wsUrl);
    stops.push(() => observer.ws.terminate());
    observer.send({ type: 'join', room: 'back' });
    await observer.waitFor((m) => m.type === 'system' && m.room === 'back');
    const s = await start('refuse', { server, fallback: { retry: 500, hold: 300 } });
    const d = delivery(s.client);
    s.client.onStateChange((st) => {
      if (st === 'open') s.client.send({ type: 'join', room: 'back' });
    });
    await until(() => s.client.state === 'open', 5000, 'open');
    s.proxy.mode = 'pass';
    let n = 0;
    while (s.transports.at(-1) !== 'websocket' || n < 40) {
      s.client.send({ type: 'message', text: String(++n) });
      await sleep(25);
      if (n > 400) throw new Error('never moved back');
    }
    const texts = () => observer.of('chat').map((m) => Number(m.text));
    await until(() => new Set(texts()).size >= n && d.unacked === 0, 10_000, `all ${n} chat lines`);
    await sleep(300);
    expect(s.transports).toEqual(['http', 'websocket']);
    expect(texts()).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    d.stop();
  });

  it('moves back to WebSocket once it works (retry + hold), nothing lost or sent twice', async () => {
    const storage = memoryStorage();
    const s = await start('refuse', { fallback: { retry: 500, hold: 300, storage } });
    await until(() => s.client.state === 'open', 5000, 'open');
    expect(s.transports).toEqual(['http']);
    s.proxy.mode = 'pass';
    const passedAt = Date.now();
    let n = 0;
    let movedIn = 0;
    while (Date.now() - passedAt < 6000) {
      s.client.send({ type: 'echo', n: ++n });
      await sleep(15);
      if (!movedIn && s.transports.at(-1) === 'websocket') movedIn = Date.now() - passedAt;
      if (movedIn && Date.now() - passedAt > movedIn + 500) break;
    }
    await until(() => echoes(s.got).length >= n, 5000, 'every echo');
    await sleep(200);
    expect(s.transports).toEqual(['http', 'websocket']);
    expect(movedIn).toBeGreaterThan(0);
    // retry 500 + hold 300 + the client's reconnect delay (≤ 200) + margin
    expect(movedIn).toBeLessThan(3000);
    const all = Array.from({ length: n }, (_, i) => i + 1);
    expect(echoes(s.got)).toEqual(all);
    // and the server got each frame once, in order, across the two transports
    const frames = s.server.received.map((f) => JSON.parse(f.data) as Message).filter((m) => m.type === 'echo');
    expect(frames.map((m) => m.n)).toEqual(all);
    expect(storage.size()).toBe(0);
    console.log(
      `move back: on WebSocket ${movedIn} ms after it works again (retry 500 + hold 300); ${n} echoes, each once`,
    );
  });
});
