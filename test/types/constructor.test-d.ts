import { describe, expectTypeOf, it } from 'vitest';
import { type Message, WebSocketClient } from '../../src/index';

type ServerMsg = { type: 'chat'; text: string } | { type: 'auth_ok' };
type ClientMsg = { type: 'auth'; token: string } | { type: 'say'; text: string };

describe('new WebSocketClient(url, options?)', () => {
  it('takes a url first, as the native WebSocket does', () => {
    expectTypeOf(new WebSocketClient('wss://x')).toEqualTypeOf<WebSocketClient<Message, Message>>();
    expectTypeOf(new WebSocketClient(new URL('wss://x'))).toEqualTypeOf<WebSocketClient<Message, Message>>();
    expectTypeOf(new WebSocketClient(async () => 'wss://x')).toEqualTypeOf<WebSocketClient<Message, Message>>();
  });

  it('types the options after the url by the client’s messages', () => {
    const client = new WebSocketClient<ServerMsg, ClientMsg>('wss://x', {
      auth: { message: { type: 'auth', token: 't' }, isAck: (m) => m.type === 'auth_ok' },
      reconnect: { maxAttempts: 5 },
    });
    expectTypeOf(client).toEqualTypeOf<WebSocketClient<ServerMsg, ClientMsg>>();
    // @ts-expect-error: the auth message must be a client message
    new WebSocketClient<ServerMsg, ClientMsg>('wss://x', { auth: { type: 'hello' } });
    // @ts-expect-error: reconnect.factor is a number
    new WebSocketClient('wss://x', { reconnect: { factor: '2' } });
  });

  it('refuses a second url, and what is not a url', () => {
    // @ts-expect-error: the url is given once, first
    new WebSocketClient('wss://x', { url: 'wss://y' });
    // @ts-expect-error: not a url
    new WebSocketClient(42);
    // @ts-expect-error: protocols go in the options
    new WebSocketClient('wss://x', 'chat');
  });

  it('keeps the options object form', () => {
    expectTypeOf(new WebSocketClient<ServerMsg, ClientMsg>({ url: 'wss://x' })).toEqualTypeOf<
      WebSocketClient<ServerMsg, ClientMsg>
    >();
    // @ts-expect-error: url is required in the object form
    new WebSocketClient({ autoConnect: false });
  });
});
