import {
  type ClientOptions,
  type Message,
  type MessageHandler,
  type MessageOf,
  type State,
  WebSocketClient,
} from 'resilient-ws';
import { type Channel, type ChannelState, channels, type Member, type Position } from 'resilient-ws/channels';
import {
  type App,
  computed,
  getCurrentInstance,
  hasInjectionContext,
  type InjectionKey,
  inject,
  isRef,
  type MaybeRefOrGetter,
  onMounted,
  onScopeDispose,
  provide,
  type Ref,
  type ShallowRef,
  shallowReadonly,
  shallowRef,
  ssrContextKey,
  toValue,
  type WatchSource,
  watch,
} from 'vue';
import { hold } from './hold';

/** A client of any message types. */
// biome-ignore lint/suspicious/noExplicitAny: a client of any message types
export type AnyClient = WebSocketClient<any, any>;

/**
 * A client, a ref to one (as {@link useWebSocket} returns) or a getter that returns one. The
 * composables follow a ref to its new client. Keep a client in a `shallowRef`, never a deep
 * `ref`, which would wrap it in a reactive proxy.
 */
export type ClientSource<C extends AnyClient = AnyClient> = MaybeRefOrGetter<C>;

const KEY: InjectionKey<ClientSource> = /* @__PURE__ */ Symbol();

/** Inside a component that `vue/server-renderer` renders: no socket, no subscription then. */
const ssr = (): boolean => hasInjectionContext() && !!inject(ssrContextKey, null);

/**
 * Runs `subscribe` with the current values of `sources` now and again whenever one changes
 * (synchronously, so a new client is never left without its listeners for a moment), and calls
 * what it returned before each rerun and when the effect scope ends. Nothing on the server.
 */
const follow = <V extends unknown[]>(
  sources: { [K in keyof V]: WatchSource<V[K]> },
  subscribe: (values: V) => () => void,
): void => {
  if (!ssr()) watch(sources, (v, _, cleanup) => cleanup(subscribe(v as V)), { immediate: true, flush: 'sync' });
};

/**
 * Makes `client` the one every composable below uses unless given its own: for the components
 * under the calling one (in `setup`), or for the whole `app` when one is given.
 */
export function provideWebSocketClient(client: ClientSource, app?: App): void {
  if (app) app.provide(KEY, client);
  else provide(KEY, client);
}

/**
 * The explicit `client` if given, else the one provided by {@link provideWebSocketClient}, as a
 * ref that follows a provided ref to its current client.
 * @throws Error when there is neither
 */
export function useWebSocketClient<In extends Message = Message, Out = Message>(
  client?: ClientSource<WebSocketClient<In, Out>>,
): Readonly<Ref<WebSocketClient<In, Out>>> {
  const c = client ?? (hasInjectionContext() ? inject(KEY, null) : null);
  if (!c)
    throw new Error(
      'resilient-ws/vue: no client: call provideWebSocketClient(client) in a parent component or on the app, or pass one to the composable',
    );
  return computed(() => toValue(c) as WebSocketClient<In, Out>);
}

/** The client's {@link State} as a readonly ref, until the effect scope ends. `'idle'` during server rendering. */
export function useConnectionState(client?: ClientSource): Readonly<Ref<State>> {
  const c = useWebSocketClient(client);
  const s = shallowRef<State>('idle');
  follow([c], ([x]) => {
    s.value = x.state;
    return x.onStateChange((v) => {
      s.value = v;
    });
  });
  return shallowReadonly(s);
}

/** {@link useMessage} with the server's message types `In` bound, as `useMessage.withTypes<In>()` returns it. */
export type UseMessageOf<In extends Message> = <T extends In['type'] | '*'>(
  type: MaybeRefOrGetter<T>,
  handler: MessageHandler<In, T>,
  // biome-ignore lint/suspicious/noExplicitAny: any outgoing type
  client?: ClientSource<WebSocketClient<In, any>>,
) => void;

/** {@link useLastMessage} with the server's message types `In` bound, as `useLastMessage.withTypes<In>()` returns it. */
export type UseLastMessageOf<In extends Message> = <T extends In['type'] | '*'>(
  type: MaybeRefOrGetter<T>,
  // biome-ignore lint/suspicious/noExplicitAny: any outgoing type
  client?: ClientSource<WebSocketClient<In, any>>,
) => Readonly<ShallowRef<(T extends '*' ? In : MessageOf<In, T>) | undefined>>;

