import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeClient, mockServer, type TestServer, tick } from './helpers';

let srv: TestServer;
/** answer pings with pongs, as a healthy server does */
let answer: boolean;
beforeEach(() => {
  vi.useFakeTimers();
  srv = mockServer();
  answer = true;
  srv.server.on('connection', (s) =>
    s.on('message', (d) => answer && JSON.parse(String(d)).type === 'ping' && s.send(JSON.stringify({ type: 'pong' }))),
  );
});
afterEach(() => {
  srv.server.stop();
  vi.useRealTimers();
});

const hb = { interval: 1000, timeout: 500 };
const pings = () => srv.frames.filter((f) => (f as { type: string }).type === 'ping').length;

describe('heartbeat', () => {
  it('pings every interval while pongs come back, and measures latency', async () => {
    const { client, errors } = makeClient(srv.url, { heartbeat: hb });
    const latencies: number[] = [];
    client.onLatency((ms) => latencies.push(ms));
    await tick();
    await tick(3100);
    expect(pings()).toBe(3);
    expect(client.latency).toBeGreaterThanOrEqual(4); // mock-socket delays client → server by 4 ms
    expect(latencies).toHaveLength(3);
    expect(errors).toEqual([]);
    expect(srv.sockets).toHaveLength(1);
    client.dispose();
  });

  it('a silent server is declared dead and reconnected within interval + timeout', async () => {
    answer = false;
    const { client, errors, states } = makeClient(srv.url, { heartbeat: hb });
    await tick();
    await tick(hb.interval + hb.timeout);
    expect(errors.map((e) => e.code)).toEqual(['HEARTBEAT_TIMEOUT']);
    expect(states.at(-1)).toBe('reconnecting');
    answer = true;
    await tick(110);
    expect(client.state).toBe('open');
    expect(srv.sockets).toHaveLength(2);
    client.dispose();
  });

  it('a timer throttled 60 s while pongs kept arriving does not reconnect', async () => {
    const { client, errors } = makeClient(srv.url, { heartbeat: hb });
    await tick();
    await tick(1010); // ping sent and answered
    // background tab: the wall clock runs 60 s ahead of the timers
    vi.setSystemTime(Date.now() + 60_000);
    await tick(2000);
    expect(errors).toEqual([]);
    expect(client.state).toBe('open');
    expect(srv.sockets).toHaveLength(1);
    client.dispose();
  });

  it('a late timeout check re-pings instead of killing a connection whose pong was queued', async () => {
    const { client, errors } = makeClient(srv.url, { heartbeat: hb });
    await tick();
    answer = false;
    await tick(1000); // ping out, no pong yet
    vi.setSystemTime(Date.now() + 60_000); // tab frozen before the check ran
    answer = true;
    await tick(500); // the check runs late: asks again, and this time the pong comes
    await tick(20);
    expect(errors).toEqual([]);
    expect(client.state).toBe('open');
    client.dispose();
  });

  it('pongs are not dispatched unless asked', async () => {
    const { client } = makeClient(srv.url, { heartbeat: hb });
    const pong = vi.fn();
    client.on('pong', pong);
    await tick();
    await tick(1100);
    expect(pong).not.toHaveBeenCalled();
    client.dispose();

    const asked = makeClient(srv.url, { heartbeat: { ...hb, dispatchPongs: true } });
    asked.client.on('pong', pong);
    await tick();
    await tick(1100);
    expect(pong).toHaveBeenCalled();
    asked.client.dispose();
  });

  it('with anyMessage, other traffic proves liveness', async () => {
    answer = false;
    const { client, errors } = makeClient(srv.url, { heartbeat: { ...hb, anyMessage: true } });
    await tick();
    for (let i = 0; i < 6; i++) {
      await tick(400);
      srv.push({ type: 'price' });
    }
    expect(errors).toEqual([]);
    expect(client.state).toBe('open');
    client.dispose();
  });

  it('uses a custom ping message and isPong', async () => {
    const { client, errors } = makeClient(srv.url, {
      heartbeat: { ...hb, message: () => ({ type: 'hb', at: Date.now() }), isPong: (m) => m.type === 'hb-ack' },
    });
    srv.server.on('connection', (s) =>
      s.on('message', (d) => JSON.parse(String(d)).type === 'hb' && s.send('{"type":"hb-ack"}')),
    );
    await tick();
    await tick(2100);
    expect(srv.frames.filter((f) => (f as { type: string }).type === 'hb').length).toBe(2);
    expect(errors).toEqual([]);
    client.dispose();
  });

  it('pings do not go through the queue: none is replayed after a reconnect', async () => {
    answer = false;
    const { client } = makeClient(srv.url, { heartbeat: hb });
    await tick();
    await tick(1500);
    answer = true;
    await tick(120);
    expect(client.queued).toBe(0);
    client.dispose();
  });
});
