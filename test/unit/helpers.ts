import { type Client, WebSocket as MockWebSocket, Server } from 'mock-socket';
import { vi } from 'vitest';
import {
  type ClientOptions,
  type Message,
  WebSocketClient,
  type WebSocketClientError,
  type WebSocketConstructor,
} from '../../src/index';

let port = 40_000;

/** A mock server that records every frame it receives, in order, per connection. */
export const mockServer = () => {
  const url = `ws://localhost:${port++}`;
  const server = new Server(url);
  const sockets: Client[] = [];
  const frames: unknown[] = [];
  server.on('connection', (s) => {
    sockets.push(s);
    s.on('message', (d) => frames.push(typeof d === 'string' ? JSON.parse(d) : d));
  });
  /** the socket of the most recent connection */
  const last = () => sockets[sockets.length - 1]!;
  /** send a message to the most recent connection */
  const push = (msg: unknown) => last().send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  /** close the most recent connection from the server side and let the close arrive (mock-socket's close event has no wasClean) */
  const drop = async (code = 1011, reason = '') => {
    last().close({ code, reason, wasClean: true });
    await vi.advanceTimersByTimeAsync(4);
  };
  return { url, server, sockets, frames, last, push, drop };
};

export type TestServer = ReturnType<typeof mockServer>;

/** A client on mock-socket with test-friendly defaults: no jitter, no heartbeat. */
export const makeClient = <In extends Message = Message, Out = Message>(
  url: ClientOptions['url'],
  options: Partial<ClientOptions<In, NoInfer<Out>>> = {},
) => {
  const errors: WebSocketClientError[] = [];
  const states: string[] = [];
  const client = new WebSocketClient<In, Out>({
    url,
    WebSocket: MockWebSocket as unknown as ClientOptions['WebSocket'],
    heartbeat: false,
    reconnect: { initialDelay: 100, factor: 2, jitter: 0, maxDelay: 1000 },
    ...options,
    autoConnect: false,
  });
  client.onError((e) => errors.push(e));
  client.onStateChange((s) => states.push(s));
  // connect only once the recorders listen, so they see everything
  if (options.autoConnect !== false) client.connect();
  return { client, errors, states };
};

/** Let mock-socket's 4 ms delays and pending promises run, with fake timers. */
export const tick = (ms = 10) => vi.advanceTimersByTimeAsync(ms);

/**
 * A mock-socket server at `url` that speaks enough of the channels protocol for the adapters'
 * hooks: it records every frame and answers each `sub` with `subscribed` (the subscriber the
 * only member, as user `me`); `push` sends to the newest connection; `client(extra)` makes a
 * client of it (no heartbeat).
 */
export const channelsServer = (url: string) => {
  const frames: Array<Record<string, unknown>> = [];
  let socket: Client | undefined;
  const server = new Server(url, { mock: false });
  server.on('connection', (s) => {
    socket = s;
    s.on('message', (d) => {
      const m = JSON.parse(String(d));
      frames.push(m);
      if (m.type === 'sub')
        s.send(
          JSON.stringify({
            type: 'subscribed',
            channel: m.channel,
            epoch: 'e',
            offset: 0,
            recovered: false,
            members: [{ client: m.client, user: 'me' }],
          }),
        );
    });
  });
  const push = (m: object) => socket?.send(JSON.stringify(m));
  const client = (extra: Partial<ClientOptions> = {}) =>
    new WebSocketClient({
      url,
      WebSocket: MockWebSocket as unknown as WebSocketConstructor,
      heartbeat: false,
      ...extra,
    });
  return { server, frames, push, client };
};