/**
 * The type of {@link useMessage}: typed by a `client` passed last, or bound to the server's
 * message types once with `withTypes`.
 */
export interface UseMessage {
  /**
   * Calls `handler` for each message of `type` (`'*'`: every message) until the scope ends.
   * @typeParam In - the union of messages the server sends; inferred from `client`
   */
  <In extends Message = Message, T extends In['type'] | '*' = In['type'] | '*'>(
    type: MaybeRefOrGetter<T>,
    handler: MessageHandler<In, T>,
    // biome-ignore lint/suspicious/noExplicitAny: any outgoing type
    client?: ClientSource<WebSocketClient<In, any>>,
  ): void;
  /**
   * This composable with the message types bound once, as react-redux's `useSelector.withTypes`:
   * `const useServerMessage = useMessage.withTypes<ServerMsg>()`. The types are taken on trust
   * for the provided client.
   * @typeParam In - the union of messages the server sends
   */
  withTypes<In extends Message>(): UseMessageOf<In>;
}

/** The type of {@link useLastMessage}: like {@link UseMessage}. */
export interface UseLastMessage {
  /**
   * The latest message of `type`, or `undefined`, as a readonly shallow ref.
   * @typeParam In - the union of messages the server sends; inferred from `client`
   */
  <In extends Message = Message, T extends In['type'] | '*' = In['type'] | '*'>(
    type: MaybeRefOrGetter<T>,
    // biome-ignore lint/suspicious/noExplicitAny: any outgoing type
    client?: ClientSource<WebSocketClient<In, any>>,
  ): Readonly<ShallowRef<(T extends '*' ? In : MessageOf<In, T>) | undefined>>;
  /**
   * This composable with the message types bound once: `useLastMessage.withTypes<ServerMsg>()`.
   * @typeParam In - the union of messages the server sends
   */
  withTypes<In extends Message>(): UseLastMessageOf<In>;
}

// `withTypes` returns the composable itself: binding types is for the compiler only.
const withTypes = <H extends object>(fn: H) => Object.assign(fn, { withTypes: () => fn });

/**
 * Calls `handler` for each message of `type` (`'*'`: every message) until the effect scope
 * ends. `type` and `client` may be refs: the subscription follows them. The message is narrowed
 * by `type` when the composable knows the message types: from `useMessage.withTypes<ServerMsg>()`,
 * or from a typed `client` passed last.
 */
export const useMessage = /* @__PURE__ */ withTypes(function useMessage(
  type: MaybeRefOrGetter<string>,
  handler: (m: Message) => void,
  client?: ClientSource,
): void {
  const c = useWebSocketClient(client);
  // a wrapper per subscription: the same handler given twice is two subscriptions
  follow([c, () => toValue(type)], ([x, t]) => x.on(t, (m: Message) => handler(m)));
}) as UseMessage;

/**
 * The latest message of `type` received since the subscription began, or `undefined`, as a
 * readonly shallow ref (the message itself is not made reactive). It changes once per message
 * of that type, never for others, and goes back to `undefined` when `type` or `client` changes.
 */
export const useLastMessage = /* @__PURE__ */ withTypes(function useLastMessage(
  type: MaybeRefOrGetter<string>,
  client?: ClientSource,
): Readonly<ShallowRef<Message | undefined>> {
  const c = useWebSocketClient(client);
  const last = shallowRef<Message>();
  follow([c, () => toValue(type)], ([x, t]) => {
    last.value = undefined;
    return x.on(t, (m: Message) => {
      last.value = m;
    });
  });
  return shallowReadonly(last);
}) as UseLastMessage;

/** {@link useWebSocket}'s options: the client's, where `url` may also be a ref. */
export interface UseWebSocketOptions<In extends Message = Message, Out = Message>
  extends Omit<ClientOptions<In, Out>, 'url'> {
  /**
   * Where to connect, as for the client. A ref (or `computed`): each new value disposes the
   * client and makes a new one. A function: the client's url factory, called on every connect
   * and never watched.
   */
  url: ClientOptions<In, Out>['url'] | Ref<ClientOptions<In, Out>['url']>;
}

