import { type ClientPlugin, type Message, type WebSocketClient, WebSocketClientError } from 'resilient-ws';

/** Options of {@link outbox}. */
export interface OutboxOptions {
  /** Which outbox: a later load with the same name sends what this one left behind. */
  name: string;
  /**
   * A message older than this, ms since its original `send()`, is not sent after a reload but
   * dropped with `QUEUE_EXPIRED`. Give it the client's `queue.ttl` (or `delivery`'s `ttl`), so
   * their clock keeps running across reloads. @default Infinity
   */
  ttl?: number;
  /**
   * `delivery` is attached to the client too: keep each message until the server acknowledges
   * it, not only until it is written. `true`, or the `idKey` and `ackType` given to `delivery`.
   * @default false
   */
  delivery?: boolean | { idKey?: string; ackType?: string };
  /** The IndexedDB to store in. @default globalThis.indexedDB */
  indexedDB?: IDBFactory;
}

/** A running outbox; see {@link outbox}. */
export interface Outbox {
  /** Resolves, never rejects, with how many messages of earlier loads this one took over. */
  readonly restored: Promise<number>;
  /** Stop persisting. What is stored stays for a later load (or another tab's) with the same name. */
  stop(): void;
}

/** A stored message: key [its original send time, the load that sent it, n], owner load, message. */
interface Rec {
  k: [number, string, number];
  o: string;
  m: unknown;
  /** a put of it was issued */
  s?: 1;
}

const STORE = 'm';

/** The transaction's outcome as a promise; `fn` queues its requests. */
const run = (db: IDBDatabase, fn: (s: IDBObjectStore) => void) =>
  new Promise<void>((resolve, reject) => {
    const tx = db.transaction(STORE, 'readwrite');
    fn(tx.objectStore(STORE));
    tx.oncomplete = () => resolve();
    // a failed request aborts the transaction (quota, among others)
    tx.onabort = () => reject(tx.error);
  });

/**
 * Keep what the app sent and the client still holds in IndexedDB, so that it survives a
 * reload, a crashed tab or a browser restart. The next load with the same `name` sends it
 * first (after auth and the `open` listeners, before the queue and new sends), in its original
 * order; with `delivery`, with the same ids, so the server's dedupe makes the effect exactly-once.
 *
 * A message is stored when it is sent (in one transaction per task) unless it is written to the
 * socket within that task, and forgotten once written, or acknowledged with `delivery`.
 * `{ queue: false }` sends are never stored. With several tabs, each stored message is taken over
 * by exactly one of them. A storage failure is reported once with `STORAGE_ERROR`; messages then
 * live in memory only, as without an outbox. `send()` never throws because of the outbox.
 */
