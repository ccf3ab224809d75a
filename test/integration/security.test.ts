// The reference server under attack, on one instance: each test is an attack from outside, on
// loopback, with a bounded loop, and asserts the server's answer. Figures print as `[security]`.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type Instance, spawnInstance } from '../../demo/instances';
import type { StatsResponse } from '../../demo/protocol';
import { type DemoServer, startDemoServer } from '../../demo/server';
import { type DemoClient, demoClient, sleep } from './demo-client';
import { freePort } from './redis';

const clients: DemoClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

/** Resident memory of a process, in MB (Linux). */
function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round(Number(kb) / 1024);
}

/** An HTTP request with any headers (fetch will not set `Host`): status and body. */
function http(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '' });
    });
    req.on('error', reject);
    req.end();
  });
}

async function stats(url: string): Promise<StatsResponse> {
  return (await (await fetch(`${url}/stats`)).json()) as StatsResponse;
}

describe('a client that never reads (the server as its own process)', () => {
  let inst: Instance;
  beforeAll(async () => {
    inst = await spawnInstance({ port: await freePort(), quiet: true });
  }, 30_000);
  afterAll(async () => {
    await inst?.stop();
  });

  it('is closed once its unsent backlog passes maxBufferedBytes (default 1 MiB), memory stays bounded', async () => {
    const c = await demoClient(inst.wsUrl);
    clients.push(c);
    // stop reading: the kernel buffers fill, then the server's own queue grows
    (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const before = rssMb(inst.pid);
    const frame = JSON.stringify({ type: 'echo', pad: 'x'.repeat(60 * 1024) });
    let sent = 0;
    let open = 1;
    // ~38 frames of 60 KB a second (under the rate limit), for at most 15 s
    for (let i = 0; i < 570 && open > 0; i++) {
      if (c.ws.readyState !== c.ws.OPEN) break;
      c.ws.send(frame);
      sent += frame.length;
      await sleep(26);
      if (i % 10 === 9) open = (await stats(inst.url)).connections;
    }
    await sleep(300);
    open = (await stats(inst.url)).connections;
    const after = rssMb(inst.pid);
    console.log(
      `[security] slow reader: sent ${(sent / 1e6).toFixed(1)} MB to echo, server RSS ${before} → ${after} MB, ` +
        `connection ${open === 0 ? 'closed' : 'still open'}`,
    );
    expect(open).toBe(0);
    expect(sent).toBeLessThan(15e6); // closed well before the loop's end
    expect(after - before).toBeLessThan(40);
  }, 40_000);
});

describe('connections that never complete a request', () => {
  let server: DemoServer;
  const sockets: net.Socket[] = [];
  beforeAll(async () => {
    server = await startDemoServer({
      quiet: true,
      priceIntervalMs: 0,
      limits: { headersTimeoutMs: 1000, requestTimeoutMs: 2000, idleTimeoutMs: 1000 },
    });
  });
  afterAll(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await server.close();
  });

  /** Open a TCP connection, write `head` (if any), and resolve once it is open. */
  const open = (head: string): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const s = net.connect(server.port, '127.0.0.1', () => {
        if (head) s.write(head);
        resolve(s);
      });
      s.on('error', reject);
      s.resume(); // read (and drop) whatever the server answers
      sockets.push(s);
    });

  it('closes idle TCP connections, half-sent upgrades and half-sent bodies within the configured bounds', async () => {
    const N = 30; // of each kind
    const host = `Host: 127.0.0.1:${server.port}\r\n`;
    const kinds = {
      idle: '',
      'half-sent upgrade': `GET /ws HTTP/1.1\r\n${host}Upgrade: websocket\r\n`,
      'half-sent body': `POST /chaos/drop HTTP/1.1\r\n${host}Content-Length: 100\r\n\r\n{"a":`,
    };
    const all: Array<{ kind: string; s: net.Socket; closedAt?: number }> = [];
    const t0 = Date.now();
    for (const [kind, head] of Object.entries(kinds))
      for (let i = 0; i < N; i++) {
        const entry: { kind: string; s: net.Socket; closedAt?: number } = { kind, s: await open(head) };
        entry.s.once('close', () => {
          entry.closedAt = Date.now() - t0;
        });
        all.push(entry);
      }
    // the bounds are 1 s (headers, idle) and 2 s (request): all gone well within 8 s
    const end = Date.now() + 8000;
    while (all.some((e) => e.closedAt === undefined) && Date.now() < end) await sleep(100);
    const still = all.filter((e) => e.closedAt === undefined);
    const slowest = Math.max(...all.map((e) => e.closedAt ?? Number.POSITIVE_INFINITY));
    console.log(
      `[security] ${all.length} stalled connections: ${all.length - still.length} closed by the server ` +
        `(slowest after ${slowest} ms), ${still.length} still open after 8 s`,
    );
    expect(still.map((e) => e.kind)).toEqual([]);
    // not closed at once either: a slow but honest client has its bound
    expect(Math.min(...all.map((e) => e.closedAt as number))).toBeGreaterThanOrEqual(500);
  }, 20_000);

  it('leaves an upgraded, quiet WebSocket connection alone past every HTTP bound', async () => {
    const c = await demoClient(server.wsUrl);
    clients.push(c);
    await sleep(3000); // past headers (1 s), idle (1 s) and request (2 s)
    c.send({ type: 'ping' });
    await c.next('pong');
  }, 10_000);
});

