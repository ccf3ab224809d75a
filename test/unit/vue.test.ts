// The Vue adapter against mock-socket servers, mounted with @vue/test-utils in happy-dom.
import { flushPromises, mount } from '@vue/test-utils';
import { WebSocket as MockWebSocket, Server } from 'mock-socket';
import { type ClientOptions, WebSocketClient, type WebSocketConstructor } from 'resilient-ws';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { createSSRApp, defineComponent, effectScope, h, nextTick, ref, type ShallowRef, shallowRef } from 'vue';
import { renderToString } from 'vue/server-renderer';
import {
  provideWebSocketClient,
  useConnectionState,
  useLastMessage,
  useMessage,
  useWebSocket,
  useWebSocketClient,
} from '../../src/vue';

type ServerMsg = { type: 'chat'; text: string } | { type: 'presence'; n: number };
type ClientMsg = { type: 'say'; text: string };
type Client = WebSocketClient<ServerMsg, ClientMsg>;

const URL_A = 'ws://vue.test/a';
const URL_B = 'ws://vue.test/b';
const WS = MockWebSocket as unknown as WebSocketConstructor;

let servers: Server[];
let connections: Record<string, number>;
let server: Server;

const serve = (url: string): Server => {
  const s = new Server(url, { mock: false });
  connections[url] = 0;
  s.on('connection', () => connections[url]++);
  servers.push(s);
  return s;
};

const options = (extra?: Partial<ClientOptions<ServerMsg, ClientMsg>>): ClientOptions<ServerMsg, ClientMsg> => ({
  url: URL_A,
  WebSocket: WS,
  heartbeat: false,
  reconnect: false,
  ...extra,
});

const makeClient = (extra?: Partial<ClientOptions<ServerMsg, ClientMsg>>): Client =>
  new WebSocketClient<ServerMsg, ClientMsg>(options({ autoConnect: false, ...extra }));

/** Sends a message from the server to every socket it holds. */
const push = (s: Server, msg: ServerMsg): void => {
  for (const socket of s.clients()) socket.send(JSON.stringify(msg));
};

const opened = (client: Client) => vi.waitFor(() => expect(client.state).toBe('open'));

/** mock-socket forgets a closed socket a few ms after `close()`. */
const gone = (s: Server) => vi.waitFor(() => expect(s.clients()).toHaveLength(0));

/**
 * Counts the client's live subscriptions (`on` and `onStateChange` not yet undone), so a test
 * can check that unmounting leaves none.
 */
const liveSubscriptions = (client: Client): (() => number) => {
  let live = 0;
  for (const method of ['on', 'onStateChange'] as const) {
    const original = client[method].bind(client) as (...args: unknown[]) => () => void;
    vi.spyOn(client, method).mockImplementation(((...args: unknown[]) => {
      const off = original(...args);
      live++;
      let done = false;
      return () => {
        if (!done) live--;
        done = true;
        off();
      };
    }) as never);
  }
  return () => live;
};

/** A component that runs `setup` and renders what `render` returns as text. */
const probe = (setup: () => () => string) =>
  defineComponent({
    setup() {
      const render = setup();
      return () => h('p', render());
    },
  });

beforeEach(() => {
  servers = [];
  connections = {};
  server = serve(URL_A);
});
afterEach(() => {
  for (const s of servers) s.stop();
  vi.restoreAllMocks();
});

