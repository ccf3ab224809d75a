// At-least-once delivery under chaos, against the README's server recipe (recipe-server.ts) on
// real `ws` sockets: random cuts, a half-open stall, server restarts with the state kept, an
// outage that passes `maxUnacked` while offline, cuts between a live message and the replay,
// and a history too short for the outage. Each run checks both directions for 0 lost, 0
// duplicated, 0 reordered, and that the errors reported are exactly the expected ones, once.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Message, WebSocketClient, type WebSocketClientError, type WebSocketConstructor } from 'resilient-ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { type Delivery, delivery } from '../../src/delivery';
import { type RecipeServer, recipeServer } from './recipe-server';

const stops: (() => unknown)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Lost, duplicated and out-of-order entries of `got`, against 1..n (or `expected`). */
const audit = (got: number[], expected: number[]) => {
  const want = new Set(expected);
  const distinct = new Set(got);
  let reordered = 0;
  for (let i = 1; i < got.length; i++) if (got[i]! < got[i - 1]!) reordered++;
  return {
    lost: expected.filter((n) => !distinct.has(n)).length,
    dup: got.length - distinct.size,
    reordered,
    extra: [...distinct].filter((n) => !want.has(n)).length,
  };
};
const clean = { lost: 0, dup: 0, reordered: 0, extra: 0 };

/** A socket's `send`, replaced by `wrap(original)`: to see, drop or cut after what the server writes. */
const tap = (ws: WebSocket, wrap: (send: (data: string) => void, data: string) => void) => {
  const send = ws.send.bind(ws) as (data: string) => void;
  (ws as unknown as { send: (data: string) => void }).send = (data) => wrap(send, data);
};

interface Run {
  server: RecipeServer;
  client: WebSocketClient<Message, Message>;
  d: Delivery;
  /** `n` of the client messages the server handled, in order */
  handled: number[];
  /** `n` of the ticks the client's handler got, in order */
  seen: number[];
  errors: WebSocketClientError[];
  /** the most unacknowledged + queued seen at any send, message or state change */
  most: () => number;
  /** the client's sockets, newest last */
  sockets: WebSocket[];
}

/** `ws`'s client class, keeping every socket it makes, so a test can cut from the client's side. */
const keeping = (sockets: WebSocket[]) =>
  class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  };

/** The recipe server and a client in resume mode with a fast reconnect; stopped after the test. */
const start = async (
  opts: {
    keep?: number;
    onConnection?: (ws: WebSocket, server: () => RecipeServer) => void;
    maxUnacked?: number;
    heartbeat?: false | { interval: number; timeout: number };
    /** where the client's sockets go */
    sockets?: WebSocket[];
  } = {},
): Promise<Run> => {
  const handled: number[] = [];
  const server: RecipeServer = await recipeServer({
    file: join(mkdtempSync(join(tmpdir(), 'recipe-')), 'seen.log'),
    handle: (_user, msg) => handled.push(msg.n as number),
    keep: opts.keep,
    onConnection: opts.onConnection && ((ws) => opts.onConnection!(ws, () => server)),
  });
  stops.push(() => server.stop());
  const sockets = opts.sockets ?? [];
  const client = new WebSocketClient<Message, Message>({
    url: server.url,
    WebSocket: keeping(sockets) as unknown as WebSocketConstructor,
    autoConnect: false,
    pageEvents: false,
    heartbeat: opts.heartbeat ?? false,
    reconnect: { initialDelay: 10, maxDelay: 50, jitter: 0.5 },
    queue: { maxSize: 5000 },
    auth: { message: { type: 'auth', token: 'alice' }, isAck: (m) => m.type === 'auth_ok' },
    logger: { warn: () => {} },
  });
  stops.push(() => client.dispose());
  const d = delivery(client, { resume: true, maxUnacked: opts.maxUnacked });
  const seen: number[] = [];
  const errors: WebSocketClientError[] = [];
  let most = 0;
  const sample = () => {
    most = Math.max(most, d.unacked + client.queued);
  };
  client.on('tick', (m) => {
    seen.push(m.n as number);
    sample();
  });
  client.onStateChange(sample);
  client.onError((e) => errors.push(e));
  const send = client.send.bind(client);
  client.send = (msg, o) => {
    const r = send(msg, o);
    sample();
    return r;
  };
  client.connect();
  // resumed: a newcomer starts from the server's newest id, so the tests' messages come after it
  await vi.waitFor(() => expect(server.live.size).toBe(1));
  return { server, client, d, handled, seen, errors, most: () => most, sockets };
};

/** Runs `fn` every `ms` until it returns false; stopped after the test in any case. */
const every = (ms: number, fn: () => boolean | undefined) => {
  const t = setInterval(() => fn() === false && clearInterval(t), ms);
  stops.push(() => clearInterval(t));
};