describe('chaos controls', () => {
  const servers: DemoServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  const serve = async (chaos: boolean): Promise<DemoServer> => {
    const s = await startDemoServer({ quiet: true, priceIntervalMs: 0, chaos });
    servers.push(s);
    return s;
  };

  it('are off unless asked for: POST /chaos/* is 404 and drops nothing', async () => {
    const s = await serve(false);
    const c = await demoClient(s.wsUrl);
    clients.push(c);
    for (const action of ['drop', 'stall', 'restart'])
      expect((await http(s.port, 'POST', `/chaos/${action}`)).status).toBe(404);
    await sleep(100);
    expect(s.stats()).toMatchObject({ connections: 1, stalled: 0, down: false });
    c.send({ type: 'ping' });
    await c.next('pong');
  });

  it('a cross-site GET (an <img src>) does nothing: 405', async () => {
    const s = await serve(true);
    const c = await demoClient(s.wsUrl);
    clients.push(c);
    // what a hostile page's <img src="http://127.0.0.1:PORT/chaos/restart?down=4321"> sends: no Origin
    for (const path of ['/chaos/restart?down=4321', '/chaos/drop', '/chaos/stall']) {
      const res = await http(s.port, 'GET', path, { Referer: 'https://evil.example/' });
      expect(res.status).toBe(405);
    }
    await sleep(100);
    expect(s.stats()).toMatchObject({ connections: 1, stalled: 0, down: false });
  });

  it('a cross-site POST is refused (403); a same-origin or non-browser POST works', async () => {
    const s = await serve(true);
    const c = await demoClient(s.wsUrl);
    clients.push(c);
    const evil = await http(s.port, 'POST', '/chaos/drop', { Origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    await sleep(100);
    expect(s.connections()).toBe(1);
    const own = await http(s.port, 'POST', '/chaos/stall', { Origin: s.url });
    expect(JSON.parse(own.body)).toEqual({ ok: true, stalled: 1 });
    const curl = await http(s.port, 'POST', '/chaos/drop');
    expect(JSON.parse(curl.body)).toEqual({ ok: true, dropped: 1 });
  });
});

/** The headers of a WebSocket upgrade. */
const upgrade = (headers: Record<string, string>): Record<string, string> => ({
  Connection: 'Upgrade',
  Upgrade: 'websocket',
  'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version': '13',
  ...headers,
});

describe('Host check (DNS rebinding)', () => {
  let s: DemoServer;
  let named: DemoServer;
  beforeAll(async () => {
    s = await startDemoServer({ quiet: true, priceIntervalMs: 0, chaos: true });
    named = await startDemoServer({ quiet: true, priceIntervalMs: 0, allowedHosts: ['demo.example'] });
  });
  afterAll(async () => {
    await s.close();
    await named.close();
  });

  it('refuses the rebinding shape (a foreign Host with its own Origin) on upgrades and on every HTTP endpoint', async () => {
    const c = await demoClient(s.wsUrl);
    clients.push(c);
    const host = `rebind.evil.example:${s.port}`;
    const origin = `http://${host}`;
    expect((await http(s.port, 'GET', '/ws', upgrade({ Host: host, Origin: origin }))).status).toBe(403);
    expect((await http(s.port, 'GET', '/ws', upgrade({ Host: host }))).status).toBe(403);
    for (const path of ['/token', '/stats', '/', '/index.html'])
      expect((await http(s.port, 'GET', path, { Host: host })).status, path).toBe(403);
    expect((await http(s.port, 'POST', '/chaos/drop', { Host: host, Origin: origin })).status).toBe(403);
    await sleep(100);
    expect(s.connections()).toBe(1); // nothing dropped
  });

  it('accepts the loopback names and the configured host, on any port', async () => {
    for (const host of [`127.0.0.1:${s.port}`, `localhost:${s.port}`, `[::1]:${s.port}`, 'localhost']) {
      expect((await http(s.port, 'GET', '/ws', upgrade({ Host: host, Origin: `http://${host}` }))).status, host).toBe(
        101,
      );
      expect((await http(s.port, 'GET', '/stats', { Host: host })).status, host).toBe(200);
    }
  });

  it('accepts the names in allowedHosts (and refuses the Origin of a name that is not there)', async () => {
    const host = `demo.example:${named.port}`;
    expect((await http(named.port, 'GET', '/ws', upgrade({ Host: host, Origin: `http://${host}` }))).status).toBe(101);
    expect((await http(named.port, 'GET', '/token', { Host: host })).status).toBe(200);
    const other = upgrade({ Host: host, Origin: `http://other.example:${named.port}` });
    expect((await http(named.port, 'GET', '/ws', other)).status).toBe(403);
  });
});

/** Authenticate with `token`: `'auth_ok'`, or the close code. */
function authResult(wsUrl: string, token: string): Promise<string | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    ws.on('error', reject);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
    ws.on('message', (data) => {
      if (JSON.parse(String(data)).type !== 'auth_ok') return;
      resolve('auth_ok');
      ws.terminate();
    });
    ws.on('close', (code) => resolve(code));
  });
}

