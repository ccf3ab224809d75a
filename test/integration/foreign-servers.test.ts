// Servers this project did not write, as real `ws` servers, against clients on DEFAULT options:
// a chat server that ignores unknown messages (and so the heartbeat's pings), an echo server, a
// relay that re-broadcasts every frame to every client, an auth server that refuses the first
// token with 4002 and never acknowledges, a server that sends JSON without a `type`.
//
// The heartbeat's defaults are 25 s + 10 s, so time is faked (setTimeout and Date only) while
// the sockets stay real: `advance` moves the clock in steps and lets real I/O run in between.
import { setTimeout as realDelay } from 'node:timers/promises';
import { type Message, WebSocketClient, type WebSocketClientError, type WebSocketConstructor } from 'resilient-ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { type Conn, cleanup, RecordingServer } from './helpers';

const clients: WebSocketClient[] = [];
afterEach(async () => {
  for (const c of clients) c.dispose();
  clients.length = 0;
  vi.useRealTimers();
  await cleanup();
});

/** A client with the default options: only the `ws` class injected, and its reports collected. */
const defaults = (url: string) => {
  const errors: WebSocketClientError[] = [];
  const states: string[] = [];
  const warn = vi.fn();
  const client = new WebSocketClient({
    url,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    logger: { warn },
  });
  clients.push(client);
  client.onStateChange((s) => states.push(s));
  client.onError((e) => errors.push(e));
  return { client, errors, states, warn };
};

const fake = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
/** Moves fake time by `ms` in steps of `step`, letting real socket I/O happen after each step. */
const advance = async (ms: number, step = 500) => {
  for (let t = 0; t < ms; t += step) {
    await vi.advanceTimersByTimeAsync(Math.min(step, ms - t));
    await realDelay(1);
  }
};
/** Real time until `check` passes (socket I/O), with fake timers on. */
const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 500 && !check(); i++) await realDelay(5);
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};
const isPing = (f: unknown) => (f as Message | null)?.type === 'ping';
const FIVE_MIN = 5 * 60_000;

describe('a chat server that ignores unknown messages (and pings)', () => {
  it('an idle client on defaults stays on its first connection for 5 min, with exactly one warning', async () => {
    fake();
    const server = await RecordingServer.start({ pong: false });
    const { client, errors, states } = defaults(server.url);
    client.onStateChange((s) => s === 'open' && client.send({ type: 'join', room: 'lobby' }));
    await until(() => client.state === 'open', 'open');
    await advance(FIVE_MIN);
    expect(server.conns).toHaveLength(1);
    expect(states).toEqual(['connecting', 'open']);
    expect(server.conns[0]!.frames.filter((f) => (f as Message).type === 'join')).toHaveLength(1); // never re-joined
    expect(server.conns[0]!.frames.filter(isPing)).toHaveLength(1); // the probe, and nothing after it
    expect(errors.map((e) => e.code)).toEqual(['HEARTBEAT_TIMEOUT']);
    expect(errors[0]!.message).toMatch(
      /^HEARTBEAT_TIMEOUT: no pong within 10000 ms: .*heartbeat\.message\/isPong.*anyMessage.*false/,
    );
    console.info(
      `ignoring server, 5 min idle on defaults: ${server.conns.length} connection(s), ${errors.length} report(s): ${errors[0]?.message}`,
    );
  });
});

describe('a server that answers pings', () => {
  it('on defaults, a half-open connection is detected within interval + timeout (35 s) and replaced', async () => {
    fake();
    const server = await RecordingServer.start();
    const { client, errors } = defaults(server.url);
    await until(() => client.latency !== undefined, 'the probe answered');
    const stalledAt = Date.now();
    server.stall(server.conns[0]!);
    let detectedAt = 0;
    client.onError(() => {
      detectedAt ||= Date.now();
    });
    await advance(35_000 + 500);
    expect(errors.map((e) => e.message)).toEqual(['HEARTBEAT_TIMEOUT: no pong within 10000 ms']);
    expect(detectedAt - stalledAt).toBeLessThanOrEqual(35_000 + 500);
    await advance(2500); // the first retry comes within reconnect.initialDelay
    await until(() => server.conns.length === 2 && client.state === 'open', 'a new connection');
    console.info(`answering server, half-open on defaults: detected after ${detectedAt - stalledAt} ms of fake time`);
  });
});

describe('an echo server', () => {
  it('the echoed ping never reaches a handler, and the connection stays with one warning', async () => {
    fake();
    const server = await RecordingServer.start({ pong: false, onMessage: (c, m, s) => s.send(c, m) });
    const { client, errors } = defaults(server.url);
    const all = vi.fn();
    const untyped = vi.fn();
    client.on('*', all);
    client.on('?', untyped);
    await until(() => client.state === 'open', 'open');
    client.send({ type: 'hello' });
    await until(() => all.mock.calls.length === 1, 'the echo of hello');
    await advance(FIVE_MIN);
    expect(all.mock.calls).toEqual([[{ type: 'hello' }]]);
    expect(untyped).not.toHaveBeenCalled();
    expect(server.conns).toHaveLength(1);
    expect(errors.map((e) => e.code)).toEqual(['HEARTBEAT_TIMEOUT']);
  });
});

