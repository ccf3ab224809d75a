// The server recipe of docs/delivery.md (recipe-server.ts) in the cases a server author meets
// first: a handler that throws, a restart that loses the process's memory, a client that
// resumes before the server has any history, and two streams followed on one connection.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Message, WebSocketClient, type WebSocketClientError, type WebSocketConstructor } from 'resilient-ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { delivery } from '../../src/delivery';
import { type Incoming, type RecipeServer, recipeServer } from './recipe-server';

const stops: (() => unknown)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fresh dedupe file, removed after the test. */
const dedupeFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'recipe-'));
  stops.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'seen.log');
};

const server = async (options: Parameters<typeof recipeServer>[0]) => {
  const s = await recipeServer(options);
  stops.push(() => s.stop());
  return s;
};

/** A client in resume mode on whatever server `at()` gives, with a fast reconnect. */
const client = (at: () => RecipeServer) => {
  const c = new WebSocketClient<Message, Message>({
    url: () => at().url,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    autoConnect: false,
    pageEvents: false,
    heartbeat: false,
    reconnect: { initialDelay: 10, maxDelay: 50, jitter: 0 },
    auth: { message: { type: 'auth', token: 'alice' }, isAck: (m) => m.type === 'auth_ok' },
    logger: { warn: () => {} },
  });
  stops.push(() => c.dispose());
  const d = delivery(c, { resume: true });
  const errors: WebSocketClientError[] = [];
  c.onError((e) => errors.push(e));
  const got: Message[] = [];
  c.on('*', (m) => got.push(m));
  c.connect();
  return { c, d, errors, got };
};

describe('the server recipe', () => {
  it('a handler that throws: the message is neither acknowledged nor marked, and is handled once it succeeds', async () => {
    const handled: number[] = [];
    let failures = 0;
    const s = await server({
      file: dedupeFile(),
      handle: (_user, msg: Incoming) => {
        if (msg.n === 2 && failures++ < 2) throw new Error('database down');
        handled.push(msg.n as number);
      },
    });
    const { c, d } = client(() => s);
    await vi.waitFor(() => expect(s.live.size).toBe(1));
    for (const n of [1, 2, 3]) c.send({ type: 'msg', n });
    await vi.waitFor(() => expect(d.unacked + c.queued).toBe(0), { timeout: 5000 });
    await sleep(100);
    expect(failures).toBe(3); // two failures, then the attempt that succeeded
    expect([...handled].sort()).toEqual([1, 2, 3]); // each exactly once
  });

  it('a restart that loses the process’s memory: the dedupe survives, a re-send is acknowledged, not handled again', async () => {
    const file = dedupeFile();
    const handled: number[] = [];
    let dropAcks = true;
    let s = await server({
      file,
      handle: (_user, msg) => handled.push(msg.n as number),
      // the acks are lost with the connection
      onConnection: (ws) => {
        const send = ws.send.bind(ws) as (data: string) => void;
        (ws as unknown as { send: (data: string) => void }).send = (data) =>
          dropAcks && data.includes('"ack"') ? undefined : send(data);
      },
    });
    const { c, d } = client(() => s);
    await vi.waitFor(() => expect(s.live.size).toBe(1));
    for (const n of [1, 2, 3]) c.send({ type: 'msg', n });
    await vi.waitFor(() => expect(handled).toEqual([1, 2, 3]));
    expect(d.unacked).toBe(3);
    // a new process on the same port and the same file: nothing of the old one's memory
    const port = Number(new URL(s.url).port);
    await s.stop();
    dropAcks = false;
    s = await server({ file, port, handle: (_user, msg) => handled.push(msg.n as number) });
    await vi.waitFor(() => expect(d.unacked + c.queued).toBe(0), { timeout: 5000 });
    await sleep(100);
    expect(handled).toEqual([1, 2, 3]);
  });

  it('silent sessions expire: the dedupe keeps only sessions seen within SESSION_TTL', async () => {
    const file = dedupeFile();
    const handled: number[] = [];
    let s = await server({ file, handle: (_user, msg) => handled.push(msg.n as number) });
    const { c, d } = client(() => s);
    await vi.waitFor(() => expect(s.live.size).toBe(1));
    c.send({ type: 'msg', n: 1 });
    await vi.waitFor(() => expect(d.unacked).toBe(0));
    const port = Number(new URL(s.url).port);
    await s.stop();
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
    await sleep(20);
    s = await server({ file, port, sessionTtl: 10, handle: () => {} }); // restarted after the session's ttl
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('acknowledges every id, not only strings: a client that picks numeric ids gets its acks, handled once', async () => {
    const handled: number[] = [];
    const s = await server({ file: dedupeFile(), handle: (_user, msg) => handled.push(msg.n as number) });
    const { c, d } = client(() => s);
    await vi.waitFor(() => expect(s.live.size).toBe(1));
    c.send({ type: 'msg', n: 1, id: 7 });
    c.send({ type: 'msg', n: 2, id: 8 });
    await vi.waitFor(() => expect(d.unacked).toBe(0));
    for (const ws of s.live) ws.terminate();
    c.send({ type: 'msg', n: 1, id: 7 }); // the app sends it again itself: a duplicate
    await vi.waitFor(() => expect(d.unacked + c.queued).toBe(0), { timeout: 5000 });
    await sleep(100);
    expect(handled).toEqual([1, 2]);
  });

  it('a resume before the server has any history: the first message after a cut is not lost', async () => {
    const s = await server({ file: dedupeFile(), handle: () => {} });
    const { got, errors, d } = client(() => s);
    // the client has its resume point: never null, though the history is empty
    await vi.waitFor(() => expect(d.lastId).toEqual(expect.any(Number)));
    const ws = s.sockets[0]!;
    ws.on('close', () => s.publish({ type: 'chat', n: 1 })); // while the client is away
    ws.terminate(); // cut before any message
    await vi.waitFor(() => expect(got.filter((m) => m.type === 'chat').map((m) => m.n)).toEqual([1]), {
      timeout: 5000,
    });
    expect(errors).toEqual([]);
  });

  it('two streams on one connection: one id space, nothing of either is dropped as a duplicate, across cuts', async () => {
    const s = await server({ file: dedupeFile(), handle: () => {} });
    const { got, errors } = client(() => s);
    await vi.waitFor(() => expect(s.live.size).toBe(1));
    const N = 200;
    for (let n = 1; n <= N; n++) {
      s.publish({ type: 'chat', room: 'a', n });
      s.publish({ type: 'chat', room: 'b', n });
      if (n % 50 === 0) for (const ws of s.live) ws.terminate();
      await sleep(1);
    }
    const of = (room: string) => got.filter((m) => m.room === room).map((m) => m.n);
    const all = Array.from({ length: N }, (_, i) => i + 1);
    await vi.waitFor(() => expect([of('a'), of('b')]).toEqual([all, all]), { timeout: 10_000 });
    expect(errors).toEqual([]);
  });
});
