// The demo server (demo/server/) against raw `ws` clients: protocol, security, chaos.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type DemoServer, type DemoServerOptions, startDemoServer } from '../../demo/server';

type Msg = { type: string; [key: string]: unknown };
interface CloseInfo {
  code: number;
  reason: string;
}

/** A raw `ws` client that records every parsed message and its close. */
class TestClient {
  readonly ws: WebSocket;
  readonly messages: Msg[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<CloseInfo>;
  closeInfo: CloseInfo | undefined;
  private waiters = new Set<() => void>();

  constructor(url: string, options?: { origin?: string }) {
    this.ws = new WebSocket(url, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`unexpected response ${res.statusCode ?? '?'}`)),
      );
    });
    this.opened.catch(() => {});
    this.ws.on('error', () => {});
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this.notify();
      });
    });
    this.ws.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)) as Msg);
      this.notify();
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Messages of a type, excluding the price stream unless asked. */
  of(type: string): Msg[] {
    return this.messages.filter((m) => m.type === type);
  }

  /** Resolves with the first message (from index `from`) that matches, or rejects on timeout. */
  waitFor(pred: (m: Msg) => boolean, timeoutMs = 3000, from = 0): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.messages.slice(from).find(pred);
        if (found !== undefined) {
          cleanup();
          resolve(found);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timeout waiting for a message; got ${JSON.stringify(this.messages.slice(-5))}`));
      }, timeoutMs);
      const listener = (): void => {
        check();
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(listener);
      };
      this.waiters.add(listener);
      check();
    });
  }

  next(type: string, timeoutMs = 3000): Promise<Msg> {
    return this.waitFor((m) => m.type === type, timeoutMs, this.messages.length);
  }

  /** Open, authenticate, wait for `auth_ok`. */
  async auth(token = 'demo-token'): Promise<Msg> {
    await this.opened;
    const ok = this.next('auth_ok');
    this.send({ type: 'auth', token });
    return ok;
  }

  /** The underlying TCP socket (a `ws` internal). */
  get tcp(): { destroyed: boolean } {
    return (this.ws as unknown as { _socket: { destroyed: boolean } })._socket;
  }

  dispose(): void {
    this.ws.terminate();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

let server: DemoServer;
const clients: TestClient[] = [];
const extraServers: DemoServer[] = [];

function client(url = server.wsUrl, options?: { origin?: string }): TestClient {
  const c = new TestClient(url, options);
  clients.push(c);
  return c;
}

async function extraServer(opts: DemoServerOptions): Promise<DemoServer> {
  const s = await startDemoServer({ port: 0, quiet: true, ...opts });
  extraServers.push(s);
  return s;
}

beforeAll(async () => {
  server = await startDemoServer({ port: 0, quiet: true, authTimeoutMs: 400, chaos: true });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.dispose();
  await Promise.all(extraServers.splice(0).map((s) => s.close()));
  // A stalled socket no longer reads, so it cannot see the client go: the server reaps it.
  if (server.stats().stalled > 0) server.drop();
  await until(() => server.connections() === 0);
});

afterAll(async () => {
  await server.close();
});

describe('startDemoServer', () => {
  it('listens on a random port and reports its URLs', () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.wsUrl).toBe(`ws://127.0.0.1:${server.port}/ws`);
  });
});

