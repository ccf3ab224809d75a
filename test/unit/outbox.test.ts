import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { delivery } from '../../src/delivery';
import type { ClientOptions, Message, WebSocketClient } from '../../src/index';
import { type Outbox, type OutboxOptions, outbox } from '../../src/outbox';
import { makeClient, mockServer, type TestServer, tick } from './helpers';

// IndexedDB (fake-indexeddb) schedules its work with setImmediate: left real, so storage makes
// progress on its own while the client's timers (and mock-socket's 4 ms delays) are fake.
const fakeTimers = () =>
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
/** Let pending IndexedDB transactions finish. */
const settle = async () => {
  for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
};

type Frame = { type: string; n?: number; id?: string; token?: string };

let srv: TestServer;
let idb: IDBFactory;
const clients: WebSocketClient<Message, Frame>[] = [];
beforeEach(() => {
  fakeTimers();
  srv = mockServer();
  idb = new IDBFactory(); // a fresh browser profile per test
});
afterEach(() => {
  for (const c of clients.splice(0)) c.dispose();
  srv.server.stop();
  vi.useRealTimers();
});

/** One page load: a client (not connected yet) and its outbox. */
const load = (opts: Partial<OutboxOptions> = {}, clientOpts: Partial<ClientOptions<Message, Frame>> = {}) => {
  const made = makeClient<Message, Frame>(srv.url, { autoConnect: false, ...clientOpts });
  clients.push(made.client);
  const box: Outbox = outbox(made.client, { name: 'chat', indexedDB: idb, ...opts });
  return { ...made, box };
};

/** What the outbox named `name` holds in storage, in key order. */
const stored = async (name = 'chat'): Promise<{ o: string; m: Frame; k: [number, string, number] }[]> => {
  const open = idb.open(`resilient-ws/outbox/${name}/`);
  const db = await new Promise<IDBDatabase>((r) => {
    open.onsuccess = () => r(open.result);
  });
  if (!db.objectStoreNames.contains('m')) {
    db.close();
    return [];
  }
  const req = db.transaction('m').objectStore('m').getAll();
  const all = await new Promise<never[]>((r) => {
    req.onsuccess = () => r(req.result as never[]);
  });
  db.close();
  return all;
};

const frames = () => srv.frames as Frame[];
const chats = () => frames().filter((f) => f.type === 'chat');

