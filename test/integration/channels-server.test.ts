// The reference server's channel handler on its own, with a store that fails: a subscription
// the store cannot answer closes the connection (1011), so the client reconnects and asks
// again, instead of leaving the channel waiting for an answer that never comes.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { channels } from '../../demo/server/channels';
import { memoryChannels } from '../../demo/server/channels-store';
import { DEFAULT_LIMITS } from '../../demo/server/limits';
import { tokens } from '../../demo/server/tokens';
import type { Conn, Ctx } from '../../demo/server/types';

function fakeConn(): { c: Conn; sent: string[]; closed: number[] } {
  const sent: string[] = [];
  const closed: number[] = [];
  const ws = {
    readyState: 1,
    send: (d: string) => sent.push(d),
    close: (code: number) => closed.push(code),
    terminate: () => closed.push(1006),
  };
  const c = { info: { id: 1, user: 'u' }, ws, closing: false, stalled: false } as unknown as Conn;
  return { c, sent, closed };
}

describe('channel handler', () => {
  it('a store that fails on subscribe: the connection is closed with 1011, not left waiting', async () => {
    const store = memoryChannels();
    store.read = async () => {
      throw new Error('store down');
    };
    const ctx = {
      log: () => {},
      events: new EventEmitter(),
      bus: { instance: 'i' },
      limits: DEFAULT_LIMITS,
    } as unknown as Ctx;
    const ch = channels(ctx, store, tokens('k'));
    const { c, sent, closed } = fakeConn();
    await ch.handle(c, { type: 'sub', channel: 'a', client: 'x' });
    expect(sent.filter((s) => s.includes('"subscribed"'))).toEqual([]);
    expect(closed).toEqual([1011]);
    ch.close();
  });
});
