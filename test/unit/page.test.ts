import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeClient, mockServer, type TestServer, tick } from './helpers';

let srv: TestServer;
let online: boolean;
let hidden: boolean;
beforeEach(() => {
  vi.useFakeTimers();
  srv = mockServer();
  online = true;
  hidden = false;
  vi.spyOn(navigator, 'onLine', 'get').mockImplementation(() => online);
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
  Object.defineProperty(document, 'visibilityState', {
    configurable: true,
    get: () => (hidden ? 'hidden' : 'visible'),
  });
});
afterEach(() => {
  srv.server.stop();
  vi.restoreAllMocks();
  // @ts-expect-error: drop the test's own properties, back to happy-dom's
  delete document.hidden;
  // @ts-expect-error: as above
  delete document.visibilityState;
  vi.useRealTimers();
});

const setOnline = (v: boolean) => {
  online = v;
  window.dispatchEvent(new Event(v ? 'online' : 'offline'));
};
const setHidden = (v: boolean) => {
  hidden = v;
  document.dispatchEvent(new Event('visibilitychange'));
};
const pageTransition = (type: 'pagehide' | 'pageshow', persisted: boolean) => {
  const e = new Event(type);
  Object.defineProperty(e, 'persisted', { value: persisted });
  window.dispatchEvent(e);
};

describe('page and network events', () => {
  it('offline: no attempts are burned; online: reconnects at once with the backoff reset', async () => {
    const { client, states } = makeClient(srv.url);
    await tick();
    setOnline(false);
    await srv.drop();
    expect(client.state).toBe('reconnecting');
    await tick(60_000);
    expect(srv.sockets).toHaveLength(1);
    expect(states.filter((s) => s === 'connecting')).toHaveLength(1);
    setOnline(true);
    expect(client.state).toBe('connecting');
    expect(client.attempt).toBe(0);
    await tick();
    expect(client.state).toBe('open');
    client.dispose();
  });

  it('going offline while open verifies the connection with a ping', async () => {
    const { client } = makeClient(srv.url, { heartbeat: { interval: 10_000, timeout: 500 } });
    await tick();
    setOnline(false);
    await tick();
    expect(srv.frames).toEqual([{ type: 'ping' }]);
    client.dispose();
  });

  it('the tab becoming visible runs a waiting reconnect now', async () => {
    const { client } = makeClient(srv.url, { reconnect: { initialDelay: 5000, jitter: 0 } });
    await tick();
    await srv.drop();
    setHidden(true);
    setHidden(false);
    await tick();
    expect(client.state).toBe('open');
    expect(srv.sockets).toHaveLength(2);
    client.dispose();
  });

  it('the tab becoming visible verifies an open connection with an immediate ping', async () => {
    const { client } = makeClient(srv.url, { heartbeat: { interval: 10_000, timeout: 500 } });
    await tick();
    setHidden(true);
    setHidden(false);
    await tick();
    expect(srv.frames).toEqual([{ type: 'ping' }]);
    client.dispose();
  });

  it('while hidden, reconnect delays are stretched by hiddenFactor', async () => {
    const delays: (number | undefined)[] = [];
    const { client } = makeClient(srv.url, { reconnect: { initialDelay: 100, jitter: 0, hiddenFactor: 4 } });
    client.onStateChange((s, d) => s === 'reconnecting' && delays.push(d.delay));
    await tick();
    setHidden(true);
    await srv.drop();
    expect(delays).toEqual([400]);
    await tick(200);
    expect(srv.sockets).toHaveLength(1);
    await tick(210);
    expect(srv.sockets).toHaveLength(2);
    client.dispose();
  });

  it('pagehide into the back/forward cache closes cleanly; pageshow from it reconnects', async () => {
    const { client } = makeClient(srv.url);
    await tick();
    const closed = vi.fn();
    srv.last().on('close', closed);
    pageTransition('pagehide', true);
    expect(client.readyState).toBe(3);
    expect(vi.getTimerCount()).toBe(1); // only mock-socket's close delivery
    await tick();
    expect(closed).toHaveBeenCalled();
    pageTransition('pageshow', true);
    await tick();
    expect(client.state).toBe('open');
    expect(srv.sockets).toHaveLength(2);
    client.dispose();
  });

  it('a pagehide that is not into the cache changes nothing', async () => {
    const { client } = makeClient(srv.url);
    await tick();
    pageTransition('pagehide', false);
    expect(client.state).toBe('open');
    client.dispose();
  });

  it('close() removes every window listener; connect() adds them back', async () => {
    const add = vi.spyOn(window, 'addEventListener');
    const remove = vi.spyOn(window, 'removeEventListener');
    const addDoc = vi.spyOn(document, 'addEventListener');
    const removeDoc = vi.spyOn(document, 'removeEventListener');
    const { client } = makeClient(srv.url);
    await tick();
    client.close();
    const added = add.mock.calls.map((c) => c[0]).sort();
    expect(added).toEqual(['offline', 'online', 'pagehide', 'pageshow']);
    expect(remove.mock.calls.map((c) => c[0]).sort()).toEqual(added);
    expect(add.mock.calls.map((c) => c[1])).toEqual(expect.arrayContaining(remove.mock.calls.map((c) => c[1])));
    expect(addDoc.mock.calls.map((c) => c[0])).toEqual(['visibilitychange']);
    expect(removeDoc.mock.calls.map((c) => c[0])).toEqual(['visibilitychange']);
    // a closed client ignores the network coming back
    setOnline(true);
    await tick(1000);
    expect(client.state).toBe('closed');
  });

  it('pageEvents: false attaches nothing', async () => {
    const add = vi.spyOn(window, 'addEventListener');
    const { client } = makeClient(srv.url, { pageEvents: false });
    await tick();
    expect(add).not.toHaveBeenCalled();
    client.dispose();
  });

  it('importing and constructing with autoConnect: false touches no browser global', async () => {
    const add = vi.spyOn(window, 'addEventListener');
    const { client } = makeClient(srv.url, { autoConnect: false });
    expect(add).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
    client.dispose();
  });
});