describe('outbox: queue mode', () => {
  it('stores what is queued, in one transaction per task, and nothing that is written at once', async () => {
    const { client, box } = load();
    await box.restored;
    for (const n of [1, 2, 3]) client.send({ type: 'chat', n });
    await settle();
    expect((await stored()).map((r) => r.m.n)).toEqual([1, 2, 3]);
    client.connect();
    await tick();
    expect(chats().map((f) => f.n)).toEqual([1, 2, 3]);
    client.send({ type: 'chat', n: 4 }); // written within the task: never stored
    await settle();
    expect(await stored()).toEqual([]);
  });

  it('sends what an earlier load left, first, in order, after auth and the open listeners', async () => {
    const first = load();
    await first.box.restored;
    for (const n of [1, 2, 3]) first.client.send({ type: 'chat', n });
    await settle();
    // the page reloads: a new client and outbox on the same storage
    const { client, box } = load({}, { auth: { type: 'auth', token: 't' } });
    client.onStateChange((s) => s === 'open' && client.send({ type: 'join' }));
    client.send({ type: 'chat', n: 10 }); // a new send of this load, while connecting
    expect(await box.restored).toBe(3);
    client.connect();
    await tick();
    expect(frames().map((f) => f.n ?? f.type)).toEqual(['auth', 'join', 1, 2, 3, 10]);
    await settle();
    expect(await stored()).toEqual([]);
    expect(first.client.queued).toBe(3); // a reload does not run the old page's client any more
  });

  it('sends restored messages at once when the client is already open', async () => {
    const first = load();
    await first.box.restored;
    first.client.send({ type: 'chat', n: 1 });
    await settle();
    const made = makeClient<Message, Frame>(srv.url);
    clients.push(made.client);
    await tick();
    expect(made.client.state).toBe('open');
    const box = outbox(made.client, { name: 'chat', indexedDB: idb });
    expect(await box.restored).toBe(1);
    await tick();
    expect(chats().map((f) => f.n)).toEqual([1]);
  });

  it('never takes over what another name stored', async () => {
    const other = load({ name: 'other' });
    await other.box.restored;
    other.client.send({ type: 'chat', n: 2 });
    await settle();
    expect(await load().box.restored).toBe(0);
    expect((await stored('other')).map((r) => r.m.n)).toEqual([2]);
  });

  it('never stores a { queue: false } send', async () => {
    const { client, box } = load({ delivery: false });
    await box.restored;
    expect(client.send({ type: 'chat', n: 1 }, { queue: false })).toBe('dropped');
    client.send({ type: 'chat', n: 2 });
    await settle();
    expect((await stored()).map((r) => r.m.n)).toEqual([2]);
  });

  it('forgets what the client drops (overflow), so it never comes back', async () => {
    const { client, box, errors } = load({}, { queue: { maxSize: 2 } });
    await box.restored;
    for (const n of [1, 2, 3]) client.send({ type: 'chat', n });
    await settle();
    expect(errors.map((e) => e.code)).toEqual(['QUEUE_OVERFLOW']);
    expect((await stored()).map((r) => r.m.n)).toEqual([2, 3]);
  });

  it('keeps the ttl counting from the original send across a reload', async () => {
    const first = load({ ttl: 60_000 });
    await first.box.restored;
    first.client.send({ type: 'chat', n: 1 });
    vi.setSystemTime(Date.now() + 40_000);
    first.client.send({ type: 'chat', n: 2 });
    await settle();
    vi.setSystemTime(Date.now() + 30_000); // n=1 is 70 s old now, n=2 30 s
    const { client, box, errors } = load({ ttl: 60_000 });
    expect(await box.restored).toBe(2);
    client.connect();
    await tick();
    expect(chats().map((f) => f.n)).toEqual([2]);
    expect(errors.map((e) => [e.code, (e.data as Frame).n])).toEqual([['QUEUE_EXPIRED', 1]]);
    await settle();
    expect(await stored()).toEqual([]);
  });

  it('forgets what the client itself expires (queue.ttl)', async () => {
    const { client, box, errors } = load({}, { queue: { ttl: 1000 } });
    await box.restored;
    client.send({ type: 'chat', n: 1 });
    await settle();
    vi.setSystemTime(Date.now() + 2000);
    client.send({ type: 'chat', n: 2 }); // a push expires the old one
    await settle();
    expect(errors.map((e) => e.code)).toEqual(['QUEUE_EXPIRED']);
    expect((await stored()).map((r) => r.m.n)).toEqual([2]);
  });

  it('stop() leaves what is stored for a later load and stores nothing more', async () => {
    const { client, box } = load();
    await box.restored;
    client.send({ type: 'chat', n: 1 });
    box.stop();
    client.send({ type: 'chat', n: 2 });
    await settle();
    expect((await stored()).map((r) => r.m.n)).toEqual([1]);
    expect(client.use).toBe(Object.getPrototypeOf(client).use); // the client's own methods again
    expect(client.report).toBe(Object.getPrototypeOf(client).report);
  });
});

