// The React adapter against mock-socket servers, rendered in happy-dom.
import { act, cleanup, render, renderHook, screen, waitFor } from '@testing-library/react';
import { WebSocket as MockWebSocket, Server } from 'mock-socket';
import { StrictMode, useState } from 'react';
import { type ClientOptions, WebSocketClient, type WebSocketConstructor } from 'resilient-ws';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import {
  useConnectionState,
  useLastMessage,
  useMessage,
  useWebSocket,
  useWebSocketClient,
  WebSocketProvider,
} from '../../src/react';

type ServerMsg = { type: 'chat'; text: string } | { type: 'presence'; n: number };
type ClientMsg = { type: 'say'; text: string };

const URL_A = 'ws://react.test/a';
const URL_B = 'ws://react.test/b';
const WS = MockWebSocket as unknown as WebSocketConstructor;

let servers: Server[];
let connections: Record<string, number>;

const serve = (url: string): Server => {
  const server = new Server(url, { mock: false });
  connections[url] = 0;
  server.on('connection', () => connections[url]++);
  servers.push(server);
  return server;
};

const options = (extra?: Partial<ClientOptions<ServerMsg, ClientMsg>>): ClientOptions<ServerMsg, ClientMsg> => ({
  url: URL_A,
  WebSocket: WS,
  heartbeat: false,
  reconnect: false,
  ...extra,
});

const makeClient = (extra?: Partial<ClientOptions<ServerMsg, ClientMsg>>) =>
  new WebSocketClient<ServerMsg, ClientMsg>(options({ autoConnect: false, ...extra }));

/** Sends a message from the server to every socket it holds, inside `act`. */
const push = (server: Server, msg: ServerMsg) =>
  act(() => {
    for (const socket of server.clients()) socket.send(JSON.stringify(msg));
  });

const opened = async (client: WebSocketClient<ServerMsg, ClientMsg>) => {
  await waitFor(() => expect(client.state).toBe('open'));
};

/** mock-socket forgets a closed socket a few ms after `close()`. */
const gone = (s: Server) => waitFor(() => expect(s.clients()).toHaveLength(0));

let server: Server;
beforeEach(() => {
  servers = [];
  connections = {};
  server = serve(URL_A);
});
afterEach(() => {
  cleanup();
  for (const s of servers) s.stop();
  vi.restoreAllMocks();
});

describe('WebSocketProvider and useWebSocketClient', () => {
  it('gives the provider’s client to hooks below it', () => {
    const client = makeClient();
    const { result } = renderHook(() => useWebSocketClient(), {
      wrapper: ({ children }) => <WebSocketProvider client={client}>{children}</WebSocketProvider>,
    });
    expect(result.current).toBe(client);
  });

  it('prefers an explicit client over the provider’s', () => {
    const fromContext = makeClient();
    const explicit = makeClient();
    const { result } = renderHook(() => useWebSocketClient(explicit), {
      wrapper: ({ children }) => <WebSocketProvider client={fromContext}>{children}</WebSocketProvider>,
    });
    expect(result.current).toBe(explicit);
  });

  it('throws a clear error with neither a provider nor a client', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {}); // React reports the render error too
    expect(() => renderHook(() => useConnectionState())).toThrow(/WebSocketProvider/);
  });
});

describe('useConnectionState', () => {
  it('follows the client from idle through open to closed', async () => {
    const client = makeClient();
    const seen: string[] = [];
    function Badge() {
      const state = useConnectionState(client);
      seen.push(state);
      return <span data-testid="state">{state}</span>;
    }
    render(<Badge />);
    expect(screen.getByTestId('state').textContent).toBe('idle');
    act(() => client.connect());
    await waitFor(() => expect(screen.getByTestId('state').textContent).toBe('open'));
    act(() => client.close());
    expect(screen.getByTestId('state').textContent).toBe('closed');
    expect(seen).toEqual(['idle', 'connecting', 'open', 'closed']);
  });

  it('stops listening on unmount', () => {
    const client = makeClient();
    const off = vi.fn();
    const subscribe = client.onStateChange.bind(client);
    vi.spyOn(client, 'onStateChange').mockImplementation((listener) => {
      off.mockImplementation(subscribe(listener));
      return off;
    });
    const { unmount } = render(<Probe client={client} />);
    expect(off).not.toHaveBeenCalled();
    unmount();
    expect(off).toHaveBeenCalledTimes(1);
  });
});

