import { describe, expectTypeOf, it } from 'vitest';
import { delivery } from '../../src/delivery';
import { type Message, WebSocketClient } from '../../src/index';
import { request } from '../../src/request';

type ServerMsg =
  | { type: 'result'; value: string }
  | { type: 'balance'; account: string; amount: number }
  | { type: 'error'; message: string };
type ClientMsg = { type: 'get'; key: string } | { type: 'get_balance'; account: string };
const client = new WebSocketClient<ServerMsg, ClientMsg>({ url: 'ws://x', autoConnect: false });

describe('request, the reply type given as a value', () => {
  it('types the promise as the client’s message of that type', () => {
    expectTypeOf(request(client, { type: 'get_balance', account: 'a1' }, { reply: 'balance' })).toEqualTypeOf<
      Promise<{ type: 'balance'; account: string; amount: number }>
    >();
    expectTypeOf(request(client, { type: 'get', key: 'k' }, { reply: 'result', timeout: 50 })).toEqualTypeOf<
      Promise<{ type: 'result'; value: string }>
    >();
  });

  it('still checks the request against the client’s outgoing type', () => {
    // @ts-expect-error: a typo in the type
    request(client, { type: 'get_balnce', account: 'a1' }, { reply: 'balance' });
    // @ts-expect-error: a typo in a field
    request(client, { type: 'get_balance', acount: 'a1' }, { reply: 'balance' });
  });

  it('accepts only a type the server sends as the reply', () => {
    // @ts-expect-error: the server sends no 'balanse'
    request(client, { type: 'get_balance', account: 'a1' }, { reply: 'balanse' });
  });
});

describe('request without a reply type', () => {
  it('types the promise as any message of the client', () => {
    expectTypeOf(request(client, { type: 'get', key: 'a' })).toEqualTypeOf<Promise<ServerMsg>>();
    // @ts-expect-error: not a client message
    request(client, { type: 'nope' });
  });

  it('types it as Message for a client of any messages', () => {
    const loose = new WebSocketClient({ url: 'ws://x', autoConnect: false });
    expectTypeOf(request(loose, { type: 'anything' })).toEqualTypeOf<Promise<Message>>();
    expectTypeOf(request(loose, { type: 'anything' }, { reply: 'answer' })).toEqualTypeOf<Promise<Message>>();
  });

  it('compiles with the reply type named explicitly (which cannot check msg)', () => {
    expectTypeOf(request<{ type: 'result'; value: string }>(client, { type: 'get', key: 'a' })).toEqualTypeOf<
      Promise<{ type: 'result'; value: string }>
    >();
    // TypeScript infers every type argument or none (#26242): naming one turns off the check of msg
    request<{ type: 'result'; value: string }>(client, { type: 'get_balnce', acount: 1 });
  });
});

describe('delivery', () => {
  it('exposes its counters', () => {
    const d = delivery(client);
    expectTypeOf(d.unacked).toBeNumber();
    expectTypeOf(d.stop).toEqualTypeOf<() => void>();
  });
});
