// The election and the protocol between tabs, in one process: each `sharedClient` is a tab of its
// own (its own BroadcastChannel and lock requests), Node's BroadcastChannel carries the posts,
// an in-memory Web Locks stands in for the browser's, mock-socket is the server. The real thing
// (pages, crashes, a stalled event loop) is in test/browser/shared.test.ts.
import { WebSocket as MockWebSocket } from 'mock-socket';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { delivery } from '../../src/delivery';
import { request } from '../../src/request';
import { type SharedClient, type SharedOptions, sharedClient } from '../../src/shared';
import { mockServer, type TestServer } from './helpers';

type Grant = { client: string; done: (v: unknown) => void; fail: (e: unknown) => void };
type Waiting = Grant & { cb: () => unknown };

/** Web Locks for one lock name, as the browser keeps them: a holder, a line, steal, query. */
class Locks {
  holder?: Grant;
  line: Waiting[] = [];

  /** The `navigator.locks` of one tab. */
  tab(client: string) {
    return {
      request: (_name: string, opts: { steal?: boolean; signal?: AbortSignal; quiet?: boolean }, cb: () => unknown) =>
        new Promise((done, fail) => {
          const w: Waiting = { client, done, fail, cb };
          if (opts.steal) {
            // the old holder learns through its request's promise (unless a test keeps it in the dark)
            if (!opts.quiet) this.holder?.fail(new DOMException('stolen', 'AbortError'));
            this.holder = undefined;
            return this.grant(w);
          }
          opts.signal?.addEventListener('abort', () => {
            if (!this.line.includes(w)) return;
            this.line = this.line.filter((x) => x !== w);
            fail(new DOMException('aborted', 'AbortError'));
          });
          if (this.holder) this.line.push(w);
          else this.grant(w);
        }),
      query: async () => ({
        held: this.holder ? [{ name: KEY, clientId: this.holder.client, mode: 'exclusive' }] : [],
      }),
    } as unknown as LockManager;
  }

  private grant(w: Waiting): void {
    this.holder = w;
    Promise.resolve()
      .then(w.cb)
      .then((v) => {
        if (this.holder === w) {
          this.holder = undefined;
          const next = this.line.shift();
          if (next) this.grant(next);
        }
        w.done(v);
      });
  }
}

const KEY = 'resilient-ws:test';
let locks: Locks;
let server: TestServer;
const clients: SharedClient[] = [];

/** A tab: its own `navigator.locks` while its client is made. */
function tab(name: string, options: Partial<SharedOptions> = {}) {
  Object.defineProperty(navigator, 'locks', { value: locks.tab(name), configurable: true });
  const c = sharedClient({
    url: server.url,
    name: 'test',
    WebSocket: MockWebSocket as unknown as SharedOptions['WebSocket'],
    heartbeat: false,
    reconnect: { initialDelay: 100, jitter: 0 },
    ...options,
  });
  const got: unknown[] = [];
  const states: string[] = [];
  c.on('*', (m) => got.push(m));
  c.onStateChange((s) => states.push(s));
  clients.push(c);
  return { c, got, states };
}

/** Let `ms` of fake time pass in small steps; between them the channel's posts are delivered. */
async function pass(ms: number) {
  for (let t = 0; t < ms; t += 10) {
    await vi.advanceTimersByTimeAsync(Math.min(10, ms - t));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  }
}

const said = () => server.frames.filter((f) => (f as { type?: string }).type === 'say') as { i: number }[];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  locks = new Locks();
  server = mockServer();
});

afterEach(() => {
  for (const c of clients.splice(0)) c.dispose();
  server.server.stop();
  vi.useRealTimers();
  Reflect.deleteProperty(navigator, 'locks');
});