/** `n` ticks from the server and `n` messages from the client, two of each every 2 ms. */
const traffic = (run: Run, n: number) => {
  let out = 0;
  let inn = 0;
  every(2, () => {
    for (let i = 0; i < 2 && inn < n; i++) run.server.publish({ type: 'tick', n: ++inn });
    for (let i = 0; i < 2 && out < n; i++) run.client.send({ type: 'msg', n: ++out });
    return inn < n || out < n;
  });
};

/** Waits until both directions are complete and nothing is left unacknowledged. */
const settle = async (run: Run, handled: number, seen: number, timeout = 20_000) => {
  await vi.waitFor(
    () => {
      expect(run.handled.length).toBeGreaterThanOrEqual(handled);
      expect(run.seen.length).toBeGreaterThanOrEqual(seen);
      expect(run.d.unacked + run.client.queued).toBe(0);
    },
    { timeout, interval: 20 },
  );
  await sleep(100); // a late duplicate would show now
};

const figures = (name: string, run: Run, extra = '') =>
  console.info(
    `[delivery chaos] ${name}: client→server ${new Set(run.handled).size}, server→client ${new Set(run.seen).size}, ` +
      `${run.server.sockets.length} connections, most held ${run.most()}, errors ${run.errors.length}${extra}`,
  );

