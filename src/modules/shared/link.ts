import {
  type ClientOptions,
  type CloseInfo,
  type Message,
  type State,
  WebSocketClient,
  WebSocketClientError,
  type WebSocketConstructor,
  type WebSocketLike,
} from 'resilient-ws';

// Timings of the election, ms. The leader posts at least every BEAT; a follower that has heard
// nothing from it for STEAL (plus up to JITTER, so that two followers rarely both do) takes the
// lock over. The leader writes only while its last post is
// younger than LEASE (< STEAL): every follower's deadline lies after that, so a leader whose
// event loop stalled cannot write past the moment it may have been replaced without checking
// first. A background tab's timers run about once a second, which these numbers allow for.
const TICK = 200;
const BEAT = 400;
const LEASE = 1200;
const STEAL = 1300;
const JITTER = 200;

/** A frame a tab handed over for the leader to write: its sequence number and data. */
interface Frame {
  q: number;
  d: unknown;
}

/**
 * What tabs say to each other over the channel. `k`: the kind; `n`/`l`: the term (a number) and
 * the id of the leader that speaks or is spoken to.
 * - `b` the leader's state `s` (and close info `c`); any post of a leader is a sign of life
 * - `m` a frame `d` from the server; `e` an error (code `c`, text `t`); `t` a round trip `ms`
 * - `ok` tab `to`'s frames up to `q` are written; `s` tab `f` asks for its frame `q`, `d` to be written
 * - `h` a tab joined and wants to know the state
 */
// biome-ignore lint/suspicious/noExplicitAny: the fields depend on the kind; see above
type Said = { k: string; n?: number; l?: string } & Record<string, any>;

/** A frame from a tab on its way through the leader's client: never serialised again. */
class Raw {
  constructor(
    readonly d: unknown,
    readonly f: string,
    readonly q: number,
  ) {}
}

const HANDOVER: CloseInfo = { code: 1001, reason: 'handover', wasClean: false };

/** One tab's part in a shared connection; see {@link link}. */
export interface Link<In extends Message, Out> {
  /** The WebSocket class for this tab's client: a stand-in that talks to the leader. */
  _socket: WebSocketConstructor;
  /** This tab stops taking part; a leader hands over, the last one closes the socket. */
  _leave(): void;
  /** The leader's client, while this tab leads. */
  _hub?: WebSocketClient<In, Out>;
  /** The shared connection ended for good: the tab's client closes rather than reconnect. */
  _ended?: boolean;
  /** The leader's last heartbeat round trip. */
  _latency?: number;
}

/** Where the tab's client hears what the leader relays. */
export interface Owner {
  report(e: WebSocketClientError): void;
  heard(ms: number): void;
}

/**
 * One tab's part in sharing a connection: it elects a leader with a Web Lock, talks to the other
 * tabs over a BroadcastChannel, stands in for the socket of this tab's client, and while it
 * leads runs the real client (the hub) for every tab.
 */