describe('provideWebSocketClient and useWebSocketClient', () => {
  it('gives the client provided by a parent to the components below it', () => {
    const client = makeClient();
    let got: unknown;
    const Child = defineComponent({
      setup() {
        got = useWebSocketClient().value;
        return () => null;
      },
    });
    mount(
      defineComponent({
        setup() {
          provideWebSocketClient(client);
          return () => h(Child);
        },
      }),
    );
    expect(got).toBe(client);
  });

  it('gives the client provided on the app to every component', () => {
    const client = makeClient();
    let got: unknown;
    mount(
      defineComponent({
        setup() {
          got = useWebSocketClient().value;
          return () => null;
        },
      }),
      { global: { plugins: [{ install: (app) => provideWebSocketClient(client, app) }] } },
    );
    expect(got).toBe(client);
  });

  it('prefers an explicit client over the provided one', () => {
    const provided = makeClient();
    const explicit = makeClient();
    let got: unknown;
    mount(
      defineComponent({
        setup() {
          got = useWebSocketClient(explicit).value;
          return () => null;
        },
      }),
      { global: { plugins: [{ install: (app) => provideWebSocketClient(provided, app) }] } },
    );
    expect(got).toBe(explicit);
  });

  it('follows a provided ref to its new client', async () => {
    const first = makeClient();
    const second = makeClient();
    const current = shallowRef(first);
    const wrapper = mount(
      probe(() => {
        const c = useWebSocketClient<ServerMsg, ClientMsg>();
        return () => (c.value === first ? 'first' : c.value === second ? 'second' : '?');
      }),
      { global: { plugins: [{ install: (app) => provideWebSocketClient(current, app) }] } },
    );
    expect(wrapper.text()).toBe('first');
    current.value = second;
    await nextTick();
    expect(wrapper.text()).toBe('second');
  });

  it('throws an error saying to provide a client when there is none', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {}); // Vue reports the setup error too
    const Orphan = probe(() => {
      const state = useConnectionState();
      return () => state.value;
    });
    expect(() => mount(Orphan)).toThrow(/provideWebSocketClient/);
    // outside any component, too
    expect(() => useWebSocketClient()).toThrow(/provideWebSocketClient/);
  });
});

describe('useConnectionState', () => {
  it('follows the client from idle through open to closed, as a readonly ref', async () => {
    const client = makeClient();
    const seen: string[] = [];
    const wrapper = mount(
      probe(() => {
        const state = useConnectionState(client);
        return () => {
          seen.push(state.value);
          return state.value;
        };
      }),
    );
    expect(wrapper.text()).toBe('idle');
    client.connect();
    await opened(client);
    await nextTick();
    expect(wrapper.text()).toBe('open');
    client.close();
    await nextTick();
    expect(wrapper.text()).toBe('closed');
    // 'connecting' and 'open' may fall into one render; each state rendered is a real one, in order
    expect(seen[0]).toBe('idle');
    expect(seen.at(-1)).toBe('closed');
    expect(seen).toContain('open');
  });

  it('leaves no listener after unmount', async () => {
    const client = makeClient();
    const live = liveSubscriptions(client);
    let state!: { readonly value: string };
    const wrapper = mount(
      probe(() => {
        state = useConnectionState(client);
        return () => state.value;
      }),
    );
    expect(live()).toBe(1);
    wrapper.unmount();
    expect(live()).toBe(0);
    client.connect();
    await opened(client);
    expect(state.value).toBe('idle'); // no longer following
  });

  it('follows a client ref: unsubscribes from the old client, shows the new one', async () => {
    const first = makeClient();
    const second = makeClient();
    const liveFirst = liveSubscriptions(first);
    const liveSecond = liveSubscriptions(second);
    const current = shallowRef(first);
    const wrapper = mount(
      probe(() => {
        const state = useConnectionState(current);
        return () => state.value;
      }),
    );
    first.connect();
    await opened(first);
    await nextTick();
    expect(wrapper.text()).toBe('open');
    current.value = second;
    expect([liveFirst(), liveSecond()]).toEqual([0, 1]);
    await nextTick();
    expect(wrapper.text()).toBe('idle');
    wrapper.unmount();
    expect(liveSecond()).toBe(0);
    first.close();
  });
});

