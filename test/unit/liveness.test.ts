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
  it('probes at open, then pings every interval while pongs come back, and measures latency', async () => {
    const { client, errors } = makeClient(srv.url, { heartbeat: hb });
    const latencies: number[] = [];
    client.onLatency((ms) => latencies.push(ms));
    await tick();
    expect(pings()).toBe(1); // the probe: is this a server that answers pings?
    await tick(3100);
    expect(pings()).toBe(4);
    expect(client.latency).toBeGreaterThanOrEqual(4); // mock-socket delays client → server by 4 ms
    expect(latencies).toHaveLength(4);
    expect(errors).toEqual([]);
    expect(srv.sockets).toHaveLength(1);
    client.dispose();
  });

  it('a server that answered pings and falls silent is declared dead and reconnected within interval + timeout', async () => {
    const { client, errors, states } = makeClient(srv.url, { heartbeat: hb });
    await tick();
    answer = false;
    await tick(hb.interval + hb.timeout);
    expect(errors.map((e) => e.message)).toEqual(['HEARTBEAT_TIMEOUT: no pong within 500 ms']);
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
    expect(srv.frames.filter((f) => (f as { type: string }).type === 'hb').length).toBe(3);
    expect(errors).toEqual([]);
    client.dispose();
  });

  it('pings do not go through the queue: none is replayed after a reconnect', async () => {
    const { client } = makeClient(srv.url, { heartbeat: hb });
    await tick();
    answer = false;
    await tick(1500);
    expect(srv.sockets).toHaveLength(1);
    answer = true;
    await tick(120);
    expect(client.queued).toBe(0);
    client.dispose();
  });

  describe('a server that has not shown it answers pings', () => {
    it('on defaults, an idle connection to a server that ignores pings stays up 5 min with one warning saying what to configure', async () => {
      answer = false;
      const { client, errors, states } = makeClient(srv.url, { heartbeat: {} });
      await tick();
      await tick(5 * 60_000);
      expect(srv.sockets).toHaveLength(1);
      expect(client.state).toBe('open');
      expect(states).toEqual(['connecting', 'open']);
      expect(pings()).toBe(1); // the probe alone: nothing more is sent to a server that ignores it
      expect(errors.map((e) => e.code)).toEqual(['HEARTBEAT_TIMEOUT']);
      expect(errors[0]!.message).toMatch(/^HEARTBEAT_TIMEOUT: no pong within 10000 ms/);
      for (const fix of ['heartbeat.message', 'isPong', 'anyMessage', 'false'])
        expect(errors[0]!.message).toContain(fix);
      client.dispose();
    });

    it('an echo server: the echoed ping never reaches a handler, and the connection stays', async () => {
      answer = false;
      srv.server.on('connection', (s) => s.on('message', (d) => s.send(d)));
      const { client, errors } = makeClient(srv.url, { heartbeat: {} });
      const all = vi.fn();
      client.on('*', all);
      await tick();
      client.send({ type: 'hello' });
      await tick(5 * 60_000);
      expect(all.mock.calls.map((c) => c[0])).toEqual([{ type: 'hello' }]);
      expect(srv.sockets).toHaveLength(1);
      expect(errors.map((e) => e.code)).toEqual(['HEARTBEAT_TIMEOUT']);
      client.dispose();
    });

    it('a relay that re-broadcasts every frame: an explicit isPong that claims our own ping wins over the echo filter', async () => {
      answer = false;
      // every frame goes to every connection, the sender included (a pub/sub fan-out)
      srv.server.on('connection', (s) =>
        s.on('message', (d) => {
          for (const c of srv.server.clients()) c.send(d);
        }),
      );
      const me = 'tab-1';
      const { client, errors } = makeClient<{ type: string; id?: string }>(srv.url, {
        heartbeat: {
          ...hb,
          message: { type: 'hb', id: me },
          isPong: (m) => m.type === 'hb' && m.id === me,
        },
      });
      const latencies: number[] = [];
      client.onLatency((ms) => latencies.push(ms));
      const hbs = vi.fn();
      client.on('hb', hbs);
      await tick();
      await tick(5 * (hb.interval + hb.timeout));
      expect(errors).toEqual([]);
      expect(latencies.length).toBeGreaterThanOrEqual(4); // the probe and every ping came back through the relay
      expect(srv.sockets).toHaveLength(1);
      expect(client.state).toBe('open');
      expect(hbs).not.toHaveBeenCalled(); // pongs are not dispatched (dispatchPongs is off)
      client.dispose();
    });

    it('with an isPong that does not claim it, an echoed ping is still filtered out', async () => {
      answer = false;
      srv.server.on('connection', (s) => s.on('message', (d) => s.send(d)));
      const { client, errors } = makeClient(srv.url, { heartbeat: { ...hb, isPong: (m) => m.type === 'pong' } });
      const all = vi.fn();
      client.on('*', all);
      await tick();
      await tick(5 * 60_000);
      expect(all).not.toHaveBeenCalled();
      expect(errors.map((e) => e.code)).toEqual(['HEARTBEAT_TIMEOUT']);
      expect(srv.sockets).toHaveLength(1);
      client.dispose();
    });

    it('a frame equal to the ping from a server that answers pings is its own message, and is dispatched', async () => {
      const { client } = makeClient(srv.url, { heartbeat: hb });
      const ping = vi.fn();
      client.on('ping', ping);
      await tick();
      srv.push({ type: 'ping' });
      await tick();
      expect(ping).toHaveBeenCalledTimes(1);
      client.dispose();
    });

    it('a server that answered on an earlier connection is held to it on the next one', async () => {
      const { client, errors } = makeClient(srv.url, { heartbeat: hb });
      await tick();
      await srv.drop(1011);
      answer = false;
      await tick(110); // reconnected; no probe this time, the first ping comes after interval
      expect(srv.sockets).toHaveLength(2);
      expect(pings()).toBe(1);
      await tick(hb.interval + hb.timeout);
      expect(errors.map((e) => e.code)).toEqual(['HEARTBEAT_TIMEOUT']);
      expect(client.state).toBe('reconnecting');
      client.dispose();
    });

    it('a server that stops answering pings costs one reconnect, never a loop', async () => {
      const { client, errors } = makeClient(srv.url, { heartbeat: hb });
      await tick();
      answer = false;
      await tick(5 * 60_000);
      // dead once (it had answered), then the new connection must prove itself again: it does not
      const [dead, warning] = errors.map((e) => e.message);
      expect(errors).toHaveLength(2);
      expect(dead).toBe('HEARTBEAT_TIMEOUT: no pong within 500 ms');
      expect(warning).toMatch(
        /^HEARTBEAT_TIMEOUT: no pong within 500 ms: kept unchecked\. Normal for a server that does not answer pings/,
      );
      expect(srv.sockets).toHaveLength(2);
      expect(client.state).toBe('open');
      client.dispose();
    });

    it('a pong that comes after the warning starts the checks: silence is then death', async () => {
      answer = false;
      const { client, errors } = makeClient(srv.url, { heartbeat: hb });
      await tick(600); // probe unanswered: warned, unchecked
      expect(errors).toHaveLength(1);
      srv.push({ type: 'pong' }); // a late answer
      await tick(10);
      await tick(hb.interval + hb.timeout);
      expect(errors.map((e) => e.code)).toEqual(['HEARTBEAT_TIMEOUT', 'HEARTBEAT_TIMEOUT']);
      expect(client.state).toBe('reconnecting');
      client.dispose();
    });

    it('an unchecked connection is not pinged when the page shows or the network changes, nor one being reconnected', async () => {
      answer = false;
      const { client, errors } = makeClient(srv.url, { heartbeat: hb, pageEvents: true });
      await tick(600);
      expect(pings()).toBe(1);
      window.dispatchEvent(new Event('offline'));
      document.dispatchEvent(new Event('visibilitychange'));
      await tick(600);
      expect(pings()).toBe(1);
      await srv.drop(1011);
      window.dispatchEvent(new Event('offline'));
      await tick(5);
      expect(pings()).toBe(1);
      expect(errors.map((e) => e.code)).toEqual(['HEARTBEAT_TIMEOUT']); // the one warning, nothing else
      client.dispose();
    });
  });
});