export const link = <In extends Message, Out>(
  key: string,
  o: ClientOptions<In, Out>,
  owner: Owner,
  locks: LockManager = navigator.locks,
): Link<In, Out> => {
  const id = Math.random().toString(36).slice(2);
  const patience = STEAL + Math.random() * JITTER;
  let ch: BroadcastChannel | undefined;
  /** aborts the lock request waiting in line */
  let ac: AbortController | undefined;
  let tick: ReturnType<typeof setInterval>;
  /** when the tick last ran, and when the current leader was last heard */
  let ran: number;
  let seen: number;
  /** the current leader's term and id, and the state of its connection */
  let n = 0;
  let l: string | undefined;
  let state: State | undefined;
  /** the client's current stand-in socket */
  let ws: WebSocketLike | undefined;
  /** frames sent and not yet confirmed written, and the term they were last sent to */
  let seq = 0;
  let pending: Frame[] = [];
  let sentTo: string | undefined;
  /** frames of the current connection that came while the client was between sockets */
  let inbox: unknown[] = [];

  // ---- while leading ----
  let hub: WebSocketClient<In, Out> | undefined;
  let release: (() => void) | undefined;
  /** the lock this tab leads under, to tell whether a rejection concerns it */
  let lock: object | undefined;
  /** this tab's id in the lock manager, to see whether it still holds the lock */
  let me: string | undefined;
  /** when the leader last posted */
  let said: number;
  /** work held while the leader checks it still leads */
  let held: (() => void)[] | undefined;
  /** the last socket write went out; a refused one taints this reign */
  let wrote: boolean;
  let dirty: boolean;
  /** the frame the hub is dispatching, as it came */
  let raw: unknown;

  // Called with `new` by the client, it returns the object it makes (a function declaration,
  // not an arrow: only those can be called with `new`). The client sets the handlers it needs.
  function socket(): WebSocketLike {
    const s = {
      readyState: 0,
      send: (d: unknown) => {
        const f = { q: ++seq, d };
        pending.push(f);
        out(f);
      },
      close: () => {
        s.readyState = 3;
        leave();
      },
    };
    ws = s as unknown as WebSocketLike;
    if (!ch) {
      ch = new BroadcastChannel(key);
      ch.onmessage = (e) => on(e.data);
      self._ended = false;
      seen = ran = Date.now();
      tick = setInterval(check, TICK);
      request(false);
      post({ k: 'h' });
    }
    // the client sets its handlers after making the socket
    queueMicrotask(sync);
    return ws;
  }
  const self: Link<In, Out> = { _socket: socket as unknown as WebSocketConstructor, _leave: () => leave() };

  const leave = () => {
    if (!ch) return;
    resign();
    clearInterval(tick);
    ac?.abort();
    ch.close();
    ch = ws = l = state = undefined;
    pending = [];
    inbox = [];
  };

  // ---- this tab ----

  /** Opens or closes the stand-in socket to match the shared connection. */
  const sync = () => {
    if (!ws) return;
    if (state === 'open' && !ws.readyState) {
      // a new leader gets first what the last one may not have written, in order
      const term = `${n}:${l}`;
      if (sentTo !== term) {
        sentTo = term;
        for (const f of pending) out(f);
      }
      (ws as { readyState: number }).readyState = 1;
      ws.onopen?.({});
      for (const data of inbox.splice(0)) ws.onmessage?.({ data });
    } else if (state !== 'open') drop(HANDOVER);
  };

  /** Closes the stand-in socket if open; one still connecting waits on, unless it is all over. */
  const drop = (info: CloseInfo) => {
    const s = ws;
    inbox = [];
    if (!s || (s.readyState !== 1 && !self._ended)) return;
    ws = undefined;
    (s as { readyState: number }).readyState = 3;
    s.onclose?.(info);
  };

  /** Asks the current leader to write a frame. */
  const out = ({ q, d }: Frame) => post({ k: 's', n, l, f: id, q, d });

  /** Posts to every other tab, and to this one after the current task. */
  const post = (m: Said) => {
    ch?.postMessage(m);
    queueMicrotask(() => on(m));
  };

  const on = (m: Said) => {
    if (!ch) return;
    const { k, n: mn = 0, l: ml = '' } = m;
    if (k === 'h') return hub && say({ k: 'b', s: hub.state });
    if (k === 'ok') {
      if (m.to === id) pending = pending.filter((f) => f.q > m.q);
      return;
    }
    if (k === 's') {
      const h = hub;
      if (h && mn === n && ml === id) fenced(() => h.send(new Raw(m.d, m.f, m.q) as Out));
      return;
    }
    // from a leader: an older one is not listened to; a newer one is a handover
    if (mn < n || (mn === n && l && ml < l)) return;
    if (mn > n || ml !== l) {
      deposed();
      n = mn;
      l = ml;
      state = undefined;
      drop(HANDOVER);
    }
    seen = Date.now();
    if (k === 'b') {
      state = m.s;
      if (m.s === 'closed') {
        // the leader's client gave up (closed for good, refused, out of attempts): so does every
        // tab. The leader lets go of the lock last, once the others are out of the line for it.
        self._ended = true;
        drop(m.c ?? HANDOVER);
        if (!hub) return leave();
        return void setTimeout(() => ws || leave(), BEAT);
      }
      if (m.s !== 'open') drop(m.c ?? HANDOVER);
      sync();
    } else if (k === 'm') {
      if (ws?.readyState === 1) ws.onmessage?.({ data: m.d });
      else if (state === 'open') inbox.push(m.d);
    } else if (k === 'e') owner.report(new WebSocketClientError(m.c, m.t));
    else if (k === 't') owner.heard((self._latency = m.ms));
  };

  /** Every TICK: the leader shows it is alive; a follower checks that the leader is. */
  const check = () => {
    const now = Date.now();
    // a tick far behind means this tab's own timers were held up (frozen, throttled): the
    // leader's silence says nothing then, so wait another round before judging it
    const late = now - ran > STEAL;
    ran = now;
    if (hub) {
      if (now - said >= BEAT) say({ k: 'b', s: hub.state });
    } else if (!late && now - seen > patience) {
      seen = now;
      request(true);
    }
  };

  // ---- the election ----

  /** Queue for the lock, or take it from a leader that stopped answering. */
  const request = (steal: boolean) => {
    ac?.abort();
    const a = (ac = new AbortController());
    const mine = {};
    locks
      .request(key, steal ? { steal } : { signal: a.signal }, () => lead(mine))
      // aborted while waiting, or stolen while leading: only the latter concerns us
      .catch(() => lock === mine && deposed());
  };

  const lead = async (mine: object): Promise<void> => {
    ac = undefined;
    // tell the others at once, before any of them decides to take over too
    n++;
    l = id;
    post({ k: 'b', n, l, s: 'connecting' });
    const h = (await locks.query()).held;
    if (!ch) return;
    me = h?.find((x) => x.name === key)?.clientId;
    lock = mine;
    dirty = false;
    const ser = o.serialize ?? JSON.stringify;
    const des = o.deserialize;
    const Native = (o.WebSocket ?? globalThis.WebSocket) as unknown as typeof WebSocket;
    const c =
      (hub =
      self._hub =
        new WebSocketClient<In, Out>({
          ...o,
          autoConnect: false,
          // frames of other tabs pass through the hub's queue as they are; nothing is dropped there
          queue: { maxSize: Infinity },
          serialize: (m) => (m instanceof Raw ? m.d : ser(m)) as string,
          deserialize: (d) => {
            raw = d;
            return des ? des(d) : JSON.parse(d as string);
          },
          WebSocket:
            Native &&
            class extends Native {
              // the fence: no write unless the lease is fresh, and a refused one is never confirmed
              send(d: never) {
                if ((wrote = !held && Date.now() - said < LEASE)) super.send(d);
                else {
                  dirty = true;
                  fenced(() => {});
                }
              }
            },
        }));
    c.onStateChange((s, d) => say({ k: 'b', s, c: d.closeInfo }));
    c.on('*', () => {
      const d = raw;
      say({ k: 'm', d });
    });
    c.onError((e) => say({ k: 'e', c: e.code, t: e.message }));
    c.onLatency((ms) => say({ k: 't', ms }));
    c.use({
      sent: (m) => {
        if (m instanceof Raw && wrote) post({ k: 'ok', to: m.f, q: m.q });
      },
    });
    said = Date.now();
    c.connect();
    return new Promise((r) => (release = r));
  };

  /** Post as the leader, inside the fence. */
  const say = (m: Said) => {
    const h = hub;
    if (h)
      fenced(() => {
        if (hub !== h) return;
        said = Date.now();
        post({ ...m, n, l: id });
      });
  };

  /**
   * Runs `f` now while the lease is fresh. Otherwise this leader may have been stalled long
   * enough to be replaced: `f`, and all that follows, in order, wait until the lock manager says
   * whether this tab still holds the lock. If not, or if a socket write was refused meanwhile,
   * it steps down.
   */
  const fenced = (f: () => void) => {
    if (held) return held.push(f);
    if (Date.now() - said < LEASE) return f();
    held = [f];
    const h = hub;
    locks.query().then(({ held: now }) => {
      const work = held ?? [];
      held = undefined;
      if (hub !== h) return;
      if (dirty || !now?.some((x) => x.name === key && x.clientId === me)) return deposed();
      // still the leader: renew the lease with a post before anything else
      said = Date.now();
      say({ k: 'b', s: h!.state });
      for (const w of work) w();
    }, deposed);
  };

  /** Lost the lock, or cannot vouch for this reign: step down writing nothing, line up again. */
  const deposed = () => {
    if (!resign()) return;
    l = state = undefined;
    drop(HANDOVER);
    seen = Date.now();
    if (ch) request(false);
  };

  /** Stop leading: close the socket, let go of the lock. Returns whether this tab was leading. */
  const resign = (): boolean => {
    const h = hub;
    if (!h) return false;
    hub = self._hub = lock = held = undefined;
    h.dispose();
    release?.();
    return true;
  };

  return self;
};
