import { describe, expectTypeOf, it } from 'vitest';
import { delivery } from '../../src/delivery';
import { WebSocketClient } from '../../src/index';
import { request } from '../../src/request';

type ClientMsg = { type: 'get'; key: string };
const client = new WebSocketClient<{ type: 'result'; value: string }, ClientMsg>({ url: 'ws://x', autoConnect: false });

describe('request types', () => {
  it('returns a promise of the declared reply type', () => {
    expectTypeOf(request<{ type: 'result'; value: string }>(client, { type: 'get', key: 'a' })).toEqualTypeOf<
      Promise<{ type: 'result'; value: string }>
    >();
  });
  it('checks the request against the client’s outgoing type', () => {
    // @ts-expect-error: not a client message
    request(client, { type: 'nope' });
  });
  it('delivery exposes its counters', () => {
    const d = delivery(client);
    expectTypeOf(d.unacked).toBeNumber();
    expectTypeOf(d.stop).toEqualTypeOf<() => void>();
  });
});