function Probe({ client }: { client: WebSocketClient<ServerMsg, ClientMsg> }) {
  return <span>{useConnectionState(client)}</span>;
}

describe('useMessage', () => {
  it('calls the handler with each message of its type, narrowed', async () => {
    const client = makeClient();
    const got: string[] = [];
    renderHook(() =>
      useMessage(
        'chat',
        (msg) => {
          expectTypeOf(msg).toEqualTypeOf<{ type: 'chat'; text: string }>();
          got.push(msg.text);
        },
        client,
      ),
    );
    client.connect();
    await opened(client);
    push(server, { type: 'chat', text: 'hi' });
    push(server, { type: 'presence', n: 2 });
    push(server, { type: 'chat', text: 'again' });
    expect(got).toEqual(['hi', 'again']);
  });

  it('keeps one subscription across re-renders with new inline handlers and calls the newest', async () => {
    const client = makeClient();
    const on = vi.spyOn(client, 'on');
    const calls: string[] = [];
    const { rerender } = renderHook(
      ({ tag }) => useMessage('chat', (msg) => calls.push(`${tag}:${msg.text}`), client),
      {
        initialProps: { tag: 'first' },
      },
    );
    rerender({ tag: 'second' });
    rerender({ tag: 'third' });
    expect(on).toHaveBeenCalledTimes(1);
    client.connect();
    await opened(client);
    push(server, { type: 'chat', text: 'x' });
    expect(calls).toEqual(['third:x']);
  });

  it('does not re-render the component when a message arrives', async () => {
    const client = makeClient();
    let renders = 0;
    const got: string[] = [];
    function Listener() {
      renders++;
      useMessage('chat', (msg) => got.push(msg.text), client);
      return null;
    }
    render(<Listener />);
    client.connect();
    await opened(client);
    const before = renders;
    push(server, { type: 'chat', text: 'a' });
    push(server, { type: 'chat', text: 'b' });
    expect(got).toEqual(['a', 'b']);
    expect(renders).toBe(before);
  });

  it('unsubscribes on unmount', async () => {
    const client = makeClient();
    const handler = vi.fn();
    const { unmount } = renderHook(() => useMessage('*', handler, client));
    client.connect();
    await opened(client);
    push(server, { type: 'chat', text: 'in' });
    unmount();
    push(server, { type: 'chat', text: 'out' });
    expect(handler).toHaveBeenCalledTimes(1);
    expect(handler).toHaveBeenCalledWith({ type: 'chat', text: 'in' });
  });

  it('re-subscribes when the type changes', async () => {
    const client = makeClient();
    const handler = vi.fn();
    const { rerender } = renderHook(({ type }) => useMessage(type, handler, client), {
      initialProps: { type: 'chat' as ServerMsg['type'] },
    });
    client.connect();
    await opened(client);
    rerender({ type: 'presence' });
    push(server, { type: 'chat', text: 'ignored' });
    push(server, { type: 'presence', n: 3 });
    expect(handler.mock.calls).toEqual([[{ type: 'presence', n: 3 }]]);
  });
});

