import { describe, expectTypeOf, it } from 'vitest';
import { type Message, WebSocketClient } from '../../src/index';
import { type UseLastMessage, type UseMessage, useLastMessage, useMessage, useWebSocket } from '../../src/react';

type ChatMsg = { type: 'chat'; from: string; text: string };
type PresenceMsg = { type: 'presence'; online: number };
type ServerMsg = ChatMsg | PresenceMsg;
type ClientMsg = { type: 'say'; text: string };

const client = new WebSocketClient<ServerMsg, ClientMsg>({ url: 'ws://x', autoConnect: false });

describe('hooks bound to the message types once (withTypes)', () => {
  const useServerMessage = useMessage.withTypes<ServerMsg>();
  const useLastServerMessage = useLastMessage.withTypes<ServerMsg>();

  it('narrows the handler’s message by type, with no client passed', () => {
    useServerMessage('chat', (m) => {
      expectTypeOf(m).toEqualTypeOf<ChatMsg>();
      expectTypeOf(m.from).toBeString();
    });
    useServerMessage('*', (m) => {
      expectTypeOf(m).toEqualTypeOf<ServerMsg>();
    });
  });

  it('types the latest message by type', () => {
    expectTypeOf(useLastServerMessage('presence')).toEqualTypeOf<PresenceMsg | undefined>();
    expectTypeOf(useLastServerMessage('*')).toEqualTypeOf<ServerMsg | undefined>();
  });

  it('refuses types the server does not send', () => {
    // @ts-expect-error: the server sends no 'chta'
    useServerMessage('chta', () => {});
    // @ts-expect-error: the server sends no 'price'
    useLastServerMessage('price');
    // @ts-expect-error: a chat handler cannot take a presence message
    useServerMessage('chat', (m: PresenceMsg) => m);
  });

  it('still takes a client of those types', () => {
    useServerMessage('chat', () => {}, client);
    const other = new WebSocketClient<{ type: 'tick' }>({ url: 'ws://x', autoConnect: false });
    // @ts-expect-error: a client of other messages
    useServerMessage('chat', () => {}, other);
  });
});

describe('hooks typed by the client passed last', () => {
  it('narrows as before', () => {
    useMessage('chat', (m) => expectTypeOf(m).toEqualTypeOf<ChatMsg>(), client);
    expectTypeOf(useLastMessage('presence', client)).toEqualTypeOf<PresenceMsg | undefined>();
    // @ts-expect-error: the client's server sends no 'nope'
    useMessage('nope', () => {}, client);
  });

  it('gives Message without a client or types', () => {
    useMessage('anything', (m) => expectTypeOf(m).toEqualTypeOf<Message>());
    expectTypeOf(useLastMessage('anything')).toEqualTypeOf<Message | undefined>();
  });
});

describe('the explicit generic form compiles', () => {
  it('useMessage<ServerMsg>(type, handler) checks the type; the handler gets the union', () => {
    // TypeScript infers every type argument or none (#26242): with `In` named, `T` is not inferred
    useMessage<ServerMsg>('chat', (m) => expectTypeOf(m).toEqualTypeOf<ServerMsg>());
    // @ts-expect-error: the server sends no 'chta'
    useMessage<ServerMsg>('chta', () => {});
    // naming both narrows
    useMessage<ServerMsg, 'chat'>('chat', (m) => expectTypeOf(m).toEqualTypeOf<ChatMsg>());
    expectTypeOf(useLastMessage<ServerMsg, 'presence'>('presence')).toEqualTypeOf<PresenceMsg | undefined>();
  });

  it('exports the hooks’ types', () => {
    expectTypeOf(useMessage).toEqualTypeOf<UseMessage>();
    expectTypeOf(useLastMessage).toEqualTypeOf<UseLastMessage>();
    expectTypeOf(useWebSocket<ServerMsg, ClientMsg>).returns.toEqualTypeOf<WebSocketClient<ServerMsg, ClientMsg>>();
  });
});