describe('at-least-once delivery under chaos, against the README recipe', () => {
  it('cuts every 100–400 ms: 3000 messages each way, none lost, duplicated or reordered', async () => {
    const N = 3000;
    let fromClient = 0;
    const sockets: WebSocket[] = [];
    const run = await start({
      sockets,
      // each connection dies 100–400 ms after it opens, by the server's hand or the client's
      onConnection: (ws) => {
        const cut = setTimeout(
          () => {
            if (Math.random() < 0.5) return ws.terminate();
            fromClient++;
            sockets.at(-1)!.terminate();
          },
          100 + Math.random() * 300,
        );
        ws.on('close', () => clearTimeout(cut));
      },
    });
    const t0 = Date.now();
    traffic(run, N);
    await settle(run, N, N, 40_000);
    figures('cuts', run, `, ${fromClient} cut by the client, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(audit(run.handled, range(1, N))).toEqual(clean);
    expect(audit(run.seen, range(1, N))).toEqual(clean);
    expect(run.errors).toEqual([]);
    // it really was cut, many times: the ~3 s of paced traffic span connections of 100–400 ms each
    // plus the reconnect waits, 10–14 of them as measured; 6 leaves room for a loaded machine
    expect(run.server.sockets.length).toBeGreaterThanOrEqual(6);
    expect(fromClient).toBeGreaterThan(0);
  }, 60_000);

  it('a half-open stall: the heartbeat finds it, and what the dead socket swallowed is re-sent', async () => {
    const N = 1000;
    let stalls = 0;
    const run = await start({
      heartbeat: { interval: 100, timeout: 500 },
      onConnection: (ws) => {
        if (stalls >= 3) return;
        // after 200 ms the connection goes silent both ways but stays open, as a dead NAT leaves it
        const t = setTimeout(() => {
          stalls++;
          (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
          tap(ws, () => {});
          // a second later the server reads what was stuck: late copies, which it must drop
          setTimeout(() => (ws as unknown as { _socket: { resume(): void } })._socket.resume(), 1000);
        }, 200);
        ws.on('close', () => clearTimeout(t));
      },
    });
    traffic(run, N);
    await settle(run, N, N);
    await vi.waitFor(() => expect(stalls).toBe(3));
    await sleep(1100); // every stuck frame has been read by now
    figures('half-open stall', run, `, ${stalls} stalls`);
    expect(audit(run.handled, range(1, N))).toEqual(clean);
    expect(audit(run.seen, range(1, N))).toEqual(clean);
    expect(run.errors.map((e) => e.code)).toEqual(['HEARTBEAT_TIMEOUT', 'HEARTBEAT_TIMEOUT', 'HEARTBEAT_TIMEOUT']);
  });

  it('server restarts with the state kept: replay and dedupe carry over', async () => {
    const N = 1000;
    const run = await start();
    traffic(run, N);
    for (const at of [300, 500]) {
      await sleep(at);
      await run.server.stop(); // ticks go on into the history, the client queues
      await sleep(250);
      await run.server.listen();
    }
    await settle(run, N, N);
    figures('restarts', run);
    expect(audit(run.handled, range(1, N))).toEqual(clean);
    expect(audit(run.seen, range(1, N))).toEqual(clean);
    expect(run.errors).toEqual([]);
  });

  // The two cases with the default maxUnacked of 1000: 600 unacknowledged at the cut
  // (half handled with their acks lost, half never read) and 700 sent offline; 50 and 1000.
  for (const [ackless, unread, offline] of [
    [300, 300, 700],
    [25, 25, 1000],
  ] as const)
    it(`an outage past maxUnacked: ${ackless + unread} unacknowledged + ${offline} offline, exact single reports, none delivered`, async () => {
      const MAX = 1000;
      const written = ackless + unread;
      const total = written + offline;
      let dropAcks = false;
      const run = await start({
        onConnection: (ws) => {
          tap(ws, (send, data) => {
            // acks lost on the way back: handled on the server, unacknowledged on the client
            if (dropAcks && data.includes('"type":"ack"')) return;
            send(data);
          });
        },
      });
      for (let n = 1; n <= 10; n++) run.server.publish({ type: 'tick', n });
      dropAcks = true;
      for (let n = 1; n <= ackless; n++) run.client.send({ type: 'msg', n });
      await vi.waitFor(() => expect(run.handled).toHaveLength(ackless));
      // the rest is written into a socket the server no longer reads
      (run.server.sockets.at(-1) as unknown as { _socket: { pause(): void } })._socket.pause();
      for (let n = ackless + 1; n <= written; n++) run.client.send({ type: 'msg', n });
      expect(run.d.unacked).toBe(written);
      await run.server.stop();
      await vi.waitFor(() => expect(run.client.state).toBe('reconnecting'));
      for (let n = 11; n <= 20; n++) run.server.publish({ type: 'tick', n });
      const results = range(written + 1, total).map((n) => run.client.send({ type: 'msg', n }));
      expect(results).toEqual(range(written + 1, total).map((n) => (n <= MAX ? 'queued' : 'dropped')));
      expect(run.d.unacked + run.client.queued).toBe(MAX);
      dropAcks = false;
      await run.server.listen();
      await settle(run, MAX, 20);
      figures(`outage ${written} + ${offline}`, run, `, ${run.errors.length} reports`);
      expect(audit(run.handled, range(1, MAX))).toEqual(clean);
      expect(audit(run.seen, range(1, 20))).toEqual(clean);
      expect(run.errors.map((e) => [e.code, (e.data as { n: number }).n])).toEqual(
        range(MAX + 1, total).map((n) => ['QUEUE_OVERFLOW', n]),
      );
      expect(run.most()).toBeLessThanOrEqual(MAX);
    });

  // The server writes, in order: auth_ok, resumed, the replay, live ticks. Each of the first 40
  // connections is cut right after one of its first 8 frames, so cuts land before `resumed`,
  // inside the replay, between the replay and the first live tick, and between live ticks.
  const cutAfterFrame = (eager: boolean, early: { ignored: number }) => (ws: WebSocket, server: () => RecipeServer) => {
    if (server().sockets.length > 40) return;
    // a server that breaks rule 3 puts the socket live at once, as the server did
    if (eager) server().live.add(ws);
    const k = 1 + Math.floor(Math.random() * 8);
    let frames = 0;
    let resumed = false;
    tap(ws, (send, data) => {
      if (data.includes('"type":"resumed"')) resumed = true;
      else if (!resumed && data.includes('"id":')) early.ignored++;
      send(data);
      if (++frames === k) ws.terminate();
    });
  };

  for (const eager of [false, true])
    it(`cuts between a live message and the replay${eager ? ', from a server that sends live before resume' : ''}`, async () => {
      const N = 1000;
      const early = { ignored: 0 };
      // acks rarely get through 40 quick cuts: room for all of them, so no send is refused
      const run = await start({ onConnection: cutAfterFrame(eager, early), maxUnacked: 2 * N });
      traffic(run, N);
      await settle(run, N, N);
      figures(`cut between live and replay${eager ? ' (eager server)' : ''}`, run, `, ${early.ignored} early live`);
      expect(audit(run.handled, range(1, N))).toEqual(clean);
      expect(audit(run.seen, range(1, N))).toEqual(clean);
      expect(run.errors).toEqual([]);
      expect(run.server.sockets.length).toBeGreaterThan(40);
      if (eager) expect(early.ignored).toBeGreaterThan(0);
      else expect(early.ignored).toBe(0);
    });

  it('a lastId older than the history: one RESUME_GAP, then everything kept, in order', async () => {
    const run = await start({ keep: 100 });
    await vi.waitFor(() => expect(run.client.state).toBe('open'));
    for (let n = 1; n <= 50; n++) run.server.publish({ type: 'tick', n });
    await vi.waitFor(() => expect(run.seen).toHaveLength(50));
    const lastId = run.d.lastId;
    await run.server.stop();
    for (let n = 51; n <= 350; n++) run.server.publish({ type: 'tick', n }); // 51–250 fall out of the history
    await run.server.listen();
    await vi.waitFor(() => expect(run.seen).toHaveLength(150));
    for (const ws of run.server.sockets) ws.terminate(); // one more cut: the gap is not reported twice
    for (let n = 351; n <= 400; n++) run.server.publish({ type: 'tick', n });
    await settle(run, 0, 200);
    figures('gap', run);
    expect(run.seen).toEqual([...range(1, 50), ...range(251, 400)]);
    expect(run.errors.map((e) => [e.code, (e.data as { lastId: unknown }).lastId])).toEqual([['RESUME_GAP', lastId]]);
  });
});