describe('sharedClient', () => {
  it('is a client of its own where Web Locks are missing', async () => {
    Reflect.deleteProperty(navigator, 'locks');
    const c = sharedClient({ url: server.url, WebSocket: MockWebSocket as never, heartbeat: false });
    clients.push(c);
    await pass(20);
    expect(c.state).toBe('open');
    expect(c.leader).toBe(true);
    c.send({ type: 'say', i: 0 });
    await pass(10);
    expect(said()).toEqual([{ type: 'say', i: 0 }]);
    expect(server.sockets).toHaveLength(1);
  });

  it('two tabs, one connection; the first leads, both are open', async () => {
    const a = tab('A');
    await pass(50);
    const b = tab('B');
    await pass(50);
    expect(server.sockets).toHaveLength(1);
    expect([a.c.leader, b.c.leader]).toEqual([true, false]);
    expect([a.c.state, b.c.state]).toEqual(['open', 'open']);
    // it connects in a microtask, as any client does: a listener attached at once sees it all
    expect(b.states).toEqual(['connecting', 'open']);
  });

  it("a follower's sends go out through the leader, in order; the leader's own too", async () => {
    const a = tab('A');
    await pass(50);
    const b = tab('B');
    await pass(50);
    for (let i = 0; i < 5; i++) b.c.send({ type: 'say', i });
    for (let i = 5; i < 8; i++) a.c.send({ type: 'say', i });
    await pass(50);
    expect(said().map((m) => m.i)).toEqual([5, 6, 7, 0, 1, 2, 3, 4]);
  });

  it('every tab gets every message from the server, in order', async () => {
    const a = tab('A');
    await pass(50);
    const b = tab('B');
    await pass(50);
    for (let i = 0; i < 3; i++) server.push({ type: 'news', i });
    await pass(50);
    expect(a.got).toEqual([0, 1, 2].map((i) => ({ type: 'news', i })));
    expect(b.got).toEqual(a.got);
  });

  it("messages without a type reach every tab's on('?'); a tab without one reports INVALID_MESSAGE itself", async () => {
    const a = tab('A');
    await pass(50);
    const b = tab('B');
    const c = tab('C');
    await pass(50);
    const typeless: unknown[][] = [[], []];
    a.c.on('?', (m) => typeless[0]!.push(m));
    b.c.on('?', (m) => typeless[1]!.push(m));
    const errors: string[][] = [[], [], []];
    for (const [i, t] of [a, b, c].entries()) t.c.onError((e) => errors[i]!.push(e.code));
    server.push({ error: 'nope' });
    server.push({ type: 'news', i: 0 });
    await pass(50);
    expect(typeless).toEqual([[{ error: 'nope' }], [{ error: 'nope' }]]);
    expect(errors).toEqual([[], [], ['INVALID_MESSAGE']]);
    expect([a.got, b.got, c.got]).toEqual([
      [{ type: 'news', i: 0 }],
      [{ type: 'news', i: 0 }],
      [{ type: 'news', i: 0 }],
    ]);
  });

  it("a follower's request gets its reply", async () => {
    tab('A');
    await pass(50);
    const b = tab('B');
    await pass(50);
    server.last().on('message', (d) => {
      const m = JSON.parse(d as string);
      if (m.type === 'time') server.last().send(JSON.stringify({ type: 'time', requestId: m.requestId, now: 1 }));
    });
    const reply = request(b.c, { type: 'time' });
    await pass(50);
    await expect(reply).resolves.toMatchObject({ type: 'time', now: 1 });
  });

  it("`delivery` works through a follower: ids on its frames, the server's acks reach it", async () => {
    tab('A');
    await pass(50);
    const b = tab('B');
    await pass(50);
    const d = delivery(b.c);
    for (let i = 0; i < 3; i++) b.c.send({ type: 'say', i });
    await pass(20);
    const ids = said().map((m) => (m as { id?: string }).id);
    expect(ids).toHaveLength(3);
    expect(d.unacked).toBe(3);
    server.push({ type: 'ack', ids });
    await pass(20);
    expect(d.unacked).toBe(0);
  });

  it("a reconnect of the leader's client is a reconnect in every tab: each sees `open` again", async () => {
    const a = tab('A');
    await pass(50);
    const b = tab('B');
    await pass(50);
    await server.drop(1011);
    await pass(300);
    expect(server.sockets).toHaveLength(2);
    expect(a.states.slice(-3)).toEqual(['reconnecting', 'connecting', 'open']);
    expect(b.states.slice(-3)).toEqual(['reconnecting', 'connecting', 'open']);
  });

  it('the leader leaves: the follower takes over at once and sends again what was not confirmed', async () => {
    const a = tab('A');
    await pass(50);
    const b = tab('B');
    await pass(50);
    // B's frames are posted, but the leader is gone before it reads them
    for (let i = 0; i < 3; i++) b.c.send({ type: 'say', i });
    a.c.close();
    await pass(50);
    expect(b.c.leader).toBe(true);
    expect(server.sockets).toHaveLength(2);
    expect(said().map((m) => m.i)).toEqual([0, 1, 2]);
    expect(b.states.slice(-3)).toEqual(['reconnecting', 'connecting', 'open']);
    // the tab that left just closed, as a client does (no reconnect on the way out)
    expect(a.states.slice(-2)).toEqual(['closing', 'closed']);
    expect(a.states).not.toContain('reconnecting');
  });

  it('a tab that holds the lock and says nothing is replaced by stealing, after about 1.5 s', async () => {
    // a hung tab: it got the lock and never speaks again
    locks
      .tab('Z')
      .request(KEY, {}, () => new Promise(() => {}))
      .catch(() => {});
    const start = Date.now();
    const b = tab('B');
    while (!server.sockets.length && Date.now() - start < 3000) await pass(10);
    const took = Date.now() - start;
    expect(took).toBeGreaterThan(1300);
    expect(took).toBeLessThan(1800);
    await pass(20);
    expect(b.c.leader).toBe(true);
    expect(b.c.state).toBe('open');
  });

  it('a leader replaced while stalled writes nothing more and steps down', async () => {
    const a = tab('A');
    await pass(50);
    const b = tab('B');
    await pass(50);
    // another tab took the lock while A was stalled, and A has not heard of it yet
    locks
      .tab('Z')
      .request(KEY, { steal: true, quiet: true } as LockOptions, () => new Promise(() => {}))
      .catch(() => {});
    vi.setSystemTime(Date.now() + 3000); // A's event loop stood still for 3 s
    const before = server.frames.length;
    b.c.send({ type: 'say', i: 0 });
    server.push({ type: 'news', i: 0 });
    await pass(20);
    expect(server.frames.length).toBe(before);
    expect(a.c.leader).toBe(false);
    expect(server.sockets[0]!.readyState).toBe(3); // its socket closed
    expect(b.got).toEqual([]); // and nothing it read after the stall was passed on
  });

  it('a leader whose lease lapsed but that still holds the lock carries on, in order', async () => {
    const a = tab('A');
    await pass(50);
    const b = tab('B');
    await pass(50);
    vi.setSystemTime(Date.now() + 3000);
    for (let i = 0; i < 3; i++) b.c.send({ type: 'say', i });
    await pass(20);
    expect(said().map((m) => m.i)).toEqual([0, 1, 2]);
    expect(a.c.leader).toBe(true);
    expect(server.sockets).toHaveLength(1);
  });

  it('a tab that closes detaches; the socket closes with the last tab', async () => {
    const a = tab('A');
    await pass(50);
    const b = tab('B');
    await pass(50);
    b.c.close();
    await pass(50);
    expect(b.c.state).toBe('closed');
    expect(server.sockets[0]!.readyState).toBe(1);
    a.c.dispose();
    await pass(50);
    expect(server.sockets[0]!.readyState).toBe(3);
    expect(server.sockets).toHaveLength(1);
  });

  it('entering the back/forward cache, a tab leaves (the socket closes with the last); shown again, it rejoins', async () => {
    const a = tab('A');
    await pass(50);
    const b = tab('B');
    await pass(50);
    // both tabs live in this one window, so both go into the cache and come back together
    window.dispatchEvent(Object.assign(new Event('pagehide'), { persisted: true }));
    await pass(50);
    expect(server.sockets[0]!.readyState).toBe(3);
    expect(locks.holder).toBeUndefined();
    window.dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }));
    await pass(50);
    expect(server.sockets).toHaveLength(2);
    expect(server.sockets[1]!.readyState).toBe(1);
    expect([a.c.state, b.c.state]).toEqual(['open', 'open']);
    expect([a.c.leader, b.c.leader].filter(Boolean)).toHaveLength(1);
  });

  it('the leader giving up closes every tab', async () => {
    const a = tab('A', { reconnect: false });
    await pass(50);
    const b = tab('B', { reconnect: false });
    await pass(50);
    await server.drop(1011);
    await pass(500);
    expect([a.c.state, b.c.state]).toEqual(['closed', 'closed']);
    expect(locks.holder).toBeUndefined();
    expect(server.sockets).toHaveLength(1);
  });

  it("followers hear the leader's heartbeat round trips and errors", async () => {
    // the server answers pings from the first one on: the heartbeat's opening probe included
    server.server.on('connection', (s) =>
      s.on('message', (d) => {
        if (JSON.parse(d as string).type === 'ping') s.send('{"type":"pong"}');
      }),
    );
    const a = tab('A', { heartbeat: { interval: 100, timeout: 1000 } });
    a.c.onError(() => {}); // the leader's tab hears it too; not on the console
    await pass(50);
    const b = tab('B');
    const quiet = tab('C'); // no listener: it only reads `latency`
    const rtts: number[] = [];
    const errors: string[] = [];
    b.c.onLatency((ms) => rtts.push(ms));
    b.c.onError((e) => errors.push(e.code));
    await pass(200);
    expect(rtts.length).toBeGreaterThan(0);
    expect(b.c.latency).toBe(rtts[rtts.length - 1]);
    expect(quiet.c.latency).toBe(b.c.latency);
    server.push('not json');
    await pass(20);
    expect(errors).toEqual(['PARSE_ERROR']);
  });
});
