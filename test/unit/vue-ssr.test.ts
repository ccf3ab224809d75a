// @vitest-environment node
// Server rendering with `vue/server-renderer`: every composable renders under Node with no DOM,
// no socket is ever created, no subscription is made, and no browser global is touched.
import { WebSocketClient, type WebSocketConstructor } from 'resilient-ws';
import { expect, it, vi } from 'vitest';
import { createSSRApp, defineComponent, h, ref } from 'vue';
import { renderToString } from 'vue/server-renderer';
import {
  provideWebSocketClient,
  useConnectionState,
  useLastMessage,
  useMessage,
  useWebSocket,
  useWebSocketClient,
} from '../../src/vue';

const BROWSER_GLOBALS = [
  'window',
  'document',
  'navigator',
  'location',
  'WebSocket',
  'addEventListener',
  'removeEventListener',
  'requestAnimationFrame',
];

/** Runs `fn` with every browser global replaced by a trap that records any access to it. */
async function recordingGlobals<T>(fn: () => Promise<T>): Promise<[T, string[]]> {
  const touched: string[] = [];
  const saved = BROWSER_GLOBALS.map((name) => [name, Object.getOwnPropertyDescriptor(globalThis, name)] as const);
  for (const name of BROWSER_GLOBALS)
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() {
        touched.push(name);
        return undefined;
      },
      set() {
        touched.push(`${name}=`);
      },
    });
  try {
    return [await fn(), touched];
  } finally {
    for (const [name, d] of saved) {
      if (d) Object.defineProperty(globalThis, name, d);
      else delete (globalThis as Record<string, unknown>)[name];
    }
  }
}

it('renders an app using every composable to HTML: state idle, no socket, no subscription, no browser global of its own', async () => {
  expect(typeof window).toBe('undefined');
  const constructed = vi.fn();
  const Spy = vi.fn(function (this: unknown, url: string) {
    constructed(url);
  }) as unknown as WebSocketConstructor;
  const handler = vi.fn();
  const shared = new WebSocketClient({ url: 'wss://example.test/shared', WebSocket: Spy, autoConnect: false });
  const on = vi.spyOn(shared, 'on');
  const onStateChange = vi.spyOn(shared, 'onStateChange');
  let own: WebSocketClient | undefined;

  const Feed = defineComponent({
    setup() {
      const client = useWebSocketClient();
      useMessage('chat', handler, client);
      const last = useLastMessage('chat');
      const state = useConnectionState();
      return () => h('p', `${state.value}|${last.value ? 'msg' : 'none'}`);
    },
  });
  const Own = defineComponent({
    setup() {
      const client = useWebSocket({ url: ref('wss://example.test/own'), WebSocket: Spy });
      own = client.value;
      const state = useConnectionState(client);
      return () => h('p', `${state.value}|${client.value.state}`);
    },
  });
  const app = createSSRApp({ render: () => [h(Feed), h(Own)] });
  provideWebSocketClient(shared, app);

  const [html, touched] = await recordingGlobals(() => renderToString(app));

  expect(html).toBe('<!--[--><p>idle|none</p><p>idle|idle</p><!--]-->');
  // The only access is the core's own: constructing a client resolves a relative url against
  // `globalThis.location` when there is one (an optional read). The adapter adds none.
  const [, byConstructor] = await recordingGlobals(
    async () => new WebSocketClient({ url: 'wss://example.test/own', autoConnect: false }),
  );
  expect(byConstructor).toEqual(['location']);
  expect(touched).toEqual(byConstructor); // the one client useWebSocket made
  await new Promise((r) => setTimeout(r, 20)); // a connect would construct the socket a tick later
  expect(constructed).not.toHaveBeenCalled();
  expect(handler).not.toHaveBeenCalled();
  expect(on).not.toHaveBeenCalled();
  expect(onStateChange).not.toHaveBeenCalled();
  expect(shared.state).toBe('idle');
  expect(own).toBeInstanceOf(WebSocketClient);
  expect(own?.state).toBe('idle');
});

it('the global traps notice an access', async () => {
  const [, touched] = await recordingGlobals(async () => typeof document);
  expect(touched).toEqual(['document']);
});