describe('token signatures', () => {
  let s: DemoServer;
  beforeAll(async () => {
    s = await startDemoServer({ quiet: true, priceIntervalMs: 0 });
  });
  afterAll(async () => {
    await s.close();
  });

  it('accept one exact string: padding, +/, trailing junk and changed unused bits are refused (4002)', async () => {
    // a token whose signature has a - or _ (so the standard-alphabet variant differs), in a bounded loop
    let token = '';
    for (let i = 0; i < 200 && !/[-_]/.test(token.split('.')[1] ?? ''); i++)
      token = ((await (await fetch(`${s.url}/token`)).json()) as { token: string }).token;
    const [body, sig] = token.split('.') as [string, string];
    expect(sig).toMatch(/[-_]/);
    expect(await authResult(s.wsUrl, token)).toBe('auth_ok');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(sig.at(-1) as string);
    const variants = {
      padding: `${sig}=`,
      'standard base64': sig.replaceAll('-', '+').replaceAll('_', '/'),
      'trailing junk': `${sig}!!`,
      'trailing space': `${sig} `,
      'unused bits': sig.slice(0, -1) + alphabet[last ^ 1],
    };
    for (const [name, variant] of Object.entries(variants))
      expect(await authResult(s.wsUrl, `${body}.${variant}`), name).toBe(4002);
  });
});

