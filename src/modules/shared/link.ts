import {
  type ClientOptions,
  type CloseInfo,
  type ErrorCode,
  type Message,
  type State,
  WebSocketClient,
  type WebSocketConstructor,
  type WebSocketLike,
} from 'resilient-ws';

// Timings of the election, ms. The leader posts every TICK (posts are tiny, and a post each tick
// keeps the code shortest); a follower that has heard
// nothing from it for STEAL (plus up to JITTER, so that two followers rarely both do) takes the
// lock over. The leader writes only while its last post is
// younger than LEASE (< STEAL): every follower's deadline lies after that, so a leader whose
// event loop stalled cannot write past the moment it may have been replaced without checking
// first. A background tab's timers run about once a second, which these numbers allow for.
// biome-ignore lint/suspicious/noConstEnum: local to this file, so the build writes the numbers in where they are used
const enum Ms {
  TICK = 200,
  /** how long a leader whose connection ended for good waits before it lets go of the lock */
  BEAT = 400,
  LEASE = 1200,
  STEAL = 1300,
  // biome-ignore lint/suspicious/noDuplicateEnumValues: a span of time that happens to equal TICK
  JITTER = 200,
}

/**
 * What tabs say to each other over the channel: `[kind, term, a, b, c]`, short because every
 * frame of every tab goes through it. The term names the reign of a leader: its whole part
 * counts the reigns, its random fraction tells apart two tabs that took over at once, so a
 * later reign has the greater term. Kinds and what `a`, `b`, `c` are:
 * - 0 a tab joined and wants to know the state
 * - 1 (no term) tab `term`'s frames up to number `a` are written
 * - 2 tab `a` asks the leader of the term to write its frame number `b`, data `c`
 * - 3 (from a leader, as are 4–6) the state `a` of its connection, and the close info `b`;
 *   any post of a leader is a sign of life
 * - 4 a frame `a` from the server
 * - 5 an error: code `a`, message `b`
 * - 6 a heartbeat round trip `a`, ms
 */
// biome-ignore lint/suspicious/noExplicitAny: the fields depend on the kind; see above
type Said = [kind: number, term?: number, a?: any, b?: any, c?: any];

/** A frame a tab handed over for the leader to write: its number and data. */
type Frame = [q: number, d: unknown];

/** One tab's part in a shared connection; see {@link link}. */
export interface Link<In extends Message, Out> {
  /** The options of this tab's client: the app's, with a stand-in socket that talks to the leader. */
  _options: ClientOptions<In, Out>;
  /**
   * This tab stops taking part; a leader hands over, the last one closes the socket. The link is
   * a plugin of the tab's client for this: the client calls it as the app closes or disposes it.
   */
  close(): void;
  /** The leader's client, while this tab leads. */
  _hub?: WebSocketClient<In, Out>;
  /** The leader's last heartbeat round trip. */
  _latency?: number;
  /** Listen to the leader's heartbeat round trips; returns the unsubscribe function. */
  _onLatency(listener: (ms: number) => void): () => void;
}

/**
 * One tab's part in sharing a connection: it elects a leader with a Web Lock, talks to the other
 * tabs over a BroadcastChannel, stands in for the socket of this tab's client, and while it
 * leads runs the real client (the hub) for every tab.
 */
