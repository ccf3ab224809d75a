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
// nothing from it for STEAL takes the lock over. The leader writes only while its last post is
// younger than LEASE (< STEAL): any follower's deadline lies after that, so a leader whose event
// loop stalled cannot write past the moment it may have been replaced without checking first.
// A background tab's timers run about once a second, which these numbers allow for.
const TICK = 200;
const BEAT = 400;
const LEASE = 1200;
const STEAL = 1500;

/** A frame a tab handed over for the leader to write: sequence number and data. */
interface Frame {
  q: number;
  d: unknown;
}

/**
 * What tabs say to each other. `k`: the kind; `n`/`l`: the term (number) and id of the leader
 * that speaks or is spoken to.
 * - `b` the leader's state `s` (and close info `c`), also a sign of life
 * - `m` a frame `d` the server sent; `e` an error (`c` code, `t` text); `t` a round trip `ms`
 * - `ok` every frame of tab `to` up to `q` is written; `s` tab `f` asks for frame `q`, `d` to be written
 * - `h` a tab joined and wants the state
 */
// biome-ignore lint/suspicious/noExplicitAny: the fields depend on the kind; see above
type Said = { k: string; n?: number; l?: string } & Record<string, any>;

/** A frame from another tab, on its way through the leader's client: never serialised again. */
class Raw {
  constructor(
    readonly d: unknown,
    readonly f: string,
    readonly q: number,
  ) {}
}

const HANDOVER: CloseInfo = { code: 1001, reason: 'handover', wasClean: false };

/**
 * One tab's part in sharing a connection: it elects a leader with a Web Lock, talks to the other
 * tabs over a BroadcastChannel, stands in for the socket of this tab's client, and while it
 * leads runs the real client (the hub) for every tab.
 */
export class Link<In extends Message, Out> {
  /** this participant, in messages */
  private _id = Math.random().toString(36).slice(2);
  private _ch?: BroadcastChannel;
  /** aborts the lock request waiting in line */
  private _ac?: AbortController;
  private _tick?: ReturnType<typeof setInterval>;
  /** when the tick last ran: a late one means this tab was stalled itself */
  private _ran = 0;
  /** the current leader's term and id, and the state of its connection */
  private _n = 0;
  private _l = '';
  private _s: State = 'idle';
  /** when the current leader was last heard */
  private _seen = 0;
  /** the client's current stand-in socket */
  private _ws?: WebSocketLike;
  /** frames sent and not yet confirmed written, and the term they were last sent to */
  private _q = 0;
  private _pending: Frame[] = [];
  private _to = '';
  /** frames of the current connection that came while the client was between sockets */
  private _inbox: unknown[] = [];
  /** the shared connection ended for good: the client closes rather than reconnect */
  ended = false;
  /** the last heartbeat round trip */
  latency?: number;

  // ---- while leading ----
  hub?: WebSocketClient<In, Out>;
  /** lets go of the lock */
  private _release?: () => void;
  /** the lock this participant leads under, to tell whether a rejection concerns it */
  private _lock?: object;
  /** this tab's id in the lock manager, to see whether it still holds the lock */
  private _me?: string;
  /** when the leader last posted */
  private _said = 0;
  /** work held while the leader checks it still leads */
  private _held?: (() => void)[];
  /** the last socket write went out; a refused one taints this reign */
  private _wrote = false;
  private _dirty = false;
  /** the frame being dispatched by the hub, as received */
  private _raw: unknown;

  /** the tab's client, for the errors and round trips the leader relays; set once it exists */
  owner?: { report(e: WebSocketClientError): void; heard(ms: number): void };

  constructor(
    private _key: string,
    private _o: ClientOptions<In, Out>,
    private _locks: LockManager = navigator.locks,
  ) {}

  /** The WebSocket class this tab's client uses: a stand-in that talks to the leader. */
  socket(): WebSocketConstructor {
    const link = this;
    return class implements WebSocketLike {
      readyState = 0;
      bufferedAmount = 0;
      binaryType = 'arraybuffer';
      onopen: WebSocketLike['onopen'] = null;
      onclose: WebSocketLike['onclose'] = null;
      onmessage: WebSocketLike['onmessage'] = null;
      onerror: WebSocketLike['onerror'] = null;
      constructor() {
        link._attach(this);
      }
      send(d: unknown) {
        link._send(d);
      }
      close(code = 1000, reason = '') {
        // what a real socket refuses, this one refuses too
        if (code !== 1000 && !(code >= 3000 && code < 5000))
          throw new DOMException(`code ${code}`, 'InvalidAccessError');
        if (new TextEncoder().encode(reason).length > 123) throw new DOMException('reason too long', 'SyntaxError');
        this.readyState = 3;
        link.leave();
      }
    };
  }

