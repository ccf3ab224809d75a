import { describe, expectTypeOf, it } from 'vitest';
import {
  type Message,
  type SendResult,
  type State,
  type StateDetail,
  WebSocketClient,
  type WebSocketClientError,
} from '../../src/index';

type ServerMsg =
  | { type: 'chat'; user: string; text: string }
  | { type: 'price'; symbol: string; price: number }
  | { type: 'system'; text: string };
type ClientMsg = { type: 'join'; room: string } | { type: 'message'; text: string };

const client = new WebSocketClient<ServerMsg, ClientMsg>({ url: 'ws://x', autoConnect: false });

describe('typed dispatch', () => {
  it('narrows the handler argument by type', () => {
    client.on('chat', (msg) => {
      expectTypeOf(msg).toEqualTypeOf<{ type: 'chat'; user: string; text: string }>();
    });
    client.once('price', (msg) => {
      expectTypeOf(msg.price).toBeNumber();
    });
  });

  it('gives "*" handlers the whole union', () => {
    client.on('*', (msg) => {
      expectTypeOf(msg).toEqualTypeOf<ServerMsg>();
    });
  });

  it('gives "?" handlers (messages without a string type) unknown', () => {
    client.on('?', (msg) => {
      expectTypeOf(msg).toEqualTypeOf<unknown>();
    });
  });

  it('rejects types the server does not send', () => {
    // @ts-expect-error: 'nope' is not a server message type
    client.on('nope', () => {});
    // @ts-expect-error: a chat handler cannot take a price
    client.on('chat', (msg: { type: 'price'; price: number }) => msg);
  });

  it('returns an unsubscribe function', () => {
    expectTypeOf(client.on('chat', () => {})).toEqualTypeOf<() => void>();
  });

  it('falls back to Message with default type parameters', () => {
    const loose = new WebSocketClient({ url: 'ws://x', autoConnect: false });
    loose.on('anything', (msg) => {
      expectTypeOf(msg).toEqualTypeOf<Message>();
      expectTypeOf(msg.type).toBeString();
    });
    expectTypeOf(loose.send({ type: 'x', any: 1 })).toEqualTypeOf<SendResult>();
  });
});

describe('typed send', () => {
  it('accepts only client messages and returns what happened', () => {
    expectTypeOf(client.send({ type: 'join', room: 'a' })).toEqualTypeOf<'sent' | 'queued' | 'dropped'>();
    // @ts-expect-error: missing room
    client.send({ type: 'join' });
    // @ts-expect-error: not a client message
    client.send({ type: 'chat', user: 'x', text: 'y' });
    client.send({ type: 'message', text: 'hi' }, { queue: false });
  });
});

describe('lifecycle', () => {
  it('types state listeners and errors', () => {
    client.onStateChange((state, detail) => {
      expectTypeOf(state).toEqualTypeOf<State>();
      expectTypeOf(detail).toEqualTypeOf<StateDetail>();
      expectTypeOf(detail.delay).toEqualTypeOf<number | undefined>();
    });
    client.onError((e) => {
      expectTypeOf(e).toEqualTypeOf<WebSocketClientError>();
      expectTypeOf(e.code).toEqualTypeOf<WebSocketClientError['code']>();
    });
    expectTypeOf(client.state).toEqualTypeOf<State>();
    expectTypeOf(client.latency).toEqualTypeOf<number | undefined>();
  });

  it('types the options', () => {
    new WebSocketClient<ServerMsg, ClientMsg>({
      url: async () => 'wss://x',
      auth: { message: async () => ({ type: 'join', room: 'token' }), isAck: (m) => m.type === 'system' },
      heartbeat: { message: { type: 'message', text: 'ping' }, isPong: (m) => m.type === 'system' },
      autoConnect: false,
    });
    // @ts-expect-error: an auth message must be a client message
    new WebSocketClient<ServerMsg, ClientMsg>({ url: 'ws://x', auth: { type: 'auth' } });
    // @ts-expect-error: reconnect.factor is a number
    new WebSocketClient({ url: 'ws://x', reconnect: { factor: '2' } });
  });
});
