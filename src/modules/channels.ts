import {
  type ClientPlugin,
  type Message,
  type SendResult,
  type WebSocketClient,
  WebSocketClientError,
} from 'resilient-ws';
import { type RefreshOptions, tokenRefresh } from './channels-refresh';
import { checkOptions } from './check';

/** Where a channel is: see {@link Channel.onStateChange}. */
export type ChannelState = 'subscribing' | 'subscribed' | 'unsubscribed' | 'failed';

/** What came with a channel's state change. */
export interface ChannelStateDetail {
  /** On `subscribed` after a re-subscribe with a position: whether every missed publication follows (`false`: a gap, reported). */
  recovered?: boolean;
  /** On `failed`: the server's reason. */
  reason?: string;
}

/** A channel's position: the stream's identity (`epoch`) and the offset of the last publication delivered. */
export interface Position {
  /** the stream's identity: a new epoch means the server lost the stream (a gap) */
  epoch: string;
  /** the publication's place in the stream, increasing within an epoch */
  offset: number;
}

/** A member of a channel, as the server describes it: at least the stable `client` id. */
export interface Member {
  /** the client id the member's `channels()` sent (one per page, kept across reconnects) */
  client: string;
  /** the authenticated user, when the server says */
  user?: string;
  [key: string]: unknown;
}

/** Who is in a channel now. */
export interface Presence {
  /** the members, in the order they joined */
  readonly members: readonly Member[];
  /**
   * Listen to changes: the members now, and who joined and left. A re-synchronisation after a
   * reconnect calls it only for a real difference. Returns the unsubscribe function.
   */
  onChange(listener: (members: readonly Member[], change: { joined: Member[]; left: Member[] }) => void): () => void;
}

/** Options of {@link Channels.subscribe}. */
export interface SubscribeOptions {
  /** Called once per gap (history trimmed, stream lost): reload the channel's state here. */
  onGap?: (channel: string) => void;
}

/** One subscribed channel; see {@link Channels.subscribe}. */
export interface Channel<T = unknown> {
  /** the channel's name */
  readonly name: string;
  /** where it is */
  readonly state: ChannelState;
  /** the last publication delivered, where the next re-subscribe recovers from */
  readonly position: Position | undefined;
  /** Each publication once, in order. Returns the unsubscribe function. */
  on(handler: (data: T, position: Position) => void): () => void;
  /** Listen to state changes. Returns the unsubscribe function. */
  onStateChange(listener: (state: ChannelState, detail: ChannelStateDetail) => void): () => void;
  /** the channel's members */
  readonly presence: Presence;
  /** Publish to the channel: through `client.send`, so delivery (if on) gives it an id until acknowledged. */
  publish(data: T): SendResult;
  /** Leave the channel for good (state `unsubscribed`); `subscribe(name)` makes a new one. */
  unsubscribe(): void;
}

/** Options of {@link channels}. */
export interface ChannelsOptions {
  /** The id this page is known by in presence, kept across reconnects. @default a random id per `channels()` */
  clientId?: string;
  /** Live token refresh (see {@link tokenRefresh}), or `false`. @default {} (on when the auth ack carries `expiresAt`) */
  refresh?: RefreshOptions | false;
}

/** The channels of one client; see {@link channels}. */
export interface Channels {
  /** the id sent as `client` in every `sub` */
  readonly clientId: string;
  /**
   * Subscribe (now if open, else on the next open) and on every open after that, from the
   * last position. The same name while subscribed returns the same channel.
   * @typeParam T - the type of the channel's publications
   */
  subscribe<T = unknown>(name: string, options?: SubscribeOptions): Channel<T>;
  /** Publish to a channel without subscribing to it (as {@link Channel.publish}). */
  publish(channel: string, data: unknown): SendResult;
  /** Leave every channel, stop refreshing and unhook from the client. */
  stop(): void;
}

type Fn = (...a: never[]) => void;
type Rec = Record<string, unknown>;
/** The fields of the server's channel frames (see docs/channels.md). */
interface Frame {
  epoch: string;
  offset: number;
  recovered?: boolean;
  members?: Member[];
  reason?: string;
  data?: unknown;
  member: Member;
  client: string;
}

/** Adds `f` to a copy of the list (a dispatch running over the old one is undisturbed). */
const listen = (o: Record<string, Fn[]>, k: string, f: Fn) => {
  o[k] = [...o[k]!, f];
  return () => {
    o[k] = o[k]!.filter((g) => g !== f);
  };
};

const all = new WeakMap<object, Channels>();

/**
 * Named streams over one connection, each recovered where it stopped: the server's side is
 * docs/channels.md. A plugin, like delivery; one per client (a second call returns the first).
 */
