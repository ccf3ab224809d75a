'use client';
import {
  createContext,
  createElement,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';
import {
  type ClientOptions,
  type Message,
  type MessageHandler,
  type MessageOf,
  type State,
  WebSocketClient,
} from 'resilient-ws';
import { type Channel, type ChannelState, channels, type Member, type Position } from 'resilient-ws/channels';
import { hold } from './hold';

/** A client of any message types. */
// biome-ignore lint/suspicious/noExplicitAny: the context holds a client of any message types
export type AnyClient = WebSocketClient<any, any>;

const Ctx = /* @__PURE__ */ createContext<AnyClient | null>(null);

// A layout effect puts the newest handler in place at commit, before any later socket event;
// on the server (where it would warn in React 18) a plain effect does the same nothing.
const useCommitEffect = typeof document < 'u' ? useLayoutEffect : useEffect;

/** Makes `client` the one every hook below uses unless given its own. */
export function WebSocketProvider({ client, children }: { client: AnyClient; children?: ReactNode }): ReactNode {
  return createElement(Ctx.Provider, { value: client }, children);
}

/**
 * The explicit `client` if given, else the one from the nearest {@link WebSocketProvider}.
 * @throws Error when there is neither
 */
export function useWebSocketClient<In extends Message = Message, Out = Message>(
  client?: WebSocketClient<In, Out>,
): WebSocketClient<In, Out> {
  const c = useContext(Ctx);
  client ??= c as WebSocketClient<In, Out>;
  if (!client)
    throw new Error(
      'resilient-ws/react: no client: render inside <WebSocketProvider client={…}> or pass one to the hook',
    );
  return client;
}

/** The client's {@link State}; re-renders when it changes. `'idle'` during server rendering. */
export function useConnectionState(client?: AnyClient): State {
  const c = useWebSocketClient(client);
  return useSyncExternalStore(
    useCallback((f: () => void) => c.onStateChange(f), [c]),
    () => c.state,
    () => 'idle',
  );
}

/** {@link useMessage} with the server's message types `In` bound, as `useMessage.withTypes<In>()` returns it. */
export type UseMessageOf<In extends Message> = <T extends In['type'] | '*'>(
  type: T,
  handler: MessageHandler<In, T>,
  // biome-ignore lint/suspicious/noExplicitAny: any outgoing type
  client?: WebSocketClient<In, any>,
) => void;

/** {@link useLastMessage} with the server's message types `In` bound, as `useLastMessage.withTypes<In>()` returns it. */
export type UseLastMessageOf<In extends Message> = <T extends In['type'] | '*'>(
  type: T,
  // biome-ignore lint/suspicious/noExplicitAny: any outgoing type
  client?: WebSocketClient<In, any>,
) => (T extends '*' ? In : MessageOf<In, T>) | undefined;

/**
 * The type of {@link useMessage}: typed by a `client` passed last, or bound to the server's
 * message types once with `withTypes`.
 */
export interface UseMessage {
  /**
   * Calls `handler` for each message of `type` (`'*'`: every message).
   * @typeParam In - the union of messages the server sends; inferred from `client`
   */
  <In extends Message = Message, T extends In['type'] | '*' = In['type'] | '*'>(
    type: T,
    handler: MessageHandler<In, T>,
    // biome-ignore lint/suspicious/noExplicitAny: any outgoing type
    client?: WebSocketClient<In, any>,
  ): void;
  /**
   * This hook with the message types bound once, as react-redux's `useSelector.withTypes`:
   * `const useServerMessage = useMessage.withTypes<ServerMsg>()`. The types are taken on trust
   * for the provider's client.
   * @typeParam In - the union of messages the server sends
   */
  withTypes<In extends Message>(): UseMessageOf<In>;
}

/** The type of {@link useLastMessage}: like {@link UseMessage}. */
export interface UseLastMessage {
  /**
   * The latest message of `type`, or `undefined`.
   * @typeParam In - the union of messages the server sends; inferred from `client`
   */
  <In extends Message = Message, T extends In['type'] | '*' = In['type'] | '*'>(
    type: T,
    // biome-ignore lint/suspicious/noExplicitAny: any outgoing type
    client?: WebSocketClient<In, any>,
  ): (T extends '*' ? In : MessageOf<In, T>) | undefined;
  /**
   * This hook with the message types bound once: `useLastMessage.withTypes<ServerMsg>()`.
   * @typeParam In - the union of messages the server sends
   */
  withTypes<In extends Message>(): UseLastMessageOf<In>;
}

// `withTypes` returns the hook itself: binding the types is for the compiler only.
const withTypes = <H extends object>(hook: H) => Object.assign(hook, { withTypes: () => hook });

/**
 * Calls `handler` for each message of `type` (`'*'`: every message). Subscribes once per client
 * and type; the newest `handler` is always the one called, so an inline arrow is fine.
 * Never re-renders by itself. The message is narrowed by `type` when the hook knows the message
 * types: from `useMessage.withTypes<ServerMsg>()`, or from a typed `client` passed last.
 */
export const useMessage = /* @__PURE__ */ withTypes(function useMessage(
  type: string,
  handler: (m: Message) => void,
  client?: AnyClient,
): void {
  const c = useWebSocketClient(client);
  const h = useRef(handler);
  useCommitEffect(() => {
    h.current = handler;
  });
  useEffect(() => c.on(type, (m: Message) => h.current(m)), [c, type]);
}) as UseMessage;

/**
 * The latest message of `type` received since this component subscribed, or `undefined`.
 * Re-renders once per message of that type, never for others. Typed like {@link useMessage}:
 * `useLastMessage.withTypes<ServerMsg>()`, or a typed `client` passed last.
 */
export const useLastMessage = /* @__PURE__ */ withTypes(function useLastMessage(
  type: string,
  client?: AnyClient,
): Message | undefined {
  const c = useWebSocketClient(client);
  // tagged with its client and type, so a message of the previous one is never returned
  const [s, set] = useState<[unknown, unknown, Message]>();
  useEffect(() => c.on(type, (m: Message) => set([c, type, m])), [c, type]);
  return s && s[0] === c && s[1] === type ? s[2] : undefined;
}) as UseLastMessage;

/**
 * Creates a client for the component's life: connects on mount (unless `autoConnect: false`),
 * disposes on unmount, never opens a socket during server rendering.
 *
 * The options are read when the client is made. Changing `url` (a string or URL) makes a new
 * client; any other change does not, so inline `auth` factories, callbacks and a new `url`
 * function each render are fine (the first `url` function is kept and called on every connect).
 *
 * StrictMode's dev-only mount→unmount→mount disposes the first client before its socket is
 * created and returns a new one, so depend on the returned client rather than keeping the first.
 */
export function useWebSocket<In extends Message = Message, Out = Message>(
  options: ClientOptions<In, Out>,
): WebSocketClient<In, Out> {
  const u = options.url;
  const key = typeof u === 'function' || String(u); // `true`: any function
  const make = (): [WebSocketClient<In, Out>, unknown] => [
    new WebSocketClient({ ...options, autoConnect: false }),
    key,
  ];
  const [s, set] = useState(make);
  const disposed = useRef<unknown>(null);
  if (s[1] !== key) set(make()); // re-renders at once, before anything commits
  // biome-ignore lint/correctness/useExhaustiveDependencies: options count only when a client is made; `s` changes with the url
  useEffect(() => {
    // after StrictMode's (or <Activity>'s) unmount: a disposed client lost its handlers, so replace it
    if (disposed.current === s) return set(make());
    if (options.autoConnect !== false) s[0].connect();
    return () => {
      disposed.current = s;
      s[0].dispose();
    };
  }, [s]);
  return s[0];
}

/** What {@link useChannel} returns. */
export interface ChannelView<T> {
  /** the channel's state; `'subscribing'` until it is subscribed (and during server rendering) */
  state: ChannelState;
  /** publish to the channel (see `Channel.publish`) */
  publish: (data: T) => void;
  /** the channel, once the component is mounted */
  channel: Channel<T> | undefined;
}

/**
 * Subscribes to channel `name` (of `resilient-ws/channels`) while the component is mounted and
 * calls `handler` for each publication, once and in order; the newest `handler` is the one
 * called. Re-renders when the channel's state changes. Components on the same channel share
 * one subscription.
 * @typeParam T - the type of the channel's publications
 */
export function useChannel<T = unknown>(
  name: string,
  handler?: (data: T, position: Position) => void,
  client?: AnyClient,
): ChannelView<T> {
  const c = useWebSocketClient(client);
  const h = useRef(handler);
  useCommitEffect(() => {
    h.current = handler;
  });
  const [ch, set] = useState<[unknown, string, Channel<T>]>();
  useEffect(() => {
    const [sub, release] = hold(c, name);
    set([c, name, sub as Channel<T>]);
    const off = (sub as Channel<T>).on((d, p) => h.current?.(d, p));
    return () => {
      off();
      release();
    };
  }, [c, name]);
  const channel = ch && ch[0] === c && ch[1] === name ? ch[2] : undefined;
  const state = useSyncExternalStore<ChannelState>(
    useCallback((f: () => void) => (channel ? channel.onStateChange(f) : () => {}), [channel]),
    () => channel?.state ?? 'subscribing',
    () => 'subscribing',
  );
  const publish = useCallback((data: T) => void channels(c).publish(name, data), [c, name]);
  return { state, publish, channel };
}

const NONE: readonly Member[] = [];

/**
 * The members of channel `name` (subscribing to it while the component is mounted, shared
 * with {@link useChannel}); re-renders when someone joins or leaves. Empty until subscribed
 * and during server rendering.
 */
export function usePresence(name: string, client?: AnyClient): readonly Member[] {
  const c = useWebSocketClient(client);
  const [s, set] = useState<[unknown, string, readonly Member[]]>();
  useEffect(() => {
    const [sub, release] = hold(c, name);
    set([c, name, sub.presence.members]);
    const off = sub.presence.onChange((m) => set([c, name, m]));
    return () => {
      off();
      release();
    };
  }, [c, name]);
  return s && s[0] === c && s[1] === name ? s[2] : NONE;
}
