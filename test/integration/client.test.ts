// The core client against real `ws` servers: delivery across a server restart, the order of
// frames on every open (README: Order on every open), bad frames from the server, and close() while waiting.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, countingWebSocket, type Msg, makeClient, RecordingServer, sleep } from './helpers';

afterEach(cleanup);

describe('server restart', () => {
  it('delivers every message sent while the server is down exactly once, in order, once it is back on the same port', async () => {
    const server = await RecordingServer.start();
    const t = makeClient({ url: server.url });
    await t.reach('open');
    const port = server.port;

    const dropped = t.reach('reconnecting');
    await server.stop();
    await dropped;
    const results: string[] = [];
    for (let n = 1; n <= 25; n++) results.push(t.client.send({ type: 'msg', n }));
    await sleep(150); // the server stays down ~300 ms while the client keeps retrying
    for (let n = 26; n <= 50; n++) results.push(t.client.send({ type: 'msg', n }));
    await sleep(150);
    expect(t.client.state).not.toBe('open');
    await server.listen();
    expect(server.port).toBe(port);

    await vi.waitFor(() => expect(server.conns[1]?.frames).toHaveLength(50), { timeout: 5000 });
    await vi.waitFor(() => expect(t.client.state).toBe('open'));
    expect(results).toEqual(Array(50).fill('queued'));
    expect(server.conns[1]!.frames).toEqual(Array.from({ length: 50 }, (_, i) => ({ type: 'msg', n: i + 1 })));
    expect(server.conns[0]!.frames).toEqual([]);
    expect(server.allFrames()).toHaveLength(50); // exactly once across every connection
    expect(t.client.queued).toBe(0);
    // open → reconnecting → connecting (→ reconnecting → connecting, while refused) → open
    expect(t.states.join()).toMatch(/^connecting,open,(reconnecting,connecting,)+open$/);
    expect(t.errors).toEqual([]);
  });
});

describe('order on open', () => {
  it('sends auth alone until the ack, then what open listeners send, then the queue in FIFO order, then live sends — on the first open and after a reconnect', async () => {
    const ACK_DELAY = 100;
    /** what each connection had received when the server sent the ack */
    const beforeAck = new Map<number, unknown[]>();
    let client!: ReturnType<typeof makeClient>['client'];
    const duringAuth: string[] = [];
    const server = await RecordingServer.start({
      onMessage: (conn, msg, s) => {
        if ((msg as Msg).type !== 'auth') return;
        // the client is now waiting for the ack: a send from the app must wait in the queue
        duringAuth.push(client.send({ type: 'during-auth', conn: conn.id }));
        setTimeout(() => {
          beforeAck.set(conn.id, conn.frames.slice());
          s.send(conn, { type: 'auth_ok' });
        }, ACK_DELAY);
      },
    });
    let tokens = 0;
    const t = makeClient({
      url: server.url,
      autoConnect: false,
      reconnect: { initialDelay: 100, maxDelay: 100, jitter: 0 },
      auth: { message: () => ({ type: 'auth', token: `t${++tokens}` }), isAck: (m) => m.type === 'auth_ok' },
    });
    client = t.client;
    const joins: string[] = [];
    client.onStateChange((s) => {
      if (s === 'open') joins.push(client.send({ type: 'join', room: 'lobby' }));
    });
    expect([1, 2, 3].map((n) => client.send({ type: 'q', n }))).toEqual(['queued', 'queued', 'queued']);

    // first open
    const opened = t.reach('open');
    client.connect();
    await opened;
    expect(client.send({ type: 'live', n: 1 })).toBe('sent');
    await vi.waitFor(() => expect(server.conns[0]!.frames).toHaveLength(7));
    expect(beforeAck.get(1)).toEqual([{ type: 'auth', token: 't1' }]);
    expect(server.conns[0]!.frames).toEqual([
      { type: 'auth', token: 't1' },
      { type: 'join', room: 'lobby' },
      { type: 'q', n: 1 },
      { type: 'q', n: 2 },
      { type: 'q', n: 3 },
      { type: 'during-auth', conn: 1 },
      { type: 'live', n: 1 },
    ]);

    // the server drops the connection; the app sends during the outage
    const down = t.reach('reconnecting');
    server.conns[0]!.ws.terminate();
    await down;
    expect([1, 2, 3].map((n) => client.send({ type: 'r', n }))).toEqual(['queued', 'queued', 'queued']);
    const reopened = t.reach('open');
    await reopened;
    expect(client.send({ type: 'live', n: 2 })).toBe('sent');
    await vi.waitFor(() => expect(server.conns[1]?.frames).toHaveLength(7));
    expect(beforeAck.get(2)).toEqual([{ type: 'auth', token: 't2' }]);
    expect(server.conns[1]!.frames).toEqual([
      { type: 'auth', token: 't2' },
      { type: 'join', room: 'lobby' },
      { type: 'r', n: 1 },
      { type: 'r', n: 2 },
      { type: 'r', n: 3 },
      { type: 'during-auth', conn: 2 },
      { type: 'live', n: 2 },
    ]);
    expect(joins).toEqual(['sent', 'sent']);
    expect(duringAuth).toEqual(['queued', 'queued']);
    expect(t.states.join()).toBe('connecting,authenticating,open,reconnecting,connecting,authenticating,open');
    expect(t.errors).toEqual([]);
  });
});