export const link = <In extends Message, Out>(
  key: string,
  o: ClientOptions<In, Out>,
  /** reports an error the leader's client met (its code and message), through this tab's client */
  report: (code: ErrorCode, message: string) => void,
  locks: LockManager = navigator.locks,
): Link<In, Out> => {
  // how long this tab waits on a silent leader; random, so it also names the tab
  const id = Ms.STEAL + Math.random() * Ms.JITTER;
  const now = () => Date.now();
  let ch: BroadcastChannel | undefined;
  /** aborts the lock request waiting in line (aborting one already granted does nothing) */
  let ac: AbortController | undefined;
  let tick: ReturnType<typeof setInterval>;
  /** when the tick last ran, and when the current leader was last heard */
  let ran: number;
  let seen: number;
  /** the current leader's term (see {@link Said}), and the state of its connection */
  let n = 0;
  let state: State | undefined;
  /** the client's current stand-in socket */
  let ws: WebSocketLike | undefined;
  /** frames sent and not yet confirmed written, and the term they were last sent to */
  let seq = 0;
  let pending: Frame[] = [];
  let sentTo: number | undefined;
  /** this tab's listeners to the leader's heartbeat round trips */
  const heard = new Set<(ms: number) => void>();
  /** frames of the current connection that came while the client was between sockets */
  let inbox: unknown[] = [];

  // ---- while leading ----
  let hub: WebSocketClient<In, Out> | undefined;
  let release: (() => void) | undefined;
  /** this tab's id in the lock manager, to see whether it still holds the lock */
  let me: string | undefined;
  /** when the leader last posted */
  let said: number;
  /** work held while the leader checks it still leads */
  let held: (() => void)[] | undefined;
  /** the last socket write went out */
  let wrote: boolean;
  /** the frame the hub is dispatching, as it came */
  let raw: unknown;
  /** the frame of a tab the hub's client is given: written as it came */
  let frame: unknown;

  // Called with `new` by the client, it returns the object it makes (a function declaration,
  // not an arrow: only those can be called with `new`). The client sets the handlers it needs.
  function socket(): WebSocketLike {
    const s = {
      readyState: 0,
      send: (d: unknown) => {
        // the data becomes the frame: its number and the data
        pending.push((d = [++seq, d] as Frame));
        out(d as Frame);
      },
      // the client forgets the socket as it closes it
      close: leave,
    };
    ws = s as unknown as WebSocketLike;
    if (!ch) {
      ch = new BroadcastChannel(key);
      ch.onmessage = (e) => on(e.data);
      // (not `ran`: its first tick, late or not, comes long before a leader could be judged silent)
      seen = now();
      // every TICK: the leader shows it is alive; a follower checks that the leader is
      tick = setInterval(() => {
        const t = now();
        if (hub) say(3, hub.state);
        // a tick far behind means this tab's own timers were held up (frozen, throttled): the
        // leader's silence says nothing then, so wait another round before judging it
        else if (t - ran <= Ms.STEAL && t - seen > id) {
          seen = t;
          request(true);
        }
        ran = t;
      }, Ms.TICK);
      request();
      post([0]);
    }
    // the client sets its handlers after making the socket
    queueMicrotask(sync);
    return ws;
  }

  const leave = () => {
    const c = ch;
    if (!c) return;
    // first out of the channel and away from the stand-in (the client is done with it): a
    // leader steps down, leaves the stand-in alone and does not line up again
    ch = ws = state = undefined;
    deposed();
    clearInterval(tick);
    ac?.abort();
    c.close();
    // (frames held for the stand-in go at the first sync of a rejoin, as the state is unknown then)
    pending = [];
  };

  const self: Link<In, Out> = {
    _options: {
      ...o,
      // the leader authenticates, runs the heartbeat and decides when to reconnect, for every tab
      url: 'ws://-',
      WebSocket: socket as unknown as WebSocketConstructor,
      auth: undefined,
      heartbeat: false,
      authFailureCodes: [],
      connectTimeout: 2e9,
      // once the shared connection ended for good, the tab's client closes rather than reconnect
      reconnect: { initialDelay: 0, shouldReconnect: () => state !== 'closed' },
    },
    close: leave,
    _onLatency: (f) => {
      heard.add(f);
      return () => heard.delete(f);
    },
  };

  // ---- this tab ----

  /**
   * Opens or closes (with `info`) the stand-in socket to match the shared connection. Not open:
   * an open stand-in closes (the frames held for it go); one still connecting waits on, unless
   * it is all over. By default it closes for a handover: not clean, so the client counts it as a
   * drop (and `wasClean` reads false when left out). The stand-in's handlers are always set:
   * the client sets them as it makes it, and clears them only as it closes it, which is when
   * this tab lets go of it (see `leave`).
   */
  const sync = (info = { code: 1001, reason: 'handover' } as CloseInfo) => {
    const s = ws as (WebSocketLike & { readyState: number }) | undefined;
    if (state !== 'open') {
      inbox = [];
      if (s && (s.readyState || state === 'closed')) {
        ws = undefined;
        s.readyState = 3;
        s.onclose!(info);
      }
    } else if (s) {
      if (!s.readyState) {
        // a new leader gets first what the last one may not have written, in order
        if (sentTo !== n) {
          sentTo = n;
          for (const f of pending) out(f);
        }
        s.readyState = 1;
        s.onopen!({});
      }
      // then the frames of this connection so far
      for (const data of inbox) s.onmessage!({ data });
      inbox = [];
    }
  };

  /** Asks the current leader to write a frame. */
  const out = (f: Frame) => post([2, n, id, ...f]);

  /** Posts to every other tab, and to this one after the current task. */
  const post = (m: Said) => {
    ch?.postMessage(m);
    queueMicrotask(() => on(m));
  };

  const on = (m: Said) => {
    const [k, t, a, b] = m;
    if (!ch) return;
    if (!k) hub && say(3, hub.state);
    else if (k < 2) t === id && (pending = pending.filter((f) => f[0] > a));
    // to this tab's reign: no other has its term
    // (work held by the fence runs only while the same reign goes on)
    else if (k < 3) hub && t === n && fenced(() => hub!.send((frame = m) as Out));
    // from a leader: an older one is not listened to; a newer one is a handover
    else if (t! >= n) {
      if (t! > n) {
        deposed();
        n = t!;
        state = undefined;
        sync();
      }
      seen = now();
      if (k < 4) {
        state = a;
        sync(b);
        // the leader's client gave up (closed for good, refused, out of attempts): so does every
        // tab, after the current task, unless its client has a stand-in again by then. The leader
        // lets go of the lock last, once the others are out of the line for it.
        if (a === 'closed') setTimeout(() => ws || leave(), hub ? Ms.BEAT : 0);
      } else if (k < 5) {
        // held for the stand-in; sync lets it go unless the connection is open
        inbox.push(a);
        sync();
      } else if (k < 6) {
        report(a, b);
      } else {
        self._latency = a;
        for (const f of heard) f(a);
      }
    }
  };

  // ---- the election ----

  /** Queue for the lock, or take it from a leader that stopped answering. */
  const request = (steal?: boolean) => {
    ac?.abort();
    locks
      .request(key, steal ? { steal } : { signal: (ac = new AbortController()).signal }, lead)
      // aborted while waiting (this tab does not lead then: a no-op), or stolen while leading
      .catch(deposed);
  };

  /** The id (in the lock manager) of the tab that holds the lock. */
  const holder = async () => (await locks.query()).held!.find((x) => x.name === key)?.clientId;

  const lead = async (): Promise<void> => {
    n = ~~n + 1 + Math.random();
    me = await holder();
    if (!ch) return;
    hub = self._hub = new WebSocketClient<In, Out>({
      ...o,
      // it connects a microtask later: its listeners are on by then
      autoConnect: true,
      // frames of other tabs pass through the hub's queue as they are; nothing is dropped there
      queue: { maxSize: Infinity },
      serialize: (m) => (m === frame ? (m as Said)[4] : (o.serialize ?? JSON.stringify)(m)),
      deserialize: (d) => (o.deserialize ?? JSON.parse)((raw = d) as string),
      WebSocket: class extends ((o.WebSocket ?? WebSocket) as unknown as typeof WebSocket) {
        // the fence: no write unless the lease is fresh. A refused one is never confirmed,
        // and the client took it for written: this reign can no longer vouch for its
        // frames, so it ends (outside the client's own call)
        send(d: never) {
          if ((wrote = !held && now() - said < Ms.LEASE)) super.send(d);
          else queueMicrotask(deposed);
        }
      },
    });
    hub.onStateChange((s, d) => say(3, s, d.closeInfo));
    // every message for the handlers goes to every tab as it came, typed or not (a tab without an
    // on('?') handler then reports it as INVALID_MESSAGE itself)
    const relay = () => say(4, raw);
    hub.on('*', relay);
    hub.on('?', relay);
    hub.onError((e) => say(5, e.code, e.message));
    hub.onLatency((ms) => say(6, ms));
    // every message the hub's client sends is a tab's frame (auth and pings are no messages)
    hub.use({ sent: (m) => void (wrote && post([1, (m as Said)[2], (m as Said)[3]])) });
    said = now();
    return new Promise((r) => (release = r));
  };

  /** Post as the leader, inside the fence (whose held work runs only while the same reign goes on). */
  const say = (k: number, a?: unknown, b?: unknown) =>
    hub &&
    fenced(() => {
      said = now();
      post([k, n, a, b]);
    });

  /**
   * Runs `f` now while the lease is fresh. Otherwise this leader may have been stalled long
   * enough to be replaced: `f`, and all that follows, in order, wait until the lock manager says
   * whether this tab still holds the lock. If not, it steps down.
   */
  const fenced = (f: () => void) => {
    if (held) return held.push(f);
    if (now() - said < Ms.LEASE) return f();
    const work = (held = [f]);
    holder().then((c) => {
      // a reign that ended meanwhile has nothing held here any more (stepping down drops it)
      if (held !== work) return;
      held = undefined;
      if (c !== me) return deposed();
      // still the leader: renew the lease, and post it before anything else
      said = now();
      say(3, hub!.state);
      for (const w of work) w();
    }, deposed);
  };

  /**
   * Lost the lock, or cannot vouch for this reign (or left): step down writing nothing (close
   * the socket, let go of the lock), and line up again unless this tab left.
   */
  const deposed = () => {
    const h = hub;
    if (!h) return;
    hub = self._hub = held = undefined;
    h.dispose();
    release!();
    // any later reign may speak now, also one that began with the same whole term
    n = ~~n;
    state = undefined;
    sync();
    seen = now();
    if (ch) request();
  };

  return self;
};