describe('useLastMessage', () => {
  it('returns the latest message of its type, typed', async () => {
    const client = makeClient();
    const { result } = renderHook(() => useLastMessage('chat', client));
    expectTypeOf(result.current).toEqualTypeOf<{ type: 'chat'; text: string } | undefined>();
    expect(result.current).toBeUndefined();
    client.connect();
    await opened(client);
    push(server, { type: 'chat', text: 'one' });
    expect(result.current).toEqual({ type: 'chat', text: 'one' });
    push(server, { type: 'presence', n: 1 });
    push(server, { type: 'chat', text: 'two' });
    expect(result.current).toEqual({ type: 'chat', text: 'two' });
  });

  it('re-renders once per message of its type and never for other types', async () => {
    const client = makeClient();
    let renders = 0;
    function Last() {
      renders++;
      const msg = useLastMessage('chat', client);
      return <span data-testid="last">{msg?.text ?? '-'}</span>;
    }
    render(<Last />);
    client.connect();
    await opened(client);
    const before = renders;
    push(server, { type: 'chat', text: 'a' });
    expect(renders).toBe(before + 1);
    push(server, { type: 'presence', n: 5 });
    push(server, { type: 'presence', n: 6 });
    expect(renders).toBe(before + 1);
    push(server, { type: 'chat', text: 'b' });
    expect(renders).toBe(before + 2);
    expect(screen.getByTestId('last').textContent).toBe('b');
  });

  it('forgets the message of the previous type when the type changes', async () => {
    const client = makeClient();
    const { result, rerender } = renderHook(({ type }) => useLastMessage(type, client), {
      initialProps: { type: 'chat' as ServerMsg['type'] },
    });
    client.connect();
    await opened(client);
    push(server, { type: 'chat', text: 'old' });
    expect(result.current).toEqual({ type: 'chat', text: 'old' });
    rerender({ type: 'presence' });
    expect(result.current).toBeUndefined();
  });
});

describe('withTypes', () => {
  it('useMessage.withTypes<In>() is the same hook, narrowing with the provider’s client', async () => {
    const useServerMessage = useMessage.withTypes<ServerMsg>();
    expect(useServerMessage).toBe(useMessage);
    const client = makeClient();
    const got: string[] = [];
    renderHook(() => useServerMessage('chat', (msg) => got.push(msg.text)), {
      wrapper: ({ children }) => <WebSocketProvider client={client}>{children}</WebSocketProvider>,
    });
    client.connect();
    await opened(client);
    push(server, { type: 'presence', n: 2 });
    push(server, { type: 'chat', text: 'hi' });
    expect(got).toEqual(['hi']);
  });

  it('useLastMessage.withTypes<In>() is the same hook, typed by it', async () => {
    const useLastServerMessage = useLastMessage.withTypes<ServerMsg>();
    expect(useLastServerMessage).toBe(useLastMessage);
    const client = makeClient();
    const { result } = renderHook(() => useLastServerMessage('presence'), {
      wrapper: ({ children }) => <WebSocketProvider client={client}>{children}</WebSocketProvider>,
    });
    client.connect();
    await opened(client);
    push(server, { type: 'presence', n: 3 });
    expect(result.current?.n).toBe(3);
  });
});

