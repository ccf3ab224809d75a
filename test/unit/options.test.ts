import { describe, expect, it } from 'vitest';
import { WebSocketClient } from '../../src/index';

const make = (o: Record<string, unknown>) => () =>
  new WebSocketClient({ url: 'ws://x', autoConnect: false, ...o } as never);

describe('options', () => {
  it.each([
    [{ url: 'ftp://x' }, 'options.url'],
    [{ url: 'ws://exa mple.com' }, 'options.url'],
    [{ url: 42 }, 'options.url'],
    [{ connectTimeout: -1 }, 'options.connectTimeout'],
    [{ connectTimeout: '5' }, 'options.connectTimeout'],
    [{ reconnect: { factor: Number.NaN } }, 'options.reconnect.factor'],
    [{ reconnect: { shouldReconnect: true } }, 'options.reconnect.shouldReconnect'],
    [{ reconnect: { fatalCloseCodes: ['x'] } }, 'options.reconnect.fatalCloseCodes'],
    [{ reconnect: 'yes' }, 'options.reconnect'],
    [{ heartbeat: { interval: -5 } }, 'options.heartbeat.interval'],
    [{ queue: { overflow: 'explode' } }, 'options.queue.overflow'],
    [{ queue: { maxSize: -1 } }, 'options.queue.maxSize'],
    [{ auth: { message: undefined, isAck: () => true } }, 'options.auth.message'],
    [{ auth: { message: {}, isAck: 'x' } }, 'options.auth.isAck'],
    [{ WebSocket: 'ws' }, 'options.WebSocket'],
    [{ serialize: 1 }, 'options.serialize'],
    [{ reconect: {} }, 'options.reconect'],
    [{ debug: 'yes' }, 'options.debug'],
  ])('%j is INVALID_OPTIONS naming %s', (o, name) => {
    expect(make(o)).toThrowError(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining(name) }),
    );
  });

  it('accepts a URL object, an http URL and a factory', () => {
    expect(make({ url: new URL('wss://example.com/ws') })).not.toThrow();
    expect(make({ url: 'https://example.com/ws' })).not.toThrow();
    expect(make({ url: () => 'ws://x' })).not.toThrow();
  });

  it('accepts valid values of every kind', () => {
    expect(
      make({
        typeKey: 'kind',
        binaryType: 'blob',
        debug: true,
        connectTimeout: 5,
        reconnect: { jitter: 0, maxAttempts: 3, fatalCloseCodes: [4000], shouldReconnect: () => true },
        heartbeat: false,
        queue: { overflow: 'throw', ttl: 0 },
        logger: { warn() {} },
      }),
    ).not.toThrow();
  });

  it('resolves a relative URL against the page, as browsers do', () => {
    expect(make({ url: '/ws' })).not.toThrow();
  });

  it('does not confuse an auth message that has a `message` field with AuthOptions', () => {
    expect(make({ auth: { type: 'auth', message: 'hello' } })).not.toThrow();
  });
});
