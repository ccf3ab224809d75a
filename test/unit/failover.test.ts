import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSocketClient } from '../../src/index';
import { makeClient, mockServer, type TestServer, tick } from './helpers';

let servers: TestServer[];
beforeEach(() => {
  vi.useFakeTimers();
  servers = [mockServer(), mockServer(), mockServer()];
});
afterEach(() => {
  for (const s of servers) s.server.stop();
  vi.useRealTimers();
});

const [A, B, C] = [0, 1, 2];
/** How many connections each server has had. */
const counts = () => servers.map((s) => s.sockets.length);

describe('a list of endpoints', () => {
  it('connects to the first, and keeps a connection that works', async () => {
    const { client } = makeClient(servers.map((s) => s.url));
    await tick();
    expect(client.state).toBe('open');
    expect(counts()).toEqual([1, 0, 0]);
    await tick(5000);
    expect(counts()).toEqual([1, 0, 0]);
    client.dispose();
  });

  it('moves to the next one when a connection is lost, and round the list', async () => {
    const { client } = makeClient(servers.map((s) => s.url));
    await tick();
    await servers[A]?.drop();
    await tick(120); // the reconnect delay (100 ms, no jitter) and the open
    expect(client.state).toBe('open');
    expect(counts()).toEqual([1, 1, 0]);
    await servers[B]?.drop();
    await tick(1100); // the attempt counter only resets after `resetAfter`: longer delays now
    expect(counts()).toEqual([1, 1, 1]);
    await servers[C]?.drop();
    await tick(1100);
    expect(counts()).toEqual([2, 1, 1]);
    client.dispose();
  });

  it('moves to the next one when an attempt fails, and sticks to the one that answers', async () => {
    servers[A]?.server.stop();
    servers[B]?.server.stop();
    const { client, states } = makeClient(servers.map((s) => s.url));
    await tick(); // A refuses
    await tick(110); // after 100 ms, B refuses
    await tick(220); // after 200 ms more, C answers
    expect(client.state).toBe('open');
    expect(counts()).toEqual([0, 0, 1]);
    expect(states.filter((s) => s === 'reconnecting')).toHaveLength(2);
    await tick(5000);
    expect(counts()).toEqual([0, 0, 1]);
    client.dispose();
  });

  it('calls an entry that is a factory (sync or async) only when its turn comes', async () => {
    const b = vi.fn(async () => `${servers[B]?.url}?fresh=1`);
    const { client } = makeClient([servers[A]?.url as string, b]);
    await tick();
    expect(b).not.toHaveBeenCalled();
    await servers[A]?.drop();
    await tick(120);
    expect(b).toHaveBeenCalledTimes(1);
    expect(client.state).toBe('open');
    expect(counts()).toEqual([1, 1, 0]);
    client.dispose();
  });

  it('refuses an empty list or a bad entry at construction, naming options.url', () => {
    const make = (url: unknown) => () => new WebSocketClient({ url: url as string, autoConnect: false });
    expect(make([])).toThrow(/options\.url/);
    expect(make(['ws://ok', 'ftp://bad'])).toThrow(/options\.url/);
    expect(make(['ws://ok', 42])).toThrow(/options\.url/);
    expect(make(['ws://a', () => 'ws://b', new URL('wss://c')])).not.toThrow();
  });
});