  /** This tab stops taking part; a leader hands over. */
  leave(): void {
    const ch = this._ch;
    if (!ch) return;
    this._ch = undefined;
    this._resign();
    clearInterval(this._tick);
    this._ac?.abort();
    ch.close();
    this._ws = undefined;
    this._pending = [];
    this._inbox = [];
    this._l = '';
    this._s = 'idle';
  }

  // ---- this tab ----

  private _attach(ws: WebSocketLike): void {
    this._ws = ws;
    if (!this._ch) {
      const ch = (this._ch = new BroadcastChannel(this._key));
      ch.onmessage = (e) => this._on(e.data);
      this.ended = false;
      this._seen = this._ran = Date.now();
      this._tick = setInterval(() => this._check(), TICK);
      this._request(false);
      this._post({ k: 'h' });
    }
    // the client sets its handlers after constructing the socket
    queueMicrotask(() => this._sync());
  }

  /** Opens or closes the stand-in socket to match the shared connection. */
  private _sync(): void {
    const ws = this._ws;
    if (!ws) return;
    if (this._s === 'open' && !ws.readyState) {
      // a new leader gets first what the last one may not have written, in order
      const term = `${this._n}:${this._l}`;
      if (this._to !== term) {
        this._to = term;
        for (const f of this._pending) this._post({ k: 's', n: this._n, l: this._l, f: this._id, q: f.q, d: f.d });
      }
      (ws as { readyState: number }).readyState = 1;
      ws.onopen?.({});
      for (const data of this._inbox.splice(0)) ws.onmessage?.({ data });
    } else if (this._s !== 'open') this._drop(HANDOVER);
  }

  /** Closes the stand-in socket if open; one still connecting waits on, unless it is all over. */
  private _drop(info: CloseInfo): void {
    const ws = this._ws;
    this._inbox = [];
    if (!ws || (ws.readyState !== 1 && !this.ended)) return;
    this._ws = undefined;
    (ws as { readyState: number }).readyState = 3;
    ws.onclose?.(info);
  }

  private _send(d: unknown): void {
    const f = { q: ++this._q, d };
    this._pending.push(f);
    this._post({ k: 's', n: this._n, l: this._l, f: this._id, q: f.q, d });
  }

  /** Posts to every other tab, and to this one after the current task. */
  private _post(m: Said): void {
    this._ch?.postMessage(m);
    queueMicrotask(() => this._on(m));
  }

  private _on(m: Said): void {
    if (!this._ch) return;
    const { k, n = 0, l = '' } = m;
    if (k === 'h') return void (this.hub && this._say({ k: 'b', s: this.hub.state }));
    if (k === 'ok') {
      if (m.to === this._id) this._pending = this._pending.filter((f) => f.q > m.q);
      return;
    }
    if (k === 's') {
      const hub = this.hub;
      if (hub && n === this._n && l === this._id) this._fenced(() => hub.send(new Raw(m.d, m.f, m.q) as Out));
      return;
    }
    // from a leader: an older one is not listened to; a newer one is a handover
    if (n < this._n || (n === this._n && l < this._l)) return;
    if (n > this._n || l !== this._l) {
      if (this.hub) this._deposed();
      this._n = n;
      this._l = l;
      this._s = 'connecting';
      this._drop(HANDOVER);
    }
    this._seen = Date.now();
    if (k === 'b') {
      this._s = m.s;
      if (m.s === 'closed') {
        // the leader's client gave up (closed for good, refused, out of attempts): so does every tab
        this.ended = true;
        this._drop(m.c ?? HANDOVER);
        return this.leave();
      }
      if (m.s !== 'open') this._drop(m.c ?? HANDOVER);
      this._sync();
    } else if (k === 'm') {
      const ws = this._ws;
      if (ws?.readyState === 1) ws.onmessage?.({ data: m.d });
      else if (this._s === 'open') this._inbox.push(m.d);
    } else if (k === 'e') this.owner?.report(new WebSocketClientError(m.c, m.t));
    else if (k === 't') this.owner?.heard((this.latency = m.ms));
  }

  /** Every TICK: the leader shows it is alive; a follower checks the leader is. */
  private _check(): void {
    const now = Date.now();
    // a tick far behind means this tab's own timers were held up (frozen, throttled): the
    // leader's silence says nothing then, so wait another round before judging it
    const late = now - this._ran > STEAL;
    this._ran = now;
    if (this.hub) {
      if (now - this._said >= BEAT) this._say({ k: 'b', s: this.hub.state });
    } else if (!late && now - this._seen > STEAL) {
      this._seen = now;
      this._request(true);
    }
  }