describe('useMessage', () => {
  it('calls the handler with each message of its type, narrowed', async () => {
    const client = makeClient();
    const got: string[] = [];
    mount(
      probe(() => {
        useMessage(
          'chat',
          (msg) => {
            expectTypeOf(msg).toEqualTypeOf<{ type: 'chat'; text: string }>();
            got.push(msg.text);
          },
          client,
        );
        return () => '';
      }),
    );
    client.connect();
    await opened(client);
    push(server, { type: 'chat', text: 'hi' });
    push(server, { type: 'presence', n: 2 });
    push(server, { type: 'chat', text: 'again' });
    expect(got).toEqual(['hi', 'again']);
  });

  it('does not re-render the component when a message arrives', async () => {
    const client = makeClient();
    let renders = 0;
    const got: string[] = [];
    mount(
      probe(() => {
        useMessage('chat', (msg) => got.push(msg.text), client);
        return () => String(renders++);
      }),
    );
    client.connect();
    await opened(client);
    const before = renders;
    push(server, { type: 'chat', text: 'a' });
    push(server, { type: 'chat', text: 'b' });
    await nextTick();
    expect(got).toEqual(['a', 'b']);
    expect(renders).toBe(before);
  });

  it('re-subscribes when a type ref changes, and the handler sees current state', async () => {
    const client = makeClient();
    const live = liveSubscriptions(client);
    const type = ref<ServerMsg['type']>('chat');
    const tag = ref('first');
    const calls: string[] = [];
    mount(
      probe(() => {
        useMessage(type, (m) => calls.push(`${tag.value}:${m.type}`), client);
        return () => '';
      }),
    );
    client.connect();
    await opened(client);
    push(server, { type: 'chat', text: 'x' });
    type.value = 'presence';
    tag.value = 'second';
    expect(live()).toBe(1);
    push(server, { type: 'chat', text: 'ignored' });
    push(server, { type: 'presence', n: 3 });
    expect(calls).toEqual(['first:chat', 'second:presence']);
  });

  it('unsubscribes on unmount, leaving no listener', async () => {
    const client = makeClient();
    const live = liveSubscriptions(client);
    const handler = vi.fn();
    const wrapper = mount(
      probe(() => {
        useMessage('*', handler, client);
        return () => '';
      }),
    );
    expect(live()).toBe(1);
    client.connect();
    await opened(client);
    push(server, { type: 'chat', text: 'in' });
    wrapper.unmount();
    expect(live()).toBe(0);
    push(server, { type: 'chat', text: 'out' });
    expect(handler.mock.calls).toEqual([[{ type: 'chat', text: 'in' }]]);
  });

  it('binds the message types once with withTypes', async () => {
    const client = makeClient();
    const useServerMessage = useMessage.withTypes<ServerMsg>();
    expect(useServerMessage).toBe(useMessage);
    const got: number[] = [];
    mount(
      probe(() => {
        useServerMessage('presence', (m) => got.push(m.n), client);
        return () => '';
      }),
    );
    client.connect();
    await opened(client);
    push(server, { type: 'presence', n: 7 });
    expect(got).toEqual([7]);
  });
});

describe('useLastMessage', () => {
  it('holds the latest message of its type, typed, and renders once per message of that type only', async () => {
    const client = makeClient();
    let renders = 0;
    let last!: ReturnType<typeof useLastMessage<ServerMsg, 'chat'>>;
    const wrapper = mount(
      probe(() => {
        last = useLastMessage('chat', client);
        expectTypeOf(last.value).toEqualTypeOf<{ type: 'chat'; text: string } | undefined>();
        return () => {
          renders++;
          return last.value?.text ?? '-';
        };
      }),
    );
    expect(wrapper.text()).toBe('-');
    client.connect();
    await opened(client);
    const before = renders;
    push(server, { type: 'chat', text: 'one' });
    await nextTick();
    expect(wrapper.text()).toBe('one');
    expect(renders).toBe(before + 1);
    push(server, { type: 'presence', n: 1 });
    push(server, { type: 'presence', n: 2 });
    await nextTick();
    expect(renders).toBe(before + 1);
    push(server, { type: 'chat', text: 'two' });
    await nextTick();
    expect(wrapper.text()).toBe('two');
    expect(renders).toBe(before + 2);
    expect(last.value).toEqual({ type: 'chat', text: 'two' });
  });

  it('forgets the message of the previous type when the type changes', async () => {
    const client = makeClient();
    const type = ref<ServerMsg['type']>('chat');
    let last!: { readonly value: unknown };
    mount(
      probe(() => {
        last = useLastMessage(type, client);
        return () => '';
      }),
    );
    client.connect();
    await opened(client);
    push(server, { type: 'chat', text: 'old' });
    expect(last.value).toEqual({ type: 'chat', text: 'old' });
    type.value = 'presence';
    expect(last.value).toBeUndefined();
    push(server, { type: 'presence', n: 9 });
    expect(last.value).toEqual({ type: 'presence', n: 9 });
  });

  it('leaves no listener after unmount and stops changing', async () => {
    const client = makeClient();
    const live = liveSubscriptions(client);
    let last!: { readonly value: unknown };
    const wrapper = mount(
      probe(() => {
        last = useLastMessage('chat', client);
        return () => '';
      }),
    );
    client.connect();
    await opened(client);
    push(server, { type: 'chat', text: 'kept' });
    wrapper.unmount();
    expect(live()).toBe(0);
    push(server, { type: 'chat', text: 'after' });
    expect(last.value).toEqual({ type: 'chat', text: 'kept' });
  });
});