describe('display names and room names', () => {
  let s: DemoServer;
  beforeAll(async () => {
    s = await startDemoServer({ quiet: true, priceIntervalMs: 0 });
  });
  afterAll(async () => {
    await s.close();
  });
  const connect = async (token: string): Promise<DemoClient> => {
    const c = await demoClient(s.wsUrl, token);
    clients.push(c);
    return c;
  };
  /** `set_username`: the system line, or the error. */
  const rename = async (c: DemoClient, username: string): Promise<string> => {
    const from = c.messages.length;
    c.send({ type: 'set_username', username });
    const mine = (x: { type: string; text?: unknown }): boolean =>
      x.type === 'error' || (x.type === 'system' && String(x.text).startsWith('username set'));
    const m = await c.waitFor(mine, 3000, from);
    return m.type === 'error' ? `error: ${String(m.message)}` : String(m.text);
  };
  const who = async (c: DemoClient): Promise<unknown> => {
    const requestId = `w${c.messages.length}`;
    c.send({ type: 'request', requestId, op: 'who' });
    return (await c.waitFor((m) => m.type === 'reply' && m.requestId === requestId)).users;
  };

  it('cannot take another user’s name: their user id, or a name another user holds', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    await alice.join('names');
    await bob.join('names');
    expect(await rename(bob, 'alice')).toMatch(/^error: .*taken/);
    expect(await rename(bob, 'ALICE')).toMatch(/^error: .*taken/);
    const { token } = (await (await fetch(`${s.url}/token`)).json()) as { token: string };
    const guest = await connect(token);
    const guestId = String(guest.of('auth_ok')[0]?.user);
    expect(await rename(bob, guestId)).toMatch(/^error: .*taken/); // a connected guest's id
    expect(await who(alice)).toEqual(['alice', 'bob']);
    expect(await rename(alice, 'Wonder')).toBe('username set to Wonder');
    expect(await rename(bob, 'wonder')).toMatch(/^error: .*taken/);
    const aliceAgain = await connect('alice'); // the same user, in another tab
    expect(await rename(aliceAgain, 'Wonder')).toBe('username set to Wonder');
    expect(await rename(bob, 'Robert')).toBe('username set to Robert');
    expect(await rename(bob, 'bob')).toBe('username set to bob'); // their own id, always
  });

  it('a connecting user reclaims their id from whoever took it as a name meanwhile', async () => {
    const bob = await connect('bob');
    await bob.join('reclaim');
    expect(await rename(bob, 'Alice')).toBe('username set to Alice'); // alice is not connected: no one to spoof
    const from = bob.messages.length;
    const alice = await connect('alice');
    await alice.join('reclaim');
    const notice = await bob.waitFor(
      (m) => m.type === 'system' && String(m.text).includes('username set to bob'),
      3000,
      from,
    );
    expect(String(notice.text)).toContain('alice connected');
    expect(await who(alice)).toEqual(['bob', 'alice']);
  });

  it('refuses NUL, newlines, control characters and bidi overrides in names and room names', async () => {
    const c = await connect('demo-token');
    const bad = [
      'a\u0000b',
      'a\nb',
      'a\rb',
      'a\u0007',
      '\u202Eecila',
      'a\u2066b\u2069',
      'a\u200Bb',
      'a\u2028b',
      'a\u0085',
    ];
    for (const name of bad) {
      expect(await rename(c, name), JSON.stringify(name)).toMatch(/^error: .*control/);
      const from = c.messages.length;
      c.send({ type: 'join', room: name });
      const m = await c.waitFor((x) => x.type === 'system' || x.type === 'error', 3000, from);
      expect(m, JSON.stringify(name)).toMatchObject({ type: 'error', message: expect.stringMatching(/control/) });
    }
    expect(s.stats().rooms).toEqual({});
    expect(await rename(c, 'Zoë ✓ 名前')).toBe('username set to Zoë ✓ 名前');
  });
});

describe('demo-only parts (demo/main.ts)', () => {
  it('refuses a non-loopback host unless --unsafe-public, saying what must never face the internet', async () => {
    // 192.0.2.1 (TEST-NET-1) is no address of this machine: nothing is ever exposed here
    const run = spawnInstance({ port: await freePort(), args: ['--host', '192.0.2.1'] });
    const err = await run.then(
      () => new Error('started'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toMatch(/exited \(2\)/);
    for (const part of ['never face the internet', 'GET /token', 'alice', 'bob', '--unsafe-public'])
      expect(err.message).toContain(part);
    // with it: past the check (the address is still not this machine's, so listening fails)
    const forced = await spawnInstance({
      port: await freePort(),
      args: ['--host', '192.0.2.1', '--unsafe-public'],
    }).then(
      () => new Error('started'),
      (e: unknown) => e as Error,
    );
    expect(forced.message).toContain('EADDRNOTAVAIL');
    expect(forced.message).toContain('never face the internet'); // still warned
  }, 30_000);
});

describe('limits', () => {
  it('refuses a limit that is not a positive number, or unknown, naming it', async () => {
    await expect(startDemoServer({ quiet: true, limits: { maxRooms: 0 } })).rejects.toThrow(
      'limits.maxRooms must be a positive number, got 0',
    );
    await expect(startDemoServer({ quiet: true, limits: { maxBufferedBytes: Number.NaN } })).rejects.toThrow(
      'limits.maxBufferedBytes',
    );
    const unknown = { maxRoom: 5 } as unknown as { maxRooms: number };
    await expect(startDemoServer({ quiet: true, limits: unknown })).rejects.toThrow('limits.maxRoom: unknown limit');
  });
});