describe('outbox: storage failures', () => {
  it('without IndexedDB: reported once, messages stay in memory, send() never throws', async () => {
    const { client, box, errors } = load({ indexedDB: undefined });
    const saved = globalThis.indexedDB;
    expect(saved).toBeUndefined(); // happy-dom has none: the "no IndexedDB" case is real here
    expect(await box.restored).toBe(0);
    expect(client.send({ type: 'chat', n: 1 })).toBe('queued');
    expect(client.send({ type: 'chat', n: 2 })).toBe('queued');
    await settle();
    expect(errors.map((e) => e.code)).toEqual(['STORAGE_ERROR']);
    expect(errors[0]!.message).toMatch(/no IndexedDB/);
    client.connect();
    await tick();
    expect(chats().map((f) => f.n)).toEqual([1, 2]);
  });

  it('a store that refuses writes (quota): reported once, memory fallback, no throw', async () => {
    const { client, box, errors } = load();
    await box.restored;
    client.send({ type: 'chat', n: 1 });
    await settle();
    const store = Object.getPrototypeOf(
      (
        await new Promise<IDBDatabase>((r) => {
          const o = idb.open('probe');
          o.onupgradeneeded = () => o.result.createObjectStore('s');
          o.onsuccess = () => r(o.result);
        })
      )
        .transaction('s', 'readwrite')
        .objectStore('s'),
    ) as IDBObjectStore;
    const put = vi.spyOn(store, 'put').mockImplementation(() => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    });
    try {
      for (const n of [2, 3]) expect(client.send({ type: 'chat', n })).toBe('queued');
      await settle();
      client.send({ type: 'chat', n: 4 });
      await settle();
    } finally {
      put.mockRestore();
    }
    expect(errors.map((e) => e.code)).toEqual(['STORAGE_ERROR']);
    expect((errors[0]!.cause as DOMException).name).toBe('QuotaExceededError');
    expect((await stored()).map((r) => r.m.n)).toEqual([1]);
    client.connect();
    await tick();
    expect(chats().map((f) => f.n)).toEqual([1, 2, 3, 4]);
    await settle();
    expect(await stored()).toEqual([]); // deletes still go through
  });
});

describe('outbox: with delivery', () => {
  const ack = (...ids: (string | undefined)[]) => srv.push({ type: 'ack', ids });

  it('keeps written messages until acknowledged, and re-sends them with the same ids', async () => {
    const first = load({ delivery: true });
    delivery(first.client);
    await first.box.restored;
    first.client.connect();
    await tick();
    for (const n of [1, 2, 3]) first.client.send({ type: 'chat', n });
    await tick();
    await settle();
    const ids = chats().map((f) => f.id);
    expect((await stored()).map((r) => r.m.id)).toEqual(ids);
    ack(ids[0]);
    await tick();
    await settle();
    expect((await stored()).map((r) => r.m.id)).toEqual(ids.slice(1));
    // reload: 2 and 3 were written but not acknowledged
    const { client, box } = load({ delivery: true });
    delivery(client);
    expect(await box.restored).toBe(2);
    client.connect();
    await tick();
    expect(chats().map((f) => f.id)).toEqual([...ids, ids[1], ids[2]]);
    ack(ids[1], ids[2]);
    await tick();
    await settle();
    expect(await stored()).toEqual([]);
  });

  it.each([
    ['outbox first', true],
    ['delivery first', false],
  ])('stores and restores the same messages, ids included, with %s', async (_, outboxFirst) => {
    const attach = (c: WebSocketClient<Message, Frame>, box: () => void) => {
      if (outboxFirst) box();
      delivery(c);
      if (!outboxFirst) box();
    };
    const made = makeClient<Message, Frame>(srv.url, { autoConnect: false });
    clients.push(made.client);
    let first: Outbox | undefined;
    attach(made.client, () => {
      first = outbox(made.client, { name: 'chat', indexedDB: idb, delivery: true });
    });
    await first!.restored;
    for (const n of [1, 2]) made.client.send({ type: 'chat', n });
    await settle();
    const kept = await stored();
    expect(kept.map((r) => [r.m.n, typeof r.m.id])).toEqual([
      [1, 'string'],
      [2, 'string'],
    ]);
    const next = makeClient<Message, Frame>(srv.url, { autoConnect: false });
    clients.push(next.client);
    let box: Outbox | undefined;
    attach(next.client, () => {
      box = outbox(next.client, { name: 'chat', indexedDB: idb, delivery: true });
    });
    expect(await box!.restored).toBe(2);
    next.client.connect();
    await tick();
    expect(chats().map((f) => f.id)).toEqual(kept.map((r) => r.m.id));
    ack(...kept.map((r) => r.m.id as string));
    await tick();
    await settle();
    expect(await stored()).toEqual([]); // acknowledged: forgotten in either order
  });
});

