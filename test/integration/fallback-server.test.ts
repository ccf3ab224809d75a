// The reference server's HTTP transport, spoken by hand as docs/fallback.md specifies it: the
// wire contract (open, frames in order, a repeated POST applied once, a gap refused, close), the
// same checks and limits as the WebSocket door (Host, Origin, auth, frame size, message rate),
// its own bounds (body, POST rate, session cap), and a chat across two instances on Redis where
// one client is on HTTP and the other on WebSocket.

import { EventEmitter } from 'node:events';
import { request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { HTTP_TRANSPORT_LIMITS, HttpSession } from '../../demo/server/http-transport';
import { type DemoServer, redisBus, startDemoServer } from '../../demo/server/index';
import { demoClient } from './demo-client';
import { type RedisServer, startRedis } from './redis';

const stops: (() => unknown)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A session opened by hand: its events as they come, and POSTs. */
const open = async (server: DemoServer, headers: Record<string, string> = {}) => {
  const ac = new AbortController();
  const res = await fetch(`${server.url}/rt`, { method: 'POST', body: '', headers, signal: ac.signal });
  const events: { event: string; data: string }[] = [];
  let ended = false;
  if (res.ok) {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    void (async () => {
      let buf = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            if (block.startsWith(':')) continue;
            const ev = /^event: (.*)$/m.exec(block)?.[1] ?? '';
            const data = [...block.matchAll(/^data: (.*)$/gm)].map((m) => m[1]).join('\n');
            events.push({ event: ev, data });
          }
        }
      } catch {}
      ended = true;
    })();
  }
  stops.push(() => ac.abort());
  const until = async (check: () => boolean, ms = 3000) => {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error(`timed out; events ${JSON.stringify(events)}`);
      await sleep(10);
    }
  };
  if (res.ok) await until(() => events.length > 0);
  const sid = res.ok ? (JSON.parse(events[0]!.data) as { sid: string }).sid : '';
  const post = (seq: number, frames: unknown[], extra = '', init: RequestInit = {}) =>
    fetch(`${server.url}/rt?sid=${sid}&seq=${seq}${extra}`, {
      method: 'POST',
      body: frames.map((f) => (typeof f === 'string' ? f : JSON.stringify(f))).join('\n'),
      ...init,
    });
  const messages = () => events.filter((e) => !e.event).map((e) => JSON.parse(e.data) as Record<string, unknown>);
  return { res, sid, events, messages, post, until, ended: () => ended };
};

const auth = { type: 'auth', token: 'demo-token' };