export const outbox = <In extends Message, Out>(client: WebSocketClient<In, Out>, options: OutboxOptions): Outbox => {
  const { name, ttl = Infinity, delivery: d } = options;
  const { idKey = 'id', ackType = 'ack' } = d === true ? {} : d || {};
  const me = `${Math.random()}`;
  /** the database's name; the name's lock; with a load's id after it, that load's lock */
  const lock = `resilient-ws/outbox/${name}/`;
  const locks = (globalThis as { navigator?: Navigator }).navigator?.locks;
  const c = client as unknown as { use?: unknown; report?: unknown };
  const { use, report } = client;
  /** held messages, by delivery id or else by the message itself */
  const held = new Map<unknown, Rec>();
  /** what the next transaction writes: true puts, false deletes */
  const ops = new Map<Rec, boolean>();
  /** restored, to send on the next open */
  let waiting: Rec[] = [];
  let n = 0;
  /** undefined until open; null without storage, or once stopped */
  let db: IDBDatabase | null | undefined;
  /** puts failed (quota): deletes still go through, puts are skipped */
  let full = false;
  let due = false;
  let release: (() => void) | undefined;

  const key = (m: unknown) => (d ? ((m as Record<string, unknown> | undefined)?.[idKey] ?? m) : m);
  const fail = (e: unknown) => {
    if (!full) client.report(new WebSocketClientError('STORAGE_ERROR', `${e}`, undefined, e));
    full = true;
  };
  const flush = () => {
    due = false;
    if (!db || !ops.size) return;
    const batch = [...ops];
    ops.clear();
    run(db, (s) => {
      for (const [r, put] of batch)
        if (!put) s.delete(r.k);
        else if (!full)
          try {
            r.s = 1;
            s.put(r);
          } catch (e) {
            fail(e); // not storable (a function inside): memory only from now on
          }
      // commit now, not once the page's next task has run: the shortest window for a dying page
      s.transaction.commit?.();
    }).catch(fail);
  };
  const op = (r: Rec, put: boolean) => {
    if (put || r.s) ops.set(r, put);
    else ops.delete(r);
    if (!due) queueMicrotask(flush);
    due = true;
  };
  const drop = (m: unknown) => {
    const r = held.get(key(m));
    if (r) {
      held.delete(key(m));
      op(r, false);
    }
  };
  const resend = () => {
    const now = Date.now();
    for (const r of waiting.splice(0))
      if (now - r.k[0] > ttl) client.report(new WebSocketClientError('QUEUE_EXPIRED', undefined, r.m));
      else
        try {
          client.send(r.m as Out);
        } catch (e) {
          drop(r.m);
          client.report(e as WebSocketClientError);
        }
  };

  // Kept last among the plugins (see `use` below), so it sees messages as they go out, with the
  // ids `delivery` gives them, whichever was attached first.
  const tx: ClientPlugin<In, Out> = {
    send(msg, opts) {
      if (opts?.queue !== false && !held.has(key(msg))) {
        const r: Rec = { k: [Date.now(), me, ++n], o: me, m: msg };
        held.set(key(msg), r);
        op(r, true);
      }
      return msg;
    },
    // returns nothing: re-sending what a dying socket swallowed stays the client's job
    sent(msg) {
      if (!d) drop(msg);
    },
    open: resend,
  };
  const rx: ClientPlugin<In, Out> = {
    message(msg) {
      const m = msg as Record<string, unknown>;
      if (d && m.type === ackType) for (const id of [m.ids ?? m.id].flat()) drop(id);
      return undefined;
    },
  };
  const offRx = use.call(client, rx);
  let offTx = use.call(client, tx);
  c.use = (p: ClientPlugin<In, Out>) => {
    offTx();
    const off = use.call(client, p);
    offTx = use.call(client, tx);
    return off;
  };
  // a message the client reports (dropped by ttl or overflow, or on dispose) it has given up:
  // it must not come back on the next load
  c.report = (e: WebSocketClientError) => {
    drop(e.data);
    report.call(client, e);
  };

  const start = async (): Promise<number> => {
    const idb = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (!idb) throw 'no IndexedDB';
    const open = idb.open(lock);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: 'k' });
    const base = await new Promise<IDBDatabase>((resolve, reject) => {
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const mine: Rec[] = [];
    const take = async () => {
      // This load's own lock, held for its life (the browser releases it when the page goes):
      // while it is held, no other tab takes over what this load stored.
      if (locks)
        await new Promise<void>((granted) =>
          locks.request(lock + me, () => {
            granted();
            return new Promise<void>((r) => (release = r));
          }),
        );
      if (db === null) {
        // stopped meanwhile
        release?.();
        return base.close();
      }
      // this load's own writes may start: no other load takes them over now
      db = base;
      flush();
      const live = new Set(locks ? (await locks.query()).held!.map((l) => l.name) : []);
      // One transaction: two tabs taking over the same dead load cannot both get a message.
      await run(base, (s) => {
        const all = s.getAll();
        all.onsuccess = () => {
          for (const r of all.result as Rec[])
            if (r.o !== me && !live.has(lock + r.o)) {
              r.o = me;
              s.put(r);
              mine.push(r);
            }
        };
      });
    };
    // Under the name's lock: a load starting meanwhile gets its own lock (and writes) only after
    // this look at which loads are alive and the transaction that takes over the others'.
    await (locks ? locks.request(lock, take) : take());
    for (const r of mine) held.set(key(r.m), r);
    waiting = [...mine];
    if (client.state === 'open') resend();
    return mine.length;
  };

  const restored = start().catch((e) => {
    fail(e);
    db = null;
    return 0;
  });

  return {
    restored,
    stop() {
      flush();
      offRx();
      offTx();
      // back to the client's own methods
      delete c.use;
      delete c.report;
      db?.close(); // after the transactions already issued
      db = null;
      release?.(); // not granted yet: `take` releases it
    },
  };
};
