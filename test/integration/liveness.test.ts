// Liveness against real sockets: heartbeat and half-open detection, the connect timeout on a
// server that never answers the upgrade, and giving up after maxAttempts on a closed port.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  cleanup,
  closedPort,
  countingWebSocket,
  makeClient,
  RecordingServer,
  sleep,
  startSilentTcpServer,
} from './helpers';

afterEach(cleanup);

const INTERVAL = 100;
const TIMEOUT = 100;
const BACKOFF = 20;
const MARGIN = 300;

describe('heartbeat', () => {
  it('keeps a connection whose server answers pings open and reports the round trip as latency', async () => {
    const server = await RecordingServer.start();
    const t = makeClient({ url: server.url, heartbeat: { interval: INTERVAL, timeout: TIMEOUT } });
    const latencies: number[] = [];
    t.client.onLatency((ms) => latencies.push(ms));
    expect(t.client.latency).toBeUndefined();
    await t.reach('open');
    await vi.waitFor(() => expect(latencies.length).toBeGreaterThanOrEqual(4), { timeout: 3000 });
    expect(typeof t.client.latency).toBe('number');
    expect(t.client.latency).toBeGreaterThanOrEqual(0);
    expect(t.client.latency).toBeLessThan(TIMEOUT);
    expect(latencies.every((ms) => ms >= 0 && ms < TIMEOUT)).toBe(true);
    expect(server.conns).toHaveLength(1);
    expect(server.conns[0]!.frames.slice(0, 4)).toEqual(Array(4).fill({ type: 'ping' }));
    expect(t.errors).toEqual([]);
    expect(t.client.state).toBe('open');
  });

  it('detects a half-open connection (server silent, TCP still open) with HEARTBEAT_TIMEOUT and has a new connection within interval + timeout', async () => {
    const server = await RecordingServer.start();
    const t = makeClient({
      url: server.url,
      heartbeat: { interval: INTERVAL, timeout: TIMEOUT },
      reconnect: { initialDelay: BACKOFF, maxDelay: 100, jitter: 0 },
    });
    let errorAt = 0;
    t.client.onError(() => {
      errorAt ||= Date.now();
    });
    await t.reach('open');
    await vi.waitFor(() => expect(t.client.latency).toBeTypeOf('number'), { timeout: 2000 });

    const stalledAt = Date.now();
    server.stall(server.conns[0]!);
    await vi.waitFor(() => expect(server.conns).toHaveLength(2), { timeout: 3000, interval: 10 });
    const detected = errorAt - stalledAt;
    const reconnected = server.conns[1]!.at - stalledAt;
    console.info(`half-open: detected after ${detected} ms, new connection after ${reconnected} ms`);

    expect(t.errors.map((e) => e.code)).toEqual(['HEARTBEAT_TIMEOUT']);
    expect(detected).toBeLessThanOrEqual(INTERVAL + TIMEOUT + MARGIN);
    expect(reconnected).toBeLessThanOrEqual(INTERVAL + TIMEOUT + BACKOFF + MARGIN);
    expect(server.conns[0]!.ws.readyState).toBe(1); // the server never closed the stalled socket
    // the new connection is alive and checked by the heartbeat too
    await vi.waitFor(() => expect(server.conns[1]!.frames).toContainEqual({ type: 'ping' }), { timeout: 2000 });
    expect(t.client.state).toBe('open');
    expect(t.states.join()).toBe('connecting,open,reconnecting,connecting,open');
  });
});

describe('heartbeat through a relay', () => {
  it('a relay that re-broadcasts every frame to every client: our own ping, claimed by isPong, keeps the connection checked', async () => {
    // a scale-out server's fan-out: every frame to every connection, the sender included
    const server = await RecordingServer.start({
      pong: false,
      onMessage: (_conn, msg, s) => {
        for (const c of s.conns) if (!c.closed) s.send(c, msg);
      },
    });
    const tab = (id: string) =>
      makeClient({
        url: server.url,
        heartbeat: {
          interval: INTERVAL,
          timeout: TIMEOUT,
          message: { type: 'hb', id },
          isPong: (m) => m.type === 'hb' && m.id === id,
        },
      });
    const [a, b] = [tab('a'), tab('b')];
    const latencies: number[] = [];
    a.client.onLatency((ms) => latencies.push(ms));
    await Promise.all([a.reach('open'), b.reach('open')]);
    await vi.waitFor(() => expect(latencies.length).toBeGreaterThanOrEqual(4), { timeout: 5000 });
    await sleep(3 * (INTERVAL + TIMEOUT));
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
    expect(server.conns).toHaveLength(2); // no reconnect
    expect(a.client.state).toBe('open');
    // the other tab's pings are no pong for this one: they reach its handlers
    const other = vi.fn();
    a.client.on('hb', other);
    await vi.waitFor(() => expect(other).toHaveBeenCalledWith({ type: 'hb', id: 'b' }), { timeout: 2000 });
  });
});

describe('connect timeout', () => {
  it('abandons a socket whose upgrade is never answered with CONNECT_TIMEOUT and retries', async () => {
    const tcp = await startSilentTcpServer();
    const start = Date.now();
    let firstErrorAt = 0;
    const t = makeClient({ url: `ws://127.0.0.1:${tcp.port}`, connectTimeout: 150 });
    t.client.onError(() => {
      firstErrorAt ||= Date.now();
    });
    await vi.waitFor(() => expect(tcp.sockets.length).toBeGreaterThanOrEqual(2), { timeout: 3000 });
    expect(t.errors[0]?.code).toBe('CONNECT_TIMEOUT');
    expect(t.errors.every((e) => e.code === 'CONNECT_TIMEOUT')).toBe(true);
    expect(firstErrorAt - start).toBeGreaterThanOrEqual(140);
    expect(t.states.slice(0, 3)).toEqual(['connecting', 'reconnecting', 'connecting']);
    // the abandoned socket was closed by the client, not left hanging
    await vi.waitFor(() => expect(tcp.sockets[0]!.closed).toBe(true));
  });
});

describe('maxAttempts', () => {
  it('against a closed port ends in closed with MAX_ATTEMPTS and makes no attempt after that', async () => {
    const port = await closedPort();
    const ws = countingWebSocket();
    const t = makeClient({
      url: `ws://127.0.0.1:${port}`,
      WebSocket: ws.WebSocket,
      reconnect: { initialDelay: 20, maxDelay: 40, jitter: 0, maxAttempts: 3 },
    });
    const closed = t.reach('closed');
    await closed;
    expect(t.errors.map((e) => e.code)).toEqual(['MAX_ATTEMPTS']);
    expect(ws.count()).toBe(4); // the first connect and 3 reconnect attempts
    expect(t.states.join()).toBe(
      'connecting,reconnecting,connecting,reconnecting,connecting,reconnecting,connecting,closed',
    );
    await sleep(300); // several times maxDelay: nothing more may happen
    expect(ws.count()).toBe(4);
    expect(t.client.state).toBe('closed');
    expect(t.states.at(-1)).toBe('closed');
    expect(t.states).toHaveLength(8);
  });
});