describe('the wire contract', () => {
  let server: DemoServer;
  beforeAll(async () => {
    server = await startDemoServer({ quiet: true, priceIntervalMs: 0 });
  });
  afterAll(() => server.close());

  it('open: an event-stream whose first event carries a random session id', async () => {
    const s = await open(server);
    expect(s.res.status).toBe(200);
    expect(s.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(s.events[0]!.event).toBe('open');
    expect(s.sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const t = await open(server);
    expect(t.sid).not.toBe(s.sid);
  });

  it('frames: one per line, in order; a POST sent again (same seq) is applied once; a gap ends the session', async () => {
    const s = await open(server);
    expect((await s.post(0, [auth, { type: 'echo', n: 1 }])).status).toBe(204);
    // the same POST again, as after a lost answer, then the next one overlapping it
    expect((await s.post(0, [auth, { type: 'echo', n: 1 }])).status).toBe(204);
    expect(
      (
        await s.post(1, [
          { type: 'echo', n: 1 },
          { type: 'echo', n: 2 },
        ])
      ).status,
    ).toBe(204);
    await s.until(() => s.messages().filter((m) => m.type === 'echo').length >= 2);
    await sleep(100);
    expect(s.messages().map((m) => (m.type === 'echo' ? m.n : m.type))).toEqual(['auth_ok', 1, 2]);
    // frames 3.. were never sent: seq 5 is a gap
    expect((await s.post(5, [{ type: 'echo', n: 9 }])).status).toBe(409);
    await s.until(() => s.ended());
    expect(s.events.at(-1)).toEqual({ event: 'close', data: JSON.stringify({ code: 1002, reason: 'out of order' }) });
    expect((await s.post(3, [{ type: 'echo', n: 3 }])).status).toBe(404);
  });

  it('close from the client: the answers to its last frames come before the close event', async () => {
    const s = await open(server);
    await s.post(0, [auth]);
    expect((await s.post(1, [{ type: 'echo', n: 1 }], '&close=1000&reason=bye')).status).toBe(204);
    await s.until(() => s.ended());
    expect(s.events.slice(-2)).toEqual([
      { event: '', data: JSON.stringify({ type: 'echo', n: 1 }) },
      { event: 'close', data: JSON.stringify({ code: 1000, reason: 'bye' }) },
    ]);
  });

  it('auth as on WebSocket: a bad token closes 4002, none within the timeout 4003', async () => {
    const s = await open(server);
    await s.post(0, [{ type: 'auth', token: 'nope' }]);
    await s.until(() => s.ended());
    expect(JSON.parse(s.events.at(-1)!.data).code).toBe(4002);
    const quick = await startDemoServer({ quiet: true, priceIntervalMs: 0, authTimeoutMs: 200 });
    stops.push(() => quick.close());
    const t = await open(quick);
    await t.until(() => t.ended(), 3000);
    expect(JSON.parse(t.events.at(-1)!.data)).toEqual({ code: 4003, reason: 'auth timeout' });
  });

  it('the stream gone: the session ends at once, its POSTs are 404', async () => {
    const s = await open(server);
    await s.post(0, [auth]);
    const before = server.connections();
    stops.splice(0).map((f) => f()); // aborts the stream
    const end = Date.now() + 2000;
    while (server.connections() >= before && Date.now() < end) await sleep(10);
    expect(server.connections()).toBe(before - 1);
    expect((await s.post(1, [{ type: 'echo', n: 1 }])).status).toBe(404);
  });
});

describe('the same checks and limits as the WebSocket door', () => {
  it('a foreign Origin or Host: 403, no session', async () => {
    const server = await startDemoServer({ quiet: true, priceIntervalMs: 0 });
    stops.push(() => server.close());
    expect((await open(server, { origin: 'https://evil.example' })).res.status).toBe(403);
    // fetch will not send another Host: a raw request (a DNS-rebinding page's Host)
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/rt`, { method: 'POST', headers: { host: 'evil.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
    expect((await open(server, { origin: 'http://localhost:5173' })).res.status).toBe(200);
    expect(server.connections()).toBe(1);
  });

  it('a frame over maxPayload ends the session with 1009; a body over the limit is 413', async () => {
    const server = await startDemoServer({
      quiet: true,
      priceIntervalMs: 0,
      limits: { maxPayload: 1000 },
      httpTransport: { maxBody: 5000 },
    });
    stops.push(() => server.close());
    const s = await open(server);
    await s.post(0, [auth]);
    expect((await s.post(1, [{ type: 'echo', text: 'x'.repeat(2000) }])).status).toBe(413);
    await s.until(() => s.ended());
    expect(JSON.parse(s.events.at(-1)!.data).code).toBe(1009);
    const t = await open(server);
    const big = Array.from({ length: 10 }, () => ({ type: 'echo', text: 'y'.repeat(900) }));
    expect((await t.post(0, big)).status).toBe(413);
    await t.until(() => t.ended());
  });

  it('the message rate limit applies per frame, as on WebSocket; POSTs have their own limit (429)', async () => {
    const server = await startDemoServer({ quiet: true, priceIntervalMs: 0, rateLimit: 10 });
    stops.push(() => server.close());
    const s = await open(server);
    await s.post(0, [auth]);
    await s.post(
      1,
      Array.from({ length: 15 }, (_, i) => ({ type: 'echo', n: i })),
    );
    await s.until(() => s.messages().some((m) => m.type === 'error' && m.message === 'rate limit'));
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await s.post(16, [])).status);
    expect(statuses).toContain(429);
  });

  it('a cap on sessions: 503 beyond it', async () => {
    const server = await startDemoServer({ quiet: true, priceIntervalMs: 0, httpTransport: { maxSessions: 2 } });
    stops.push(() => server.close());
    expect((await open(server)).res.status).toBe(200);
    expect((await open(server)).res.status).toBe(200);
    expect((await open(server)).res.status).toBe(503);
  });

  it("the door's keepalive: a session answers its ping while its client POSTed within idleMs, then not (reaped)", async () => {
    vi.useFakeTimers();
    try {
      const res = Object.assign(new EventEmitter(), {
        write: () => true,
        end: () => {},
        destroy: () => {},
        writableLength: 0,
      });
      const s = new HttpSession('x', res as never, { ...HTTP_TRANSPORT_LIMITS, idleMs: 60_000 }, () => {});
      let pongs = 0;
      s.on('pong', () => pongs++);
      s.ping();
      await Promise.resolve();
      expect(pongs).toBe(1);
      // a background tab whose timers run once a minute still POSTs within it
      vi.advanceTimersByTime(59_000);
      s.ping();
      await Promise.resolve();
      expect(pongs).toBe(2);
      vi.advanceTimersByTime(2000);
      s.ping();
      await Promise.resolve();
      expect(pongs).toBe(2);
      s.terminate();
    } finally {
      vi.useRealTimers();
    }
  });

  it('while the server is down (restart), opening fails like an upgrade: no answer', async () => {
    const server = await startDemoServer({ quiet: true, priceIntervalMs: 0 });
    stops.push(() => server.close());
    void server.restart(1000);
    await expect(open(server)).rejects.toThrow();
  });
});

describe('on the Redis bus', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis?.stop());

  it('a chat line posted over HTTP on one instance reaches a WebSocket member on the other, once', async () => {
    const prefix = `fb${Date.now()}:`;
    const a = await startDemoServer({
      quiet: true,
      priceIntervalMs: 0,
      bus: await redisBus({ url: redis.url, prefix }),
    });
    const b = await startDemoServer({
      quiet: true,
      priceIntervalMs: 0,
      bus: await redisBus({ url: redis.url, prefix }),
    });
    stops.push(
      () => a.close(),
      () => b.close(),
    );
    const member = await demoClient(b.wsUrl);
    stops.push(() => member.ws.terminate());
    member.send({ type: 'join', room: 'r' });
    await member.waitFor((m) => m.type === 'system' && m.room === 'r');
    const s = await open(a);
    await s.post(0, [auth, { type: 'join', room: 'r' }, { type: 'message', text: 'over http', id: 'x1' }]);
    // the same id again (a re-send after a cut): deduplicated across the cluster
    await s.post(3, [{ type: 'message', text: 'over http', id: 'x1' }]);
    await member.waitFor((m) => m.type === 'chat' && m.text === 'over http', 5000);
    await s.until(() => s.messages().filter((m) => m.type === 'ack').length >= 2, 5000);
    await sleep(300);
    expect(member.of('chat').filter((m) => m.text === 'over http')).toHaveLength(1);
  });
});