describe('useWebSocket', () => {
  it('opens exactly one socket under StrictMode and none is left after unmount', async () => {
    const made = new Set<WebSocketClient<ServerMsg, ClientMsg>>();
    const disposed = new Set<unknown>();
    const dispose = WebSocketClient.prototype.dispose;
    vi.spyOn(WebSocketClient.prototype, 'dispose').mockImplementation(function (this: WebSocketClient) {
      disposed.add(this);
      dispose.call(this);
    });
    function App() {
      const client = useWebSocket(options());
      made.add(client);
      return <span data-testid="state">{useConnectionState(client)}</span>;
    }
    const { unmount } = render(
      <StrictMode>
        <App />
      </StrictMode>,
    );
    await waitFor(() => expect(screen.getByTestId('state').textContent).toBe('open'));
    await act(() => new Promise((r) => setTimeout(r, 30))); // room for a stray second open
    expect(connections[URL_A]).toBe(1);
    expect(server.clients()).toHaveLength(1);
    const live = [...made].filter((c) => c.state === 'open');
    expect(live).toHaveLength(1);
    expect(disposed.has(live[0])).toBe(false); // a disposed client lost its handlers: never reused

    unmount();
    expect(disposed.has(live[0])).toBe(true);
    await gone(server);
    expect([...made].every((c) => c.state === 'closed' || c.state === 'idle')).toBe(true);
    expect(connections[URL_A]).toBe(1);
  });

  it('disposes the client on unmount', async () => {
    let client!: WebSocketClient<ServerMsg, ClientMsg>;
    const { unmount } = renderHook(() => {
      client = useWebSocket(options());
    });
    await opened(client);
    const handler = vi.fn();
    client.on('chat', handler);
    unmount();
    expect(client.state).toBe('closed');
    await gone(server);
    // dispose is final: the client cannot be brought back
    expect(() => client.connect()).toThrowError(expect.objectContaining({ code: 'DISPOSED' }));
    expect(handler).not.toHaveBeenCalled();
  });

  it('creates a new client when url changes and disposes the old one', async () => {
    const serverB = serve(URL_B);
    const { result, rerender } = renderHook(({ url }) => useWebSocket(options({ url })), {
      initialProps: { url: URL_A },
    });
    const first = result.current;
    await opened(first);
    rerender({ url: URL_B });
    const second = result.current;
    expect(second).not.toBe(first);
    expect(first.state).toBe('closed');
    await opened(second);
    await gone(server);
    expect(serverB.clients()).toHaveLength(1);
    expect(connections).toEqual({ [URL_A]: 1, [URL_B]: 1 });
  });

  it('keeps the client when other options change, including inline functions', async () => {
    const { result, rerender } = renderHook(
      ({ n }) => useWebSocket(options({ url: new URL(URL_A), auth: () => ({ type: 'say', text: `token${n}` }) })),
      { initialProps: { n: 1 } },
    );
    const first = result.current;
    await opened(first);
    rerender({ n: 2 });
    rerender({ n: 3 });
    expect(result.current).toBe(first);
    expect(connections[URL_A]).toBe(1);
  });

  it('keeps the client across re-renders with a new url function each time', async () => {
    const { result, rerender } = renderHook(({ n }) => useWebSocket(options({ url: () => `${URL_A}?n=${n}` })), {
      initialProps: { n: 1 },
    });
    const first = result.current;
    rerender({ n: 2 });
    expect(result.current).toBe(first);
  });

  it('does not connect with autoConnect: false, and still disposes on unmount', async () => {
    let client!: WebSocketClient<ServerMsg, ClientMsg>;
    const { unmount } = renderHook(() => {
      client = useWebSocket(options({ autoConnect: false }));
    });
    await act(() => new Promise((r) => setTimeout(r, 20)));
    expect(client.state).toBe('idle');
    expect(connections[URL_A]).toBe(0);
    act(() => client.connect());
    await opened(client);
    unmount();
    expect(client.state).toBe('closed');
    await gone(server);
  });

  it('works with the provider and every hook in one tree', async () => {
    function Feed() {
      const [texts, setTexts] = useState<string[]>([]);
      const client = useWebSocketClient<ServerMsg, ClientMsg>();
      useMessage('chat', (m) => setTexts((t) => [...t, m.text]), client);
      const last = useLastMessage('presence', client);
      return (
        <p data-testid="feed">
          {useConnectionState()}|{texts.join(',')}|{last?.n ?? '-'}
        </p>
      );
    }
    function App() {
      const client = useWebSocket(options());
      return (
        <WebSocketProvider client={client}>
          <Feed />
        </WebSocketProvider>
      );
    }
    render(
      <StrictMode>
        <App />
      </StrictMode>,
    );
    await waitFor(() => expect(screen.getByTestId('feed').textContent).toBe('open||-'));
    push(server, { type: 'chat', text: 'a' });
    push(server, { type: 'presence', n: 4 });
    push(server, { type: 'chat', text: 'b' });
    expect(screen.getByTestId('feed').textContent).toBe('open|a,b|4');
    expect(connections[URL_A]).toBe(1);
  });
});
