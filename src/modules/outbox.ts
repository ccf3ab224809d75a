import { type ClientPlugin, type Message, type WebSocketClient, WebSocketClientError } from 'resilient-ws';
import { checkOptions } from './check';

/** Options of {@link outbox}. */
export interface OutboxOptions {
  /** Which outbox: a later load with the same name sends what this one left behind. */
  name: string;
  /**
   * A message older than this, ms since its original `send()`, is not sent after a reload but
   * dropped with `QUEUE_EXPIRED`: the client's `queue.ttl` by default, so one clock runs across
   * reloads. @default the client's `queue.ttl` (`Infinity` without a queue)
   */
  ttl?: number;
  /**
   * `delivery` is attached to the client too: keep each message until the server acknowledges
   * it, not only until it is written. `true`, or the `idKey` and `ackType` given to `delivery`.
   * @default false
   */
  delivery?:
    | boolean
    | {
        /** The field carrying a message's id. @default 'id' */
        idKey?: string;
        /** The type of the server's acknowledgements. @default 'ack' */
        ackType?: string;
      };
  /** The IndexedDB to store in. @default globalThis.indexedDB */
  indexedDB?: IDBFactory;
}

/** A running outbox; see {@link outbox}. */
export interface Outbox {
  /**
   * Resolves, never rejects, with how many messages of earlier loads this one took over (after
   * waiting up to 1 s for the lock of each other load that stored some, as a page being
   * reloaded can hold it a moment longer than it lives).
   */
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
/** Longest wait, ms, of new sends for the store to be read (see `restored`). */
const HOLD = 3000;

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
  if (__DEV__) checkOptions('outbox', options, ['name', 'ttl', 'delivery', 'indexedDB']);
  const q = client.options.queue;
  const { name, ttl = q ? q.ttl : Infinity, delivery: d } = options;
  const { idKey = 'id', ackType = 'ack' } = d === true ? {} : d || {};
  const me = `${Math.random()}`;
  /** the database's name; with a load's id after it, that load's lock */
  const lock = `resilient-ws/outbox/${name}/`;
  const locks = (globalThis as { navigator?: Navigator }).navigator?.locks;
  const c = client as unknown as { use?: unknown; report?: unknown };
  const { use, report } = client;
  /** held messages, by delivery id or else by the message itself */
  const held = new Map<unknown, Rec>();
  /** what the next transaction writes: true puts, false deletes */
  const ops = new Map<Rec, boolean>();
  /** restored, to send on the next open */
  const waiting: Rec[] = [];
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
    run(db, (s) => {
      for (const [r, put] of ops)
        if (!put) s.delete(r.k);
        else if (!full)
          try {
            r.s = 1;
            s.put(r);
          } catch (e) {
            fail(e); // not storable (a function inside): memory only from now on
          }
      ops.clear();
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
    const k = key(m);
    const r = held.get(k);
    if (r) {
      held.delete(k);
      op(r, false);
    }
  };
  /** Send what was taken over, if the client can: on open, or when taken over while open. */
  const resend = () => {
    const now = Date.now();
    if (client.state === 'open')
      for (const r of waiting.splice(0))
        if (now - r.k[0] > ttl) client.report(new WebSocketClientError('QUEUE_EXPIRED', undefined, r.m));
        else
          try {
            client.send(r.m as Out);
          } catch (e) {
            // reported with the message as `data`: that also forgets it (see `report` below)
            client.report(e as WebSocketClientError);
          }
  };

  // New sends wait in the client's queue until what earlier loads left has been read (at most
  // HOLD ms), so that goes first; then the hold ends with the restored messages written ahead.
  let free: ((first: () => void) => void) | undefined = client.hold();
  const go = () => {
    const f = free;
    free = undefined;
    f ? f(resend) : resend();
  };
  const bound = setTimeout(go, HOLD);

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
      if (d && m[client.options.typeKey] === ackType) for (const id of [m.ids ?? m.id].flat()) drop(id);
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
    // This load's own lock, held for its life (the browser releases it when the page goes).
    // A load's messages are taken over only by whoever holds its lock, so never while it lives.
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
      base.close();
      return 0;
    }
    // this load's own writes may start
    db = base;
    flush();
    const owners = new Set<string>();
    const each = (fn: (r: Rec, s: IDBObjectStore) => void) =>
      run(base, (s) => {
        const all = s.getAll();
        all.onsuccess = () => {
          for (const r of all.result as Rec[]) fn(r, s);
        };
      });
    await each((r) => r.o !== me && owners.add(r.o));
    let count = 0;
    // One transaction per earlier load, under its lock: two tabs cannot both take a message.
    const take = (o: string) =>
      each((r, s) => {
        if (r.o === o) {
          r.o = me;
          s.put(r);
          held.set(key(r.m), r);
          waiting.push(r);
          count++;
        }
      }).then(() => {
        if (!free) resend(); // while the hold lasts, its end sends them
      });
    await Promise.all(
      [...owners].map((o) =>
        locks
          ? // A page being reloaded may hold its lock a moment longer than it lives: wait a
            // second for it. A load still alive after that keeps its messages.
            locks.request(lock + o, { signal: AbortSignal.timeout(1000) }, () => take(o)).catch(() => {})
          : take(o),
      ),
    );
    return count;
  };

  const restored = start().catch((e) => {
    fail(e);
    db = null;
    return 0;
  });
  restored.then(() => {
    clearTimeout(bound);
    go();
  });

  return {
    restored,
    stop() {
      clearTimeout(bound);
      free?.(() => {});
      free = undefined;
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