describe('auth', () => {
  it('accepts a demo token with auth_ok', async () => {
    const c = client();
    const ok = await c.auth('alice');
    expect(ok).toEqual({ type: 'auth_ok', user: 'alice' });
    expect(server.stats().authenticated).toBe(1);
  });

  it('closes 4001 when the first message has no token', async () => {
    const c = client();
    await c.opened;
    c.send({ type: 'auth' });
    expect((await c.closed).code).toBe(4001);
  });

  it('closes 4001 when the first message is not auth', async () => {
    const c = client();
    await c.opened;
    c.send({ type: 'ping' });
    expect((await c.closed).code).toBe(4001);
  });

  it('closes 4002 for an unknown token, including prototype keys', async () => {
    for (const token of ['nope', '__proto__', 'constructor']) {
      const c = client();
      await c.opened;
      c.send({ type: 'auth', token });
      expect(await c.closed).toEqual({ code: 4002, reason: 'invalid token' });
    }
  });

  it('closes 4003 when no auth arrives within authTimeoutMs', async () => {
    const c = client();
    await c.opened;
    const t0 = Date.now();
    expect(await c.closed).toEqual({ code: 4003, reason: 'auth timeout' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
  });

  it('accepts a short-lived token from /token, then refuses it with 4002 once expired', async () => {
    const res = await fetch(`${server.url}/token?ttl=0.3`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; expiresAt: number; user: string };
    expect(body.token).toMatch(/^tmp_/);
    expect(body.expiresAt).toBeGreaterThan(Date.now());

    const a = client();
    const ok = await a.auth(body.token);
    expect(ok).toEqual({ type: 'auth_ok', user: body.user, expiresAt: body.expiresAt });

    await sleep(Math.max(0, body.expiresAt - Date.now()) + 50);
    const b = client();
    await b.opened;
    b.send({ type: 'auth', token: body.token });
    expect(await b.closed).toEqual({ code: 4002, reason: 'token expired' });
    // The connection opened before expiry stays up.
    expect(a.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('defaults a short-lived token to 30 s', async () => {
    const body = (await (await fetch(`${server.url}/token`)).json()) as { expiresAt: number };
    expect(body.expiresAt - Date.now()).toBeGreaterThan(25_000);
    expect(body.expiresAt - Date.now()).toBeLessThanOrEqual(30_000);
  });
});

describe('messages', () => {
  it('answers ping with pong and a timestamp (and echoes an id)', async () => {
    const c = client();
    await c.auth();
    const before = Date.now();
    c.send({ type: 'ping' });
    const pong = await c.next('pong');
    expect(pong.timestamp).toBeGreaterThanOrEqual(before);
    expect(pong.timestamp).toBeLessThanOrEqual(Date.now());
    c.send({ type: 'ping', id: 7 });
    expect((await c.next('pong')).id).toBe(7);
  });

  it('echoes an echo message verbatim', async () => {
    const c = client();
    await c.auth();
    const msg = { type: 'echo', n: 1, nested: { a: [1, 2] }, text: '<b>x</b>' };
    c.send(msg);
    expect(await c.next('echo')).toEqual(msg);
  });

  it('relays chat between two clients in a room, and not to other rooms', async () => {
    const alice = client();
    const bob = client();
    const carol = client();
    await Promise.all([alice.auth('alice'), bob.auth('bob'), carol.auth()]);

    alice.send({ type: 'set_username', username: 'Alice' });
    expect((await alice.next('system')).text).toBe('username set to Alice');

    alice.send({ type: 'join', room: 'lobby' });
    await alice.waitFor((m) => m.type === 'system' && m.text === 'Alice joined');
    carol.send({ type: 'join', room: 'elsewhere' });
    await carol.waitFor((m) => m.type === 'system' && m.room === 'elsewhere');

    const joined = alice.waitFor((m) => m.type === 'system' && m.text === 'bob joined');
    bob.send({ type: 'join', room: 'lobby' });
    expect(await joined).toMatchObject({ room: 'lobby' });

    const html = '<img src=x onerror=alert(1)>';
    const atBob = bob.next('chat');
    alice.send({ type: 'message', text: html });
    const chat = await atBob;
    expect(chat).toMatchObject({ type: 'chat', room: 'lobby', user: 'Alice', text: html });
    expect(typeof chat.timestamp).toBe('number');
    expect(typeof chat.id).toBe('number');
    // The sender gets its own message too.
    await alice.waitFor((m) => m.type === 'chat' && m.text === html);

    const left = alice.waitFor((m) => m.type === 'system' && m.text === 'bob left');
    bob.send({ type: 'leave' });
    await left;
    expect(await bob.waitFor((m) => m.type === 'system' && m.text === 'you left lobby')).toBeTruthy();

    bob.send({ type: 'message', text: 'nobody hears this' });
    expect((await bob.next('error')).message).toBe('join a room first');
    await sleep(50);
    expect(carol.of('chat')).toEqual([]);
    expect(server.stats().rooms).toEqual({ lobby: 1, elsewhere: 1 });
  });

  it('replays room history on join when replay is on', async () => {
    const s = await extraServer({ replay: true });
    const a = client(s.wsUrl);
    await a.auth('alice');
    a.send({ type: 'join', room: 'r' });
    a.send({ type: 'message', text: 'one' });
    a.send({ type: 'message', text: 'two' });
    await a.waitFor((m) => m.type === 'chat' && m.text === 'two');

    const b = client(s.wsUrl);
    await b.auth('bob');
    b.send({ type: 'join', room: 'r' });
    await b.waitFor((m) => m.type === 'system' && m.text === 'bob joined');
    expect(b.of('chat').map((m) => [m.text, m.replay])).toEqual([
      ['one', true],
      ['two', true],
    ]);
  });

  it('answers invalid JSON, a missing type and an unknown type with errors and stays open', async () => {
    const c = client();
    await c.auth();
    c.send('{not json');
    expect((await c.next('error')).message).toBe('invalid JSON');
    c.send('[1,2]');
    expect((await c.next('error')).message).toMatch(/string "type"/);
    c.send({ type: '__proto__' });
    expect((await c.next('error')).message).toBe('unknown type "__proto__"');
    c.send({ type: 'join', room: '' });
    expect((await c.next('error')).message).toMatch(/room must be/);
    c.send({ type: 'set_username', username: 'x'.repeat(33) });
    expect((await c.next('error')).message).toMatch(/username must be/);
    c.send({ type: 'auth', token: 'demo-token' });
    expect((await c.next('error')).message).toBe('already authenticated');
    c.send({ type: 'ping' });
    await c.next('pong');
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('streams prices to authenticated connections, and unsubscribe stops it', async () => {
    const s = await extraServer({ priceIntervalMs: 20 });
    const c = client(s.wsUrl);
    await c.opened;
    await sleep(80);
    expect(c.of('price')).toEqual([]); // nothing before auth
    await c.auth();
    const p = await c.next('price');
    expect(p.symbol).toEqual(expect.any(String));
    expect(p.price).toEqual(expect.any(Number));
    expect(p.change).toEqual(expect.any(Number));
    expect(p.timestamp).toEqual(expect.any(Number));
    await c.waitFor(() => new Set(c.of('price').map((m) => m.symbol)).size >= 3);

    c.send({ type: 'unsubscribe', channel: 'prices' });
    await c.next('system');
    await sleep(60);
    const count = c.of('price').length;
    await sleep(100);
    expect(c.of('price').length).toBe(count);
  });
});

describe('delivery and requests', () => {
  it('acks a message that carries an id, and handles a repeated id only once', async () => {
    const alice = client();
    const bob = client();
    await Promise.all([alice.auth('alice'), bob.auth('bob')]);
    for (const c of [alice, bob]) {
      c.send({ type: 'join', room: 'acks' });
      await c.waitFor((m) => m.type === 'system' && m.room === 'acks');
    }
    const msg = { type: 'message', text: 'once', id: 'k1.7' };
    alice.send(msg);
    alice.send(msg); // re-sent after a reconnect, say
    await alice.waitFor((m) => m.type === 'ack' && m.id === 'k1.7');
    await until(() => alice.of('ack').length === 2); // every copy is acked
    await bob.waitFor((m) => m.type === 'chat' && m.text === 'once');
    await sleep(50);
    expect(bob.of('chat').filter((m) => m.text === 'once')).toHaveLength(1);
  });

  it('replays the room’s chat after lastId on resume', async () => {
    const alice = client();
    await alice.auth('alice');
    alice.send({ type: 'join', room: 'resume' });
    await alice.waitFor((m) => m.type === 'system' && m.room === 'resume');
    for (const text of ['a', 'b', 'c']) alice.send({ type: 'message', text });
    await until(() => alice.of('chat').length === 3);
    const [first] = alice.of('chat');
    const later = client();
    await later.auth('bob');
    later.send({ type: 'join', room: 'resume' });
    await later.waitFor((m) => m.type === 'system' && m.room === 'resume');
    later.send({ type: 'resume', lastId: first!.id });
    await until(() => later.of('chat').length === 2);
    expect(later.of('chat').map((m) => m.text)).toEqual(['b', 'c']);
  });

  it('answers resume with resumed first; with replay on, a newcomer (lastId null) gets the last lines', async () => {
    const s = await extraServer({ replay: true });
    const a = client(s.wsUrl);
    await a.auth('alice');
    a.send({ type: 'join', room: 'r' });
    for (const text of ['one', 'two']) a.send({ type: 'message', text });
    await a.waitFor((m) => m.type === 'chat' && m.text === 'two');
    const ids = a.of('chat').map((m) => m.id as number);

    const b = client(s.wsUrl);
    await b.auth('bob');
    b.send({ type: 'join', room: 'r' });
    await b.waitFor((m) => m.type === 'system' && m.text === 'bob joined');
    const from = b.messages.length;
    b.send({ type: 'resume', lastId: null });
    await until(() => b.messages.slice(from).filter((m) => m.type === 'chat').length === 2);
    const after = b.messages.slice(from).filter((m) => m.type === 'resumed' || m.type === 'chat');
    expect(after).toMatchObject([
      { type: 'resumed', lastId: (ids[0] as number) - 1 },
      { type: 'chat', text: 'one', replay: true },
      { type: 'chat', text: 'two', replay: true },
    ]);
    b.send({ type: 'resume', lastId: 'x' });
    expect((await b.next('error')).message).toBe('lastId must be a number or null');
  });

  it('answers a request with a reply carrying its requestId', async () => {
    const alice = client();
    await alice.auth('alice');
    const before = Date.now();
    alice.send({ type: 'request', requestId: 'r1', op: 'time' });
    const reply = await alice.next('reply');
    expect(reply).toMatchObject({ requestId: 'r1' });
    expect(reply.time as number).toBeGreaterThanOrEqual(before);
    alice.send({ type: 'request', requestId: 'r2', op: 'nope' });
    expect(await alice.next('reply')).toMatchObject({ requestId: 'r2', error: expect.stringContaining('unknown op') });
  });
});

describe('security', () => {
  it('rate-limits: over the bucket → error "rate limit", messages dropped, connection open', async () => {
    const c = client();
    await c.auth();
    for (let i = 0; i < 80; i++) c.send({ type: 'echo', i });
    await c.waitFor((m) => m.type === 'error' && m.message === 'rate limit');
    await sleep(200);
    const echoes = c.of('echo').length;
    expect(echoes).toBeGreaterThanOrEqual(45);
    expect(echoes).toBeLessThan(80);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    // Refilled after a second.
    await sleep(1000);
    c.send({ type: 'ping' });
    await c.next('pong');
  });

  it('closes 1008 when a client keeps going far over the limit', async () => {
    const c = client();
    await c.auth();
    for (let i = 0; i < 400; i++) c.send({ type: 'echo', i });
    expect((await c.closed).code).toBe(1008);
  });

  it('closes 1009 for a frame larger than 64 KiB', async () => {
    const c = client();
    await c.auth();
    c.send({ type: 'echo', pad: 'x'.repeat(70 * 1024) });
    expect((await c.closed).code).toBe(1009);
  });

  it('rejects a foreign Origin with HTTP 403, accepts localhost, same host and no Origin', async () => {
    const evil = client(server.wsUrl, { origin: 'https://evil.example' });
    await expect(evil.opened).rejects.toThrow('unexpected response 403');
    const opaque = client(server.wsUrl, { origin: 'null' });
    await expect(opaque.opened).rejects.toThrow('unexpected response 403');

    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:1', server.url, undefined]) {
      const ok = client(server.wsUrl, origin === undefined ? undefined : { origin });
      await ok.auth();
      ok.dispose();
    }
    expect(server.stats().rejectedUpgrades).toBeGreaterThanOrEqual(2);
  });

  it('honours an explicit allowedOrigins list', async () => {
    const s = await extraServer({ allowedOrigins: ['https://app.example'] });
    await client(s.wsUrl, { origin: 'https://app.example' }).auth();
    await expect(client(s.wsUrl, { origin: 'http://localhost:3000' }).opened).rejects.toThrow('403');
  });

  it('refuses upgrades on other paths with 404', async () => {
    await expect(client(`ws://127.0.0.1:${server.port}/other`).opened).rejects.toThrow('404');
  });
});

describe('HTTP', () => {
  let dir: string;
  let s: DemoServer;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'demo-static-'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(path.join(dir, 'a.js'), 'void 0;');
    s = await startDemoServer({ port: 0, quiet: true, staticDir: dir });
  });

  afterAll(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves static files with content types and a CSP on HTML', async () => {
    const index = await fetch(`${s.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await index.text()).toContain('<title>t</title>');
    const js = await fetch(`${s.url}/a.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${s.url}/missing.js`)).status).toBe(404);
  });

  it('does not serve files outside the static directories', async () => {
    const status = (p: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: s.port, path: p }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await status('/../package.json')).not.toBe(200);
    expect(await status('/%2e%2e/package.json')).not.toBe(200); // URL parsing folds it to /package.json
    expect(await status('/dist/..%2fpackage.json')).toBe(400);
    expect(await status('/%00')).toBe(400);
  });

  it('reports /stats', async () => {
    const c = client(s.wsUrl);
    await c.auth();
    const stats = (await (await fetch(`${s.url}/stats`)).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ connections: 1, authenticated: 1, stalled: 0, down: false });
    expect(stats.totalConnections).toBeGreaterThanOrEqual(1);
  });
});

describe('chaos', () => {
  it('drop (POST /chaos/drop) terminates every connection without a close frame', async () => {
    const a = client();
    const b = client();
    await Promise.all([a.auth(), b.auth()]);
    const res = await fetch(`${server.url}/chaos/drop`, { method: 'POST' });
    expect(await res.json()).toEqual({ ok: true, dropped: 2 });
    expect((await a.closed).code).toBe(1006);
    expect((await b.closed).code).toBe(1006);
    await until(() => server.connections() === 0);
    // New connections are welcome right away.
    await client().auth();
  });

  it('stall makes the connection half-open: no pong, no close, TCP socket open', async () => {
    const c = client();
    await c.auth();
    c.send({ type: 'ping' });
    await c.next('pong');

    const res = await fetch(`${server.url}/chaos/stall`, { method: 'POST' });
    expect(await res.json()).toEqual({ ok: true, stalled: 1 });
    const mark = c.messages.length;
    c.send({ type: 'ping' });
    c.ws.ping(); // a protocol-level ping is not answered either
    let protocolPong = false;
    c.ws.on('pong', () => {
      protocolPong = true;
    });
    await sleep(1200);
    expect(c.messages.slice(mark)).toEqual([]); // no pong, no price, nothing
    expect(protocolPong).toBe(false);
    expect(c.closeInfo).toBeUndefined();
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    expect(c.tcp.destroyed).toBe(false);
    expect(server.stats()).toMatchObject({ connections: 1, stalled: 1 });

    // Only current connections stall: a new one works.
    await client().auth();
  });

  it('restart closes with 1012, refuses connections while down, accepts after', async () => {
    const a = client();
    await a.auth();
    const t0 = Date.now();
    const res = await fetch(`${server.url}/chaos/restart?down=600`, { method: 'POST' });
    expect(await res.json()).toMatchObject({ ok: true, closed: 1, downMs: 600 });
    expect((await a.closed).code).toBe(1012);

    const refused = client();
    await expect(refused.opened).rejects.toThrow();
    expect(server.stats().down).toBe(true);

    await until(() => !server.stats().down, 3000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
    await client().auth();
  });

  it('restart() resolves when the server is back up', async () => {
    const a = client();
    await a.auth();
    const t0 = Date.now();
    await server.restart(300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect((await a.closed).code).toBe(1012);
    await client().auth();
  });
});

describe('hooks', () => {
  it('records received frames and emits events', async () => {
    server.received.length = 0;
    const seen: string[] = [];
    const onAuth = (info: { user: string | undefined }): void => {
      seen.push(`auth:${info.user ?? '?'}`);
    };
    server.events.on('auth', onAuth);
    try {
      const c = client();
      await c.auth('bob');
      c.send({ type: 'ping' });
      await c.next('pong');
      expect(seen).toEqual(['auth:bob']);
      expect(server.received.map((f) => JSON.parse(f.data).type)).toEqual(['auth', 'ping']);
    } finally {
      server.events.off('auth', onAuth);
    }
  });
});