export const channels = <In extends Message, Out>(
  client: WebSocketClient<In, Out>,
  options: ChannelsOptions = {},
): Channels => {
  const had = all.get(client);
  if (had) return had;
  if (__DEV__) checkOptions('channels', options, ['clientId', 'refresh']);
  const t = client.options.typeKey;
  const clientId = options.clientId ?? Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
  const subs = new Map<string, Sub>();
  const stopRefresh = options.refresh === false ? undefined : tokenRefresh(client, options.refresh);
  /**
   * Calls a listener list with `a` and `b`; one that throws is reported (`HANDLER_ERROR`), the
   * rest still run. Lists are replaced, never changed in place (see `listen`), so none is copied.
   */
  const emit = (list: Fn[], a: unknown, b: unknown) => {
    for (const f of list)
      try {
        (f as (a: unknown, b: unknown) => void)(a, b);
      } catch (e) {
        client.report(new WebSocketClientError('HANDLER_ERROR', undefined, a, e));
      }
  };
  const out = (type: string, m: Rec, opts?: { queue: boolean }) => client.send({ [t]: type, ...m } as Out, opts);

  interface Sub extends Omit<Channel, 'state' | 'position'> {
    state: ChannelState;
    position?: Position;
    /** a `sub` is out and its `subscribed` not yet in: publications wait for the replay */
    _w?: boolean;
    /** whether the last `sub` carried a position */
    _a?: boolean;
    _set(s: ChannelState, d?: ChannelStateDetail): void;
    _sub(): void;
    _sync(members: Member[]): void;
    /** handles a frame of this channel */
    _h(type: string, f: Frame): void;
  }

  const make = (name: string, o: SubscribeOptions = {}): Sub => {
    if (__DEV__) checkOptions('subscribe', o, ['onGap']);
    const l: Record<string, Fn[]> = { d: [], s: [], p: [] };
    const m = new Map<string, Member>();
    const change = (joined: Member[], left: Member[]) =>
      (joined.length || left.length) && emit(l.p!, [...m.values()], { joined, left });
    const gap = (from: unknown, to: Position) => {
      client.report(new WebSocketClientError('CHANNEL_GAP', name, { channel: name, from, to }));
      o.onGap?.(name);
    };
    const ch: Sub = {
      name,
      state: 'subscribing',
      on: (h) => listen(l, 'd', h),
      onStateChange: (h) => listen(l, 's', h),
      presence: {
        get members() {
          return [...m.values()];
        },
        onChange: (h) => listen(l, 'p', h),
      },
      publish: (data) => api.publish(name, data),
      unsubscribe() {
        if (subs.get(name) !== ch) return;
        subs.delete(name);
        if (client.state === 'open') out('unsub', { channel: name }, { queue: false });
        ch._set('unsubscribed');
      },
      _set(s, d = {}) {
        ch.state = s;
        emit(l.s!, s, d);
      },
      _sub() {
        const p = ch.position;
        ch._w = true;
        ch._a = !!p;
        out('sub', { channel: name, client: clientId, ...p }, { queue: false });
      },
      _sync(members) {
        const was = new Map(m);
        m.clear();
        for (const x of members) m.set(x.client, x);
        change(
          members.filter((x) => !was.has(x.client)),
          [...was.values()].filter((x) => !m.has(x.client)),
        );
      },
      _h(type, f) {
        if (type === 'subscribed') {
          const p = ch.position;
          const at = { epoch: f.epoch, offset: f.offset };
          const lost = ch._a && !f.recovered;
          ch._w = false;
          if (!f.recovered || !p || p.epoch !== at.epoch) ch.position = at;
          ch._sync(f.members ?? []);
          ch._set('subscribed', ch._a ? { recovered: !lost } : {});
          if (lost) gap(p, at);
        } else if (type === 'sub_error') {
          subs.delete(name);
          client.report(new WebSocketClientError('CHANNEL_REFUSED', f.reason, f));
          ch._set('failed', { reason: f.reason });
        } else if (type === 'pub') {
          const p = ch.position!;
          if (ch._w || !p) return;
          if (f.epoch !== p.epoch) {
            // the stream was lost and begun again while live: a gap, then the new stream
            gap(p, { epoch: f.epoch, offset: f.offset - 1 });
          } else if (f.offset <= p.offset) return;
          else if (f.offset > p.offset + 1) return ch._sub(); // one went missing: recover from here
          ch.position = { epoch: f.epoch, offset: f.offset };
          emit(l.d!, f.data, ch.position);
        } else if (type === 'presence_join') {
          const x = f.member as Member;
          const had = m.has(x.client);
          m.set(x.client, x);
          if (!had) change([x], []);
        } else if (type === 'presence_leave') {
          const x = m.get(f.client);
          if (x && m.delete(f.client)) change([], [x]);
        }
      },
    };
    return ch;
  };

  const plugin: ClientPlugin<In, Out> = {
    open() {
      for (const ch of subs.values()) ch._sub();
    },
    message(msg) {
      const f = msg as Rec;
      const type = f[t] as string;
      if (!/^(sub(scribed|_error)|pub|presence_(join|leave))$/.test(type)) return;
      subs.get(f.channel as string)?._h(type, f as unknown as Frame);
      return false;
    },
  };
  const removePlugin = client.use(plugin);
  const unlisten = client.onStateChange((s) => {
    if (s !== 'open') for (const ch of subs.values()) if (ch.state === 'subscribed') ch._set('subscribing');
  });

  const api: Channels = {
    clientId,
    subscribe(name, o) {
      let ch = subs.get(name);
      if (!ch) {
        subs.set(name, (ch = make(name, o)));
        if (client.state === 'open') ch._sub();
      }
      return ch as Channel as Channel<never>;
    },
    publish: (channel, data) => out('publish', { channel, data }),
    stop() {
      for (const ch of [...subs.values()]) ch.unsubscribe();
      removePlugin();
      unlisten();
      stopRefresh?.();
      all.delete(client);
    },
  };
  all.set(client, api);
  return api;
};