describe('a relay that re-broadcasts every frame to every client', () => {
  it('sends one ping per client, never dispatched to any client, and nobody reconnects', async () => {
    fake();
    const relay = await RecordingServer.start({
      pong: false,
      onMessage: (_c, m, s) => {
        for (const conn of s.conns) if (!conn.closed) s.send(conn, m);
      },
    });
    const N = 3;
    const cs = Array.from({ length: N }, () => defaults(relay.url));
    const seen = cs.map(() => [] as unknown[]);
    cs.forEach(({ client }, i) => {
      client.on('*', (m) => seen[i]!.push(m));
      client.on('?', (m) => seen[i]!.push(m));
    });
    await until(() => cs.every((c) => c.client.state === 'open'), 'all open');
    cs[0]!.client.send({ type: 'chat', text: 'hi' });
    await until(() => seen.every((s) => s.length === 1), 'the chat relayed to all');
    const start = Date.now();
    await advance(FIVE_MIN);
    const pingsAtRelay = relay.allFrames().filter(isPing).length;
    console.info(
      `relay, ${N} clients on defaults, 5 min: ${pingsAtRelay} ping frames received by the relay, ${relay.conns.length} connections, ${(Date.now() - start) / 1000} s fake`,
    );
    expect(pingsAtRelay).toBe(N);
    expect(relay.conns).toHaveLength(N);
    expect(seen).toEqual(cs.map(() => [{ type: 'chat', text: 'hi' }]));
    for (const c of cs) expect(c.errors.map((e) => e.code)).toEqual(['HEARTBEAT_TIMEOUT']);
  });
});

describe('an auth server that refuses the first token with 4002 and never acknowledges', () => {
  it('the messages written after the refused token are delivered on the next connection, in order, none reported', async () => {
    const server = await RecordingServer.start({
      pong: false,
      onMessage: (conn: Conn, msg, s) => {
        if (conn.frames.length === 1 && (msg as { token?: string }).token === 't1') s.closeConn(conn, 4002, 'bad');
      },
    });
    let n = 0;
    const errors: WebSocketClientError[] = [];
    const client = new WebSocketClient<Message, Message>({
      url: server.url,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      auth: () => ({ type: 'auth', token: `t${++n}` }),
      logger: { warn: () => {} },
    });
    clients.push(client);
    client.onError((e) => errors.push(e));
    for (const i of [1, 2, 3]) client.send({ type: 'msg', i });
    // app frames only: the heartbeat's probe is there too, on defaults
    const app = (i: number) => server.conns[i]?.frames.filter((f) => !isPing(f)) ?? [];
    await vi.waitFor(() => expect(app(1)).toHaveLength(4), { timeout: 5000 });
    expect(app(0)).toEqual([
      { type: 'auth', token: 't1' },
      { type: 'msg', i: 1 },
      { type: 'msg', i: 2 },
      { type: 'msg', i: 3 },
    ]);
    expect(server.conns[0]!.closed?.code).toBe(4002);
    expect(app(1)).toEqual([
      { type: 'auth', token: 't2' },
      { type: 'msg', i: 1 },
      { type: 'msg', i: 2 },
      { type: 'msg', i: 3 },
    ]);
    expect(errors.map((e) => e.code)).toEqual(['AUTH_REJECTED']);
    expect(client.state).toBe('open');
    console.info(`auth refusal: delivered ${app(1).length - 1} of 3 on the second connection`);
  });
});

describe('a server that sends JSON without a type', () => {
  it('on("?") receives it on defaults, and it is not reported as an error', async () => {
    const server = await RecordingServer.start({
      onConnection: (conn, s) => {
        s.send(conn, { error: 'invalid token' });
        s.send(conn, [1, 2]);
        s.send(conn, { type: 'welcome' });
      },
    });
    const { client, errors } = defaults(server.url);
    const untyped: unknown[] = [];
    const typed: unknown[] = [];
    client.on('?', (m) => untyped.push(m));
    client.on('*', (m) => typed.push(m));
    await vi.waitFor(() => expect(typed).toHaveLength(1));
    expect(untyped).toEqual([{ error: 'invalid token' }, [1, 2]]);
    expect(typed).toEqual([{ type: 'welcome' }]);
    expect(errors).toEqual([]);
  });

  it('without a "?" handler, it is reported as INVALID_MESSAGE with the message and a pointer to on("?")', async () => {
    const server = await RecordingServer.start({ onConnection: (conn, s) => s.send(conn, { error: 'nope' }) });
    const { errors } = defaults(server.url);
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(errors[0]).toMatchObject({ code: 'INVALID_MESSAGE', data: { error: 'nope' } });
    expect(errors[0]!.message).toContain("on('?')");
  });
});
