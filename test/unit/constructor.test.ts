import { WebSocket as MockWebSocket } from 'mock-socket';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ClientOptions, WebSocketClient } from '../../src/index';
import { mockServer, type TestServer, tick } from './helpers';

const WebSocket = MockWebSocket as unknown as ClientOptions['WebSocket'];

describe('new WebSocketClient(url, options?)', () => {
  let srv: TestServer;
  beforeEach(() => {
    vi.useFakeTimers();
    srv = mockServer();
  });
  afterEach(() => {
    srv.server.stop();
    vi.useRealTimers();
  });

  it('connects to a url given first, with the options second', async () => {
    const client = new WebSocketClient(srv.url, { WebSocket, heartbeat: false });
    await tick();
    expect(client.state).toBe('open');
    expect(srv.sockets).toHaveLength(1);
    client.dispose();
  });

  it('applies the options given after the url', () => {
    const client = new WebSocketClient(srv.url, { WebSocket, autoConnect: false });
    expect(client.state).toBe('idle');
    expect(srv.sockets).toHaveLength(0);
  });

  it('takes a list of endpoints first', async () => {
    const client = new WebSocketClient([srv.url, 'ws://127.0.0.1:9/'], { WebSocket, heartbeat: false });
    await tick();
    expect(client.state).toBe('open');
    expect(srv.sockets).toHaveLength(1);
    client.dispose();
  });

  it('takes a URL object or a url factory first', async () => {
    const factory = vi.fn(() => srv.url);
    const a = new WebSocketClient(new URL(srv.url), { WebSocket, heartbeat: false });
    const b = new WebSocketClient(factory, { WebSocket, heartbeat: false });
    await tick();
    expect([a.state, b.state]).toEqual(['open', 'open']);
    expect(factory).toHaveBeenCalledOnce();
    a.dispose();
    b.dispose();
  });

  it('takes the url alone, with every default (the global WebSocket)', async () => {
    const saved = globalThis.WebSocket;
    globalThis.WebSocket = MockWebSocket as unknown as typeof globalThis.WebSocket;
    try {
      const client = new WebSocketClient(srv.url);
      await tick();
      expect(client.state).toBe('open');
      client.dispose();
    } finally {
      globalThis.WebSocket = saved;
    }
  });

  it('checks a url given first like options.url', () => {
    expect(() => new WebSocketClient('ftp://x', { autoConnect: false })).toThrowError(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringMatching(/^INVALID_OPTIONS: options\.url /),
      }),
    );
  });

  it('still takes the options object', () => {
    const client = new WebSocketClient({ url: srv.url, WebSocket, autoConnect: false });
    expect(client.state).toBe('idle');
  });
});

describe('an unknown option names the closest known one', () => {
  const message = (o: Record<string, unknown>): string => {
    try {
      new WebSocketClient({ url: 'ws://x', autoConnect: false, ...o } as never);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('no error');
  };

  it.each([
    // an option of a group, given at the top level
    [
      { shouldReconnect: () => true },
      'INVALID_OPTIONS: options.shouldReconnect is not an option; did you mean reconnect.shouldReconnect?',
    ],
    [{ maxAttempts: 3 }, 'INVALID_OPTIONS: options.maxAttempts is not an option; did you mean reconnect.maxAttempts?'],
    // typos, at the top level and in a group
    [{ reconect: {} }, 'INVALID_OPTIONS: options.reconect is not an option; did you mean reconnect?'],
    [{ hearbeat: false }, 'INVALID_OPTIONS: options.hearbeat is not an option; did you mean heartbeat?'],
    [{ websocket: null }, 'INVALID_OPTIONS: options.websocket is not an option; did you mean WebSocket?'],
    [
      { reconnect: { maxAttemps: 3 } },
      'INVALID_OPTIONS: options.reconnect.maxAttemps is not an option; did you mean reconnect.maxAttempts?',
    ],
    [{ queue: { maxsize: 3 } }, 'INVALID_OPTIONS: options.queue.maxsize is not an option; did you mean queue.maxSize?'],
    // an option of another group
    [
      { reconnect: { interval: 1 } },
      'INVALID_OPTIONS: options.reconnect.interval is not an option; did you mean heartbeat.interval?',
    ],
    // a top-level option given in a group
    [
      { reconnect: { connectTimeout: 1 } },
      'INVALID_OPTIONS: options.reconnect.connectTimeout is not an option; did you mean connectTimeout?',
    ],
  ])('%j', (o, expected) => {
    expect(message(o)).toBe(expected);
  });

  it('prefers a name of the same group when two are as near', () => {
    // `timeout` is both `heartbeat.timeout` and `auth.timeout`
    expect(message({ auth: { message: {}, timout: 1 } })).toBe(
      'INVALID_OPTIONS: options.auth.timout is not an option; did you mean auth.timeout?',
    );
    expect(message({ heartbeat: { timout: 1 } })).toBe(
      'INVALID_OPTIONS: options.heartbeat.timout is not an option; did you mean heartbeat.timeout?',
    );
  });

  it('prefers the fewest edits over its own group', () => {
    // `url` is 2 edits from `ttl`, at the top level; `queue.ttl` is 0
    expect(message({ ttl: 1000 })).toBe('INVALID_OPTIONS: options.ttl is not an option; did you mean queue.ttl?');
  });

  it('says nothing more when no name is near', () => {
    expect(message({ foo: 1 })).toBe('INVALID_OPTIONS: options.foo is not an option');
    expect(message({ reconnect: { zzz: 1 } })).toBe('INVALID_OPTIONS: options.reconnect.zzz is not an option');
  });
});
