import { describe, expectTypeOf, it } from 'vitest';
import { computed, type Ref, ref, shallowRef } from 'vue';
import { type State, WebSocketClient } from '../../src/index';
import {
  provideWebSocketClient,
  useConnectionState,
  useLastMessage,
  useMessage,
  useWebSocket,
  useWebSocketClient,
} from '../../src/vue';

type ServerMsg =
  | { type: 'chat'; user: string; text: string }
  | { type: 'price'; symbol: string; price: number }
  | { type: 'system'; text: string };
type ClientMsg = { type: 'join'; room: string } | { type: 'message'; text: string };
type Chat = { type: 'chat'; user: string; text: string };

const client = new WebSocketClient<ServerMsg, ClientMsg>({ url: 'ws://x', autoConnect: false });

describe('narrowing by type', () => {
  it('narrows the useMessage handler from a typed client, a ref to one, or the provided one', () => {
    useMessage('chat', (m) => expectTypeOf(m).toEqualTypeOf<Chat>(), client);
    useMessage('price', (m) => expectTypeOf(m.price).toBeNumber(), shallowRef(client));
    const owned = useWebSocket<ServerMsg, ClientMsg>({ url: 'ws://x' });
    useMessage('system', (m) => expectTypeOf(m).toEqualTypeOf<{ type: 'system'; text: string }>(), owned);
    const provided = useWebSocketClient<ServerMsg, ClientMsg>();
    useMessage('chat', (m) => expectTypeOf(m).toEqualTypeOf<Chat>(), provided);
    useMessage(
      'chat',
      (m) => expectTypeOf(m).toEqualTypeOf<Chat>(),
      () => client,
    );
  });

  it('gives "*" handlers the whole union', () => {
    useMessage('*', (m) => expectTypeOf(m).toEqualTypeOf<ServerMsg>(), client);
  });

  it('narrows a type given as a ref to the union of its types', () => {
    const type = ref<'chat' | 'system'>('chat');
    useMessage(type, (m) => expectTypeOf(m.text).toBeString(), client);
    expectTypeOf(useLastMessage(type, client).value).toEqualTypeOf<
      Chat | { type: 'system'; text: string } | undefined
    >();
  });

  it('types useLastMessage as a readonly ref to the narrowed message', () => {
    const last = useLastMessage('price', client);
    expectTypeOf(last.value).toEqualTypeOf<{ type: 'price'; symbol: string; price: number } | undefined>();
    // @ts-expect-error: the ref is readonly
    last.value = undefined;
  });

  it('binds the message types once with withTypes', () => {
    const useServerMessage = useMessage.withTypes<ServerMsg>();
    useServerMessage('chat', (m) => expectTypeOf(m).toEqualTypeOf<Chat>());
    // @ts-expect-error: 'nope' is not a server message type
    useServerMessage('nope', () => {});
    const useLastServerMessage = useLastMessage.withTypes<ServerMsg>();
    expectTypeOf(useLastServerMessage('system').value).toEqualTypeOf<{ type: 'system'; text: string } | undefined>();
  });

  it('rejects types the server does not send, and handlers of another type', () => {
    // @ts-expect-error: 'nope' is not a server message type
    useMessage('nope', () => {}, client);
    // @ts-expect-error: a chat handler cannot take a price
    useMessage('chat', (m: { type: 'price'; price: number }) => m, client);
    // @ts-expect-error: 'nope' is not a server message type
    useLastMessage('nope', client);
  });

  it('leaves an untyped client open to any type', () => {
    useMessage('anything', (m) => expectTypeOf(m.type).toBeString());
  });
});

describe('the other composables', () => {
  it('useConnectionState is a readonly ref to the State', () => {
    const state = useConnectionState(client);
    expectTypeOf(state.value).toEqualTypeOf<State>();
    // @ts-expect-error: the ref is readonly
    state.value = 'open';
  });

  it('useWebSocket returns a readonly ref to a typed client, and takes a ref url', () => {
    const url = ref('ws://a');
    const c = useWebSocket<ServerMsg, ClientMsg>({ url, auth: { type: 'join', room: 'r' } });
    expectTypeOf(c.value).toEqualTypeOf<WebSocketClient<ServerMsg, ClientMsg>>();
    // @ts-expect-error: the ref is readonly
    c.value = client;
    useWebSocket({ url: computed(() => new URL('ws://b')) });
    useWebSocket({ url: () => 'ws://c' });
    // @ts-expect-error: a url must be a string, URL or a factory of one
    useWebSocket({ url: ref(42) });
    // @ts-expect-error: sends are typed by the client's outgoing messages
    c.value.send({ type: 'nope' });
  });

  it('provideWebSocketClient takes a client or a ref to one', () => {
    provideWebSocketClient(client);
    provideWebSocketClient(useWebSocket({ url: 'ws://x' }));
    const r: Ref<number> = ref(1);
    // @ts-expect-error: not a client
    provideWebSocketClient(r);
  });
});