/**
 * Creates a client for the effect scope's life (a component's `setup`, or an `effectScope`):
 * connects it when the component mounts, or at once in a bare `effectScope` (unless
 * `autoConnect: false`), and disposes it when the scope ends. During server rendering it makes
 * an idle client and never opens a socket.
 *
 * Returns a readonly shallow ref to the client. The options are read when a client is made; a
 * new value of a ref `url` disposes the client and puts a new one in the ref. Any other change
 * makes none. Pass the ref itself to the composables and to {@link provideWebSocketClient}: they
 * follow it to the new client.
 */
export function useWebSocket<In extends Message = Message, Out = Message>(
  options: UseWebSocketOptions<In, Out>,
): Readonly<ShallowRef<WebSocketClient<In, Out>>> {
  const u = options.url;
  const auto = options.autoConnect !== false;
  let live = false;
  const make = (url: ClientOptions<In, Out>['url']): WebSocketClient<In, Out> => {
    const c = new WebSocketClient<In, Out>({ ...options, url, autoConnect: false });
    if (live && auto) c.connect();
    return c;
  };
  // never `toValue(u)`: that would call a url factory here
  const r = shallowRef(make(isRef(u) ? u.value : u));
  const start = (): void => {
    live = true;
    if (auto) r.value.connect();
  };
  // In a component, connect once mounted: the first render (and hydration of server HTML)
  // shows 'idle' as the server did, and a server render, which mounts nothing, never connects.
  if (getCurrentInstance()) onMounted(start);
  else start();
  if (isRef(u) && !ssr())
    watch(u, (url) => {
      r.value.dispose();
      r.value = make(url);
    });
  onScopeDispose(() => r.value.dispose());
  return shallowReadonly(r);
}

/** What {@link useChannel} returns. */
export interface ChannelRefs<T> {
  /** the channel's state; `'subscribing'` until it is subscribed (and during server rendering) */
  state: Readonly<Ref<ChannelState>>;
  /** publish to the channel (see `Channel.publish`) */
  publish: (data: T) => void;
  /** the channel, outside server rendering */
  channel: Readonly<ShallowRef<Channel<T> | undefined>>;
}

/**
 * Subscribes to channel `name` (of `resilient-ws/channels`) until the effect scope ends, and
 * calls `handler` for each publication, once and in order. `name` and `client` may be refs:
 * the subscription follows them. Composables on the same channel share one subscription.
 * @typeParam T - the type of the channel's publications
 */
export function useChannel<T = unknown>(
  name: MaybeRefOrGetter<string>,
  handler?: (data: T, position: Position) => void,
  client?: ClientSource,
): ChannelRefs<T> {
  const c = useWebSocketClient(client);
  const state = shallowRef<ChannelState>('subscribing');
  const channel = shallowRef<Channel<T>>();
  follow([c, () => toValue(name)], ([x, n]) => {
    const [sub, release] = hold(x, n);
    channel.value = sub as Channel<T>;
    state.value = sub.state;
    const offs = [
      sub.onStateChange((v) => {
        state.value = v;
      }),
      (sub as Channel<T>).on((d, p) => handler?.(d, p)),
    ];
    return () => {
      for (const off of offs) off();
      release();
    };
  });
  return {
    state: shallowReadonly(state),
    publish: (data) => void channels(c.value).publish(toValue(name), data),
    channel: shallowReadonly(channel),
  };
}

/**
 * The members of channel `name` as a readonly shallow ref (subscribing to it until the effect
 * scope ends, shared with {@link useChannel}); it changes when someone joins or leaves. Empty
 * until subscribed and during server rendering.
 */
export function usePresence(
  name: MaybeRefOrGetter<string>,
  client?: ClientSource,
): Readonly<ShallowRef<readonly Member[]>> {
  const c = useWebSocketClient(client);
  const members = shallowRef<readonly Member[]>([]);
  follow([c, () => toValue(name)], ([x, n]) => {
    const [sub, release] = hold(x, n);
    members.value = sub.presence.members;
    const off = sub.presence.onChange((m) => {
      members.value = m;
    });
    return () => {
      off();
      release();
    };
  });
  return shallowReadonly(members);
}