describe('outbox: the client’s typeKey', () => {
  it('with delivery, forgets what an ack typed by the client’s typeKey acknowledges', async () => {
    const { client, box } = load({ delivery: true }, { typeKey: 'kind' });
    delivery(client);
    await box.restored;
    client.connect();
    await tick();
    for (const n of [1, 2]) client.send({ kind: 'chat', n } as never);
    await tick();
    await settle();
    const ids = (srv.frames as { id: string }[]).map((f) => f.id);
    expect((await stored()).map((r) => r.m.id)).toEqual(ids);
    srv.push({ kind: 'ack', ids });
    await tick();
    await settle();
    expect(await stored()).toEqual([]);
  });
});

describe('outbox: option checks', () => {
  it('refuses an unknown option with INVALID_OPTIONS, suggesting the nearest name', () => {
    const made = makeClient<Message, Frame>(srv.url, { autoConnect: false });
    clients.push(made.client);
    expect(() => outbox(made.client, { name: 'chat', indexedDB: idb, delivry: true } as never)).toThrow(
      'INVALID_OPTIONS: outbox: options.delivry is not an option; did you mean delivery?',
    );
  });
});

describe('outbox: restored messages go before new sends', () => {
  /** An earlier load that stored chats `from`..`to` and never connected. */
  const earlier = async (from: number, to: number) => {
    const first = load();
    await first.box.restored;
    for (let n = from; n <= to; n++) first.client.send({ type: 'chat', n });
    await settle();
    expect((await stored()).length).toBe(to - from + 1);
  };
  /** Let the socket, the timers and IndexedDB run until `count` chats arrived (or give up). */
  const until = async (count: number) => {
    for (let i = 0; i < 100 && chats().length < count; i++) {
      await tick(5);
      await settle();
    }
  };

  it('a reload that creates client and outbox and sends at once, the server up: stored first', async () => {
    await earlier(1, 10);
    const made = makeClient<Message, Frame>(srv.url); // connects at once
    clients.push(made.client);
    outbox(made.client, { name: 'chat', indexedDB: idb });
    for (let n = 11; n <= 20; n++) made.client.send({ type: 'chat', n });
    await until(20);
    expect(chats().map((f) => f.n)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(made.errors).toEqual([]);
  });

  it('an outbox attached to a client already open: stored first, then the sends made meanwhile', async () => {
    await earlier(1, 10);
    const made = makeClient<Message, Frame>(srv.url);
    clients.push(made.client);
    await tick();
    expect(made.client.state).toBe('open');
    outbox(made.client, { name: 'chat', indexedDB: idb });
    const results = new Set<string>();
    for (let n = 11; n <= 20; n++) results.add(made.client.send({ type: 'chat', n }));
    expect(results).toEqual(new Set(['queued'])); // waiting for the store to be read
    await until(20);
    expect(chats().map((f) => f.n)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('new sends wait for the store at most 3 s, then go', async () => {
    const never = { open: () => ({}) } as unknown as IDBFactory; // a store that never answers
    const made = makeClient<Message, Frame>(srv.url);
    clients.push(made.client);
    await tick();
    outbox(made.client, { name: 'chat', indexedDB: never });
    made.client.send({ type: 'chat', n: 1 });
    await tick(2900);
    expect(chats()).toEqual([]);
    await tick(200);
    expect(chats().map((f) => f.n)).toEqual([1]);
  });

  it('the ttl is the client’s queue.ttl unless given', async () => {
    const first = load({}, { queue: { ttl: 60_000 } });
    await first.box.restored;
    first.client.send({ type: 'chat', n: 1 });
    vi.setSystemTime(Date.now() + 40_000);
    first.client.send({ type: 'chat', n: 2 });
    await settle();
    vi.setSystemTime(Date.now() + 30_000); // n=1 is 70 s old now, n=2 30 s
    const { client, box, errors } = load({}, { queue: { ttl: 60_000 } });
    expect(await box.restored).toBe(2);
    client.connect();
    await tick();
    expect(chats().map((f) => f.n)).toEqual([2]);
    expect(errors.map((e) => [e.code, (e.data as Frame).n])).toEqual([['QUEUE_EXPIRED', 1]]);
  });
});
