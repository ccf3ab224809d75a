import { type ClientOptions, type Message, WebSocketClient, WebSocketClientError } from 'resilient-ws';
import { type Link, link } from './shared/link';

// for the documentation of the methods `SharedClient` inherits (it is the core's own class)
export type { WebSocketClientError };

/** Options of {@link sharedClient}: every {@link ClientOptions} option, and `name`. */
export interface SharedOptions<In = Message, Out = Message> extends ClientOptions<In, Out> {
  /**
   * Tabs that use the same name (on one origin, in one browser profile) share one connection.
   * @default the `url` option as text: the URL, the list of URLs, or a URL function's source
   * text (give a name when two URL functions could read alike)
   */
  name?: string;
}

/**
 * A {@link WebSocketClient} whose connection is shared by every tab that uses the same `name`.
 * See {@link sharedClient}. `close()` and `dispose()` detach this tab: the connection stays up
 * for the other tabs (a leader hands it over) and closes with the last one.
 */
export class SharedClient<In extends Message = Message, Out = Message> extends WebSocketClient<In, Out> {
  // No `_` names here: the build shortens those per file, so they could meet the core's own.
  private link?: Link<In, Out>;

  /** @throws {@link WebSocketClientError} `INVALID_OPTIONS`, naming the option */
  constructor(options: SharedOptions<In, Out>) {
    const { name, ...o } = options;
    const g = globalThis as { navigator?: Navigator; BroadcastChannel?: object };
    // undefined where either is missing
    const l =
      g.navigator?.locks &&
      g.BroadcastChannel &&
      link<In, Out>(`resilient-ws:${name ?? o.url}`, o, (code, message) => {
        // the leader's error as it was: the code, and the message with its detail
        const e = new WebSocketClientError(code);
        e.message = message;
        this.report(e);
      });
    // `autoConnect` as for any client: in a microtask, so listeners attached now see `connecting`
    super(l ? l._options : o);
    // the link leaves as this tab's client closes: the connection stays up for the other tabs (a
    // leader hands it over) and closes with the last one
    if ((this.link = l)) this.use(l);
  }

  /** Whether this tab holds the connection: the leader, or a client of its own where sharing is not possible. */
  get leader(): boolean {
    return !this.link || !!this.link._hub;
  }

  /** Round trip of the leader's last heartbeat, ms. */
  override get latency(): number | undefined {
    return this.link?._latency ?? super.latency;
  }

  /** Listen to the leader's heartbeat round trips, ms. Returns the unsubscribe function. */
  override onLatency(listener: (ms: number) => void): () => void {
    // kept by the link; `dispose()` needs no more: a disposed client never rejoins, so they never run again
    return this.link?._onLatency(listener) ?? super.onLatency(listener);
  }
}

/**
 * One connection for all tabs: a client with the {@link WebSocketClient} API whose socket is
 * shared by every tab (same origin, same browser profile) that uses the same `name`.
 *
 * One tab, the leader, elected with a Web Lock, owns the socket and runs a real client with
 * these options (auth, heartbeat, reconnect); the others talk to it over a BroadcastChannel.
 * Every tab gets every incoming message and sees every (re)open; each tab's sends go out in its
 * own order. When the leader closes, crashes, navigates away or stops answering (frozen, hung),
 * another tab takes over within 2 s; a handover is a reconnect for every tab, and what a tab sent
 * but the old leader did not confirm writing is sent again through the new one.
 *
 * Where Web Locks or BroadcastChannel are missing (Node, server rendering, old browsers) it is a
 * client of its own, with the same API.
 *
 * @typeParam In - the union of messages the server sends
 * @typeParam Out - the union of messages the client sends
 * @throws {@link WebSocketClientError} `INVALID_OPTIONS`, naming the option
 */
export const sharedClient = <In extends Message = Message, Out = Message>(
  options: SharedOptions<In, Out>,
): SharedClient<In, Out> => new SharedClient(options);