  // ---- the election ----

  /** Queue for the lock, or take it from a leader that stopped answering. */
  private _request(steal: boolean): void {
    this._ac?.abort();
    const ac = (this._ac = new AbortController());
    const lock = {};
    this._locks
      .request(this._key, steal ? { steal } : { signal: ac.signal }, () => this._lead(lock))
      // aborted while waiting, or stolen while leading: only the latter concerns us
      .catch(() => this._lock === lock && this._deposed());
  }

  private async _lead(lock: object): Promise<void> {
    this._ac = undefined;
    const held = (await this._locks.query()).held;
    if (!this._ch) return;
    this._me = held?.find((h) => h.name === this._key)?.clientId;
    this._lock = lock;
    this._dirty = false;
    const o = this._o;
    const ser = o.serialize ?? JSON.stringify;
    const des = o.deserialize;
    const Native = (o.WebSocket ?? globalThis.WebSocket) as unknown as typeof WebSocket;
    const link = this;
    const hub = new WebSocketClient<In, Out>({
      ...o,
      autoConnect: false,
      // frames of other tabs pass through the hub's queue as they are; nothing is dropped there
      queue: { maxSize: Infinity },
      serialize: (m) => (m instanceof Raw ? m.d : ser(m)) as string,
      deserialize: (d) => ((this._raw = d), des ? des(d) : JSON.parse(d as string)),
      WebSocket:
        Native &&
        class extends Native {
          // the fence: no write unless the lease is fresh; a refused one is never confirmed
          send(d: never) {
            if ((link._wrote = !link._held && Date.now() - link._said < LEASE)) super.send(d);
            else {
              link._dirty = true;
              link._fenced(() => {});
            }
          }
        },
    });
    this.hub = hub;
    hub.onStateChange((s, d) => this._say({ k: 'b', s, c: d.closeInfo }));
    hub.on('*', () => {
      const d = this._raw;
      this._say({ k: 'm', d });
    });
    hub.onError((e) => this._say({ k: 'e', c: e.code, t: e.message }));
    hub.onLatency((ms) => this._say({ k: 't', ms }));
    hub.use({
      sent: (m) => {
        if (m instanceof Raw && this._wrote) this._post({ k: 'ok', to: m.f, q: m.q });
      },
    });
    this._n++;
    this._l = this._id;
    this._s = 'connecting';
    this._drop(HANDOVER);
    this._said = Date.now();
    this._say({ k: 'b', s: 'connecting' });
    hub.connect();
    return new Promise((r) => (this._release = r));
  }

  /** Post as the leader, inside the fence. */
  private _say(m: Said): void {
    const hub = this.hub;
    if (hub)
      this._fenced(() => {
        if (this.hub !== hub) return;
        this._said = Date.now();
        this._post({ ...m, n: this._n, l: this._id });
      });
  }

  /**
   * Run `f` now while the lease is fresh. Otherwise this leader may have been stalled long enough
   * to be replaced: hold `f` (and all that follows, in order) until the lock manager says whether
   * this tab still holds the lock. If not, or if a socket write was refused meanwhile, step down.
   */
  private _fenced(f: () => void): void {
    if (this._held) return void this._held.push(f);
    if (Date.now() - this._said < LEASE) return f();
    this._held = [f];
    const hub = this.hub;
    this._locks.query().then(({ held }) => {
      const work = this._held ?? [];
      this._held = undefined;
      if (this.hub !== hub) return;
      if (this._dirty || !held?.some((h) => h.name === this._key && h.clientId === this._me)) return this._deposed();
      // still the leader: renew the lease with a post before anything else
      this._said = Date.now();
      this._say({ k: 'b', s: hub!.state });
      for (const w of work) w();
    }, this._deposed.bind(this));
  }

  /** Lost the lock, or cannot vouch for this reign: step down writing nothing, line up again. */
  private _deposed(): void {
    if (!this._resign()) return;
    this._l = '';
    this._s = 'idle';
    this._drop(HANDOVER);
    this._seen = Date.now();
    if (this._ch) this._request(false);
  }

  /** Stop leading: close the socket, let go of the lock. Returns whether this tab was leading. */
  private _resign(): boolean {
    const hub = this.hub;
    if (!hub) return false;
    this.hub = this._lock = this._held = undefined;
    hub.dispose();
    this._release?.();
    return true;
  }
}
