import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeClient, mockServer, type TestServer, tick } from './helpers';

let srv: TestServer;
beforeEach(() => {
  vi.useFakeTimers();
  srv = mockServer();
});
afterEach(() => {
  srv.server.stop();
  vi.useRealTimers();
});

const types = () => srv.frames.map((f) => (f as { type: string }).type);
const ack = {
  isAck: (m: { type: string }) => m.type === 'auth_ok',
  isRejection: (m: { type: string }) => m.type === 'auth_failed',
};

describe('auth', () => {
  it('sends the auth message first, before the queue', async () => {
    const { client } = makeClient(srv.url, { auth: { type: 'auth', token: 't' }, autoConnect: false });
    client.send({ type: 'queued' });
    client.connect();
    await tick();
    expect(srv.frames).toEqual([{ type: 'auth', token: 't' }, { type: 'queued' }]);
    client.dispose();
  });

  it('calls the factory afresh on every open', async () => {
    let n = 0;
    const { client } = makeClient(srv.url, { auth: async () => ({ type: 'auth', token: `t${++n}` }) });
    await tick();
    await srv.drop();
    await tick(110);
    expect(srv.frames).toEqual([
      { type: 'auth', token: 't1' },
      { type: 'auth', token: 't2' },
    ]);
    client.dispose();
  });

  it('with isAck, stays authenticating and sends nothing else until the ack', async () => {
    const { client, states } = makeClient(srv.url, { auth: { message: { type: 'auth' }, ...ack } });
    await tick();
    expect(client.state).toBe('authenticating');
    expect(client.send({ type: 'early' })).toBe('queued');
    await tick(100);
    expect(types()).toEqual(['auth']);
    srv.push({ type: 'auth_ok' });
    await tick();
    expect(client.state).toBe('open');
    expect(types()).toEqual(['auth', 'early']);
    expect(states).toEqual(['connecting', 'authenticating', 'open']);
    client.dispose();
  });

  it('no ack within auth.timeout is AUTH_TIMEOUT, then a retry with backoff', async () => {
    const { client, errors } = makeClient(srv.url, { auth: { message: { type: 'auth' }, ...ack, timeout: 300 } });
    await tick();
    await tick(300);
    expect(errors.map((e) => e.code)).toEqual(['AUTH_TIMEOUT']);
    expect(client.state).toBe('reconnecting');
    await tick(110);
    expect(srv.sockets).toHaveLength(2);
    client.dispose();
  });

  it('a rejection with a static message is AUTH_REJECTED and final', async () => {
    const { client, errors } = makeClient(srv.url, { auth: { message: { type: 'auth' }, ...ack } });
    await tick();
    srv.push({ type: 'auth_failed' });
    await tick();
    expect(errors.map((e) => [e.code, e.data])).toEqual([['AUTH_REJECTED', { type: 'auth_failed' }]]);
    expect(client.state).toBe('closed');
    await tick(10_000);
    expect(srv.sockets).toHaveLength(1);
  });

  it.each([4001, 4002, 4003, 4401, 4403])(
    'a close with auth-failure code %i and no auth is AUTH_REJECTED and final',
    async (code) => {
      const { client, errors } = makeClient(srv.url);
      await tick();
      await srv.drop(code, 'unauthorized');
      expect(errors.map((e) => e.code)).toEqual(['AUTH_REJECTED']);
      expect(client.state).toBe('closed');
    },
  );

  it('an expired token is refreshed: the factory yields a new one, one retry succeeds', async () => {
    let token = 'old';
    const { client, errors } = makeClient(srv.url, { auth: () => ({ type: 'auth', token }) });
    await tick();
    token = 'new';
    await srv.drop(4002, 'token expired');
    expect(errors.map((e) => e.code)).toEqual(['AUTH_REJECTED']);
    expect(client.state).toBe('reconnecting');
    await tick(110);
    expect(client.state).toBe('open');
    expect(srv.frames).toEqual([
      { type: 'auth', token: 'old' },
      { type: 'auth', token: 'new' },
    ]);
    client.dispose();
  });

  it('a factory that keeps yielding the refused token stops in closed without another attempt', async () => {
    const { client, errors } = makeClient(srv.url, { auth: () => ({ type: 'auth', token: 'same' }) });
    await tick();
    await srv.drop(4002);
    await tick(10_000);
    expect(client.state).toBe('closed');
    expect(errors.map((e) => e.code)).toEqual(['AUTH_REJECTED']);
    expect(srv.sockets).toHaveLength(1);
  });

  it('a second refusal after the one retry is final: never a loop', async () => {
    let n = 0;
    const { client, errors } = makeClient(srv.url, { auth: () => ({ type: 'auth', token: `t${++n}` }) });
    srv.server.on('connection', (s) => setTimeout(() => s.close({ code: 4002, reason: 'bad', wasClean: true }), 1));
    await tick(10_000);
    expect(client.state).toBe('closed');
    expect(errors.map((e) => e.code)).toEqual(['AUTH_REJECTED', 'AUTH_REJECTED']);
    expect(srv.sockets).toHaveLength(2);
  });

  it('a factory that throws is AUTH_ERROR with the cause, retried with backoff', async () => {
    let n = 0;
    const { client, errors } = makeClient(srv.url, {
      auth: () => {
        if (n++ === 0) throw new Error('token service down');
        return { type: 'auth', token: 'ok' };
      },
    });
    await tick();
    expect(errors.map((e) => [e.code, (e.cause as Error).message])).toEqual([['AUTH_ERROR', 'token service down']]);
    expect(client.state).toBe('reconnecting');
    await tick(110);
    expect(client.state).toBe('open');
    expect(srv.frames).toEqual([{ type: 'auth', token: 'ok' }]);
    client.dispose();
  });
});

describe('order on every open', () => {
  it('auth → ack → what open listeners send → queue FIFO → live sends, on every connection', async () => {
    const { client } = makeClient(srv.url, { auth: { message: { type: 'auth' }, ...ack }, autoConnect: false });
    client.onStateChange((s) => s === 'open' && client.send({ type: 'join' }));
    client.send({ type: 'q1' });
    client.send({ type: 'q2' });
    client.connect();
    await tick();
    srv.push({ type: 'auth_ok' });
    await tick();
    client.send({ type: 'live' });
    await tick();
    expect(types()).toEqual(['auth', 'join', 'q1', 'q2', 'live']);

    await srv.drop();
    client.send({ type: 'q3' });
    await tick(110);
    srv.push({ type: 'auth_ok' });
    await tick();
    expect(types().slice(5)).toEqual(['auth', 'join', 'q3']);
    client.dispose();
  });
});