describe('useWebSocket', () => {
  it('connects on mount, and disposes the client on unmount: no socket, no handler left', async () => {
    let client!: Client;
    const wrapper = mount(
      probe(() => {
        const c = useWebSocket<ServerMsg, ClientMsg>(options());
        client = c.value;
        const state = useConnectionState(c);
        return () => state.value;
      }),
    );
    await opened(client);
    await nextTick();
    expect(wrapper.text()).toBe('open');
    expect(connections[URL_A]).toBe(1);
    const handler = vi.fn();
    client.on('chat', handler);
    wrapper.unmount();
    expect(client.state).toBe('closed');
    await gone(server);
    // disposed, not merely closed: it can never connect again, so no handler can fire
    expect(() => client.connect()).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    expect(client.send({ type: 'say', text: 'late' })).toBe('dropped');
    expect(handler).not.toHaveBeenCalled();
  });

  it('removes every page listener the client added once the component unmounts', async () => {
    const added = vi.spyOn(window, 'addEventListener');
    const removed = vi.spyOn(window, 'removeEventListener');
    const docAdded = vi.spyOn(document, 'addEventListener');
    const docRemoved = vi.spyOn(document, 'removeEventListener');
    let client!: Client;
    const wrapper = mount(
      probe(() => {
        client = useWebSocket<ServerMsg, ClientMsg>(options()).value;
        return () => '';
      }),
    );
    await opened(client);
    expect(added.mock.calls.length + docAdded.mock.calls.length).toBeGreaterThan(0); // the page events
    wrapper.unmount();
    const key = (c: unknown[]) => `${String(c[0])}`;
    expect(removed.mock.calls.map(key).sort()).toEqual(added.mock.calls.map(key).sort());
    expect(docRemoved.mock.calls.map(key).sort()).toEqual(docAdded.mock.calls.map(key).sort());
    await gone(server);
  });

  it('hydrates server HTML without a mismatch, then connects', async () => {
    const warn = vi.spyOn(console, 'warn');
    const error = vi.spyOn(console, 'error');
    let client: Client | undefined;
    const App = defineComponent({
      setup() {
        const c = useWebSocket<ServerMsg, ClientMsg>(options());
        client = c.value;
        const state = useConnectionState(c);
        return () => h('p', state.value);
      },
    });
    const html = await renderToString(createSSRApp(App));
    expect(html).toBe('<p>idle</p>');
    const serverClient = client as Client;
    expect(serverClient.state).toBe('idle');
    const el = document.createElement('div');
    el.innerHTML = html;
    document.body.append(el);
    const app = createSSRApp(App);
    app.mount(el);
    const browserClient = client as Client;
    expect(browserClient).not.toBe(serverClient);
    await opened(browserClient);
    await nextTick();
    expect(el.innerHTML).toBe('<p>open</p>');
    expect(warn).not.toHaveBeenCalled();
    expect(error).not.toHaveBeenCalled();
    expect(connections[URL_A]).toBe(1);
    app.unmount();
    el.remove();
    await gone(server);
  });

  it('lives as long as an effect scope', async () => {
    const scope = effectScope();
    const client = scope.run(() => useWebSocket(options()).value) as Client;
    await opened(client);
    scope.stop();
    expect(client.state).toBe('closed');
    await gone(server);
  });

  it('makes a new client for each value of a url ref, disposes the old, and the composables follow', async () => {
    const serverB = serve(URL_B);
    const url = ref(URL_A);
    let c!: Readonly<ShallowRef<Client>>;
    const got: string[] = [];
    const wrapper = mount(
      probe(() => {
        c = useWebSocket<ServerMsg, ClientMsg>({ ...options(), url });
        const state = useConnectionState(c);
        const last = useLastMessage('presence', c);
        useMessage('chat', (m) => got.push(m.text), c);
        return () => `${state.value}|${last.value?.n ?? '-'}`;
      }),
    );
    const first = c.value;
    await opened(first);
    push(server, { type: 'chat', text: 'from a' });
    push(server, { type: 'presence', n: 1 });
    url.value = URL_B;
    await nextTick();
    const second = c.value;
    expect(second).not.toBe(first);
    expect(first.state).toBe('closed');
    expect(wrapper.text()).toMatch(/^(idle|connecting)\|-$/);
    await opened(second);
    await nextTick();
    expect(wrapper.text()).toBe('open|-');
    push(serverB, { type: 'chat', text: 'from b' });
    push(serverB, { type: 'presence', n: 2 });
    await nextTick();
    expect(wrapper.text()).toBe('open|2');
    expect(got).toEqual(['from a', 'from b']);
    await gone(server);
    expect(connections).toEqual({ [URL_A]: 1, [URL_B]: 1 });
    wrapper.unmount();
    expect(second.state).toBe('closed');
  });

  it('keeps its client when the component re-renders with new props', async () => {
    const made: Client[] = [];
    const Own = defineComponent({
      props: { token: { type: String, required: true } },
      setup(props) {
        const c = useWebSocket<ServerMsg, ClientMsg>(
          options({ auth: () => ({ type: 'say', text: props.token }), url: new URL(URL_A) }),
        );
        made.push(c.value);
        return () => h('p', `${props.token}:${c.value.state}`);
      },
    });
    const wrapper = mount(Own, { props: { token: 't1' } });
    await opened(made[0] as Client);
    await wrapper.setProps({ token: 't2' });
    await wrapper.setProps({ token: 't3' });
    expect(wrapper.text()).toBe('t3:open');
    expect(made).toHaveLength(1);
    expect(connections[URL_A]).toBe(1);
  });

  it('treats a url function as the client’s url factory: called on each connect, not at setup', async () => {
    const url = vi.fn(() => URL_A);
    let client!: Client;
    mount(
      probe(() => {
        client = useWebSocket<ServerMsg, ClientMsg>(options({ url, autoConnect: false })).value;
        return () => '';
      }),
    );
    expect(url).not.toHaveBeenCalled();
    client.connect();
    await opened(client);
    expect(url).toHaveBeenCalledTimes(1);
  });

  it('does not connect with autoConnect: false, and still disposes on unmount', async () => {
    let client!: Client;
    const wrapper = mount(
      probe(() => {
        client = useWebSocket<ServerMsg, ClientMsg>(options({ autoConnect: false })).value;
        return () => '';
      }),
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(client.state).toBe('idle');
    expect(connections[URL_A]).toBe(0);
    client.connect();
    await opened(client);
    wrapper.unmount();
    expect(client.state).toBe('closed');
    await gone(server);
  });

  it('works with the provider and every composable in one tree', async () => {
    const Feed = defineComponent({
      setup() {
        const texts = ref<string[]>([]);
        const client = useWebSocketClient<ServerMsg, ClientMsg>();
        useMessage('chat', (m) => texts.value.push(m.text), client);
        const last = useLastMessage('presence', client);
        const state = useConnectionState();
        return () => h('p', `${state.value}|${texts.value.join(',')}|${last.value?.n ?? '-'}`);
      },
    });
    const App = defineComponent({
      setup() {
        // a component cannot inject what it provides itself: it passes its own client on
        const client = useWebSocket<ServerMsg, ClientMsg>(options());
        provideWebSocketClient(client);
        const state = useConnectionState(client);
        return () => h('div', [h('span', state.value), h(Feed)]);
      },
    });
    const wrapper = mount(App);
    await vi.waitFor(() => expect(wrapper.find('p').text()).toBe('open||-'));
    push(server, { type: 'chat', text: 'a' });
    push(server, { type: 'presence', n: 4 });
    push(server, { type: 'chat', text: 'b' });
    await flushPromises();
    expect(wrapper.find('p').text()).toBe('open|a,b|4');
    expect(wrapper.find('span').text()).toBe('open');
    expect(connections[URL_A]).toBe(1);
    wrapper.unmount();
    await gone(server);
  });
});