describe('bad frames from the server', () => {
  it('reports PARSE_ERROR / INVALID_MESSAGE, keeps the connection open, and treats "__proto__" / "constructor" / "toString" types as plain strings', async () => {
    const server = await RecordingServer.start();
    const t = makeClient({ url: server.url });
    const c = t.client;
    const proto: Msg[] = [];
    const ctor: Msg[] = [];
    const good: Msg[] = [];
    const all: Msg[] = [];
    c.on('__proto__', (m) => proto.push(m));
    c.on('constructor', (m) => ctor.push(m));
    c.on('good', (m) => good.push(m));
    c.on('*', (m) => all.push(m));
    await t.reach('open');
    const conn = server.conns[0]!;
    const frames: (string | Buffer)[] = [
      'not json',
      '{"text":"no type"}',
      '{"type":5}',
      'null',
      '[1,2]',
      Buffer.from([1, 2, 3]),
      '{"type":"__proto__","n":1}',
      '{"type":"constructor","n":2}',
      '{"type":"toString","n":3}',
      '{"type":"good","n":4}',
    ];
    for (const f of frames) server.send(conn, f);

    await vi.waitFor(() => expect(good).toHaveLength(1));
    expect(t.errors.map((e) => e.code)).toEqual([
      'PARSE_ERROR',
      'INVALID_MESSAGE',
      'INVALID_MESSAGE',
      'INVALID_MESSAGE',
      'INVALID_MESSAGE',
      'PARSE_ERROR',
    ]);
    expect(t.errors[0]!.data).toBe('not json');
    expect(t.errors[1]!.data).toEqual({ text: 'no type' });
    expect(t.errors[5]!.data).toBeInstanceOf(ArrayBuffer);
    expect(proto).toEqual([{ type: '__proto__', n: 1 }]);
    expect(typeof proto[0]!.type).toBe('string');
    expect(Object.getPrototypeOf(proto[0])).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).n).toBeUndefined(); // nothing polluted
    expect(ctor).toEqual([{ type: 'constructor', n: 2 }]);
    expect(good).toEqual([{ type: 'good', n: 4 }]);
    expect(all.map((m) => m.type)).toEqual(['__proto__', 'constructor', 'toString', 'good']);

    // still the same, working connection
    expect(c.state).toBe('open');
    expect(c.send({ type: 'after' })).toBe('sent');
    await vi.waitFor(() => expect(conn.frames).toEqual([{ type: 'after' }]));
    expect(server.conns).toHaveLength(1);
    expect(conn.closed).toBeUndefined();
  });
});

describe('close()', () => {
  it('during a pending reconnect: no connection ever reaches the server afterwards and the state is closed', async () => {
    const server = await RecordingServer.start();
    const ws = countingWebSocket();
    const t = makeClient({
      url: server.url,
      WebSocket: ws.WebSocket,
      reconnect: { initialDelay: 200, maxDelay: 200, jitter: 0 },
    });
    await t.reach('open');
    const waiting = t.reach('reconnecting');
    server.conns[0]!.ws.terminate();
    await waiting;
    expect(t.details.at(-1)!.delay).toBe(200);

    t.client.close();
    expect(t.client.state).toBe('closed');
    await sleep(500); // 2.5 × the backoff: the cancelled attempt would have run by now
    expect(server.conns).toHaveLength(1);
    expect(ws.count()).toBe(1);
    expect(t.states.join()).toBe('connecting,open,reconnecting,closed');
    expect(t.client.readyState).toBe(3);
  });

  it('keeps the queue for a later connect(), which delivers it', async () => {
    const server = await RecordingServer.start();
    const t = makeClient({ url: server.url });
    await t.reach('open');
    t.client.close();
    await vi.waitFor(() => expect(server.conns[0]!.closed?.code).toBe(1000));
    expect(t.client.send({ type: 'later', n: 1 })).toBe('queued');
    expect(t.client.send({ type: 'later', n: 2 })).toBe('queued');
    expect(t.client.queued).toBe(2);
    t.client.connect();
    await vi.waitFor(() =>
      expect(server.conns[1]?.frames).toEqual([
        { type: 'later', n: 1 },
        { type: 'later', n: 2 },
      ]),
    );
    expect(server.conns[0]!.frames).toEqual([]);
  });
});
