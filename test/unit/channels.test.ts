import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { channels, tokenRefresh } from '../../src/channels';
import { delivery } from '../../src/delivery';
import type { Message } from '../../src/index';
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

type Frame = { type: string; channel?: string; epoch?: string; offset?: number; client?: string; [k: string]: unknown };
const frames = () => srv.frames as Frame[];
const subs = () => frames().filter((f) => f.type === 'sub');
const subscribed = (channel: string, offset: number, extra: object = {}) =>
  srv.push({ type: 'subscribed', channel, epoch: 'e1', offset, recovered: false, members: [], ...extra });
const pub = (channel: string, offset: number, epoch = 'e1') =>
  srv.push({ type: 'pub', channel, epoch, offset, data: { n: offset } });

describe('channels: subscribing', () => {
  it('subscribes after auth and the open listeners, and again on every open from the last position', async () => {
    const { client } = makeClient(srv.url, {
      auth: { message: { type: 'auth', token: 't' }, isAck: (m: Message) => m.type === 'auth_ok' },
    });
    client.onStateChange((s) => s === 'open' && client.send({ type: 'hello' }));
    const ch = channels(client);
    const lobby = ch.subscribe('lobby');
    await tick();
    expect(frames().map((f) => f.type)).toEqual(['auth']);
    srv.push({ type: 'auth_ok' });
    await tick();
    expect(frames().map((f) => f.type)).toEqual(['auth', 'hello', 'sub']);
    expect(subs()[0]).toEqual({ type: 'sub', channel: 'lobby', client: ch.clientId });
    subscribed('lobby', 7);
    pub('lobby', 8);
    await tick();
    expect(lobby.position).toEqual({ epoch: 'e1', offset: 8 });
    await srv.drop();
    await tick(110);
    srv.push({ type: 'auth_ok' });
    await tick();
    expect(subs()[1]).toEqual({ type: 'sub', channel: 'lobby', client: ch.clientId, epoch: 'e1', offset: 8 });
    client.dispose();
  });

  it('delivers each publication once and in order, dropping repeats and older positions', async () => {
    const { client } = makeClient(srv.url);
    const lobby = channels(client).subscribe<{ n: number }>('lobby');
    const got: number[] = [];
    lobby.on((d) => got.push(d.n));
    await tick();
    subscribed('lobby', 0);
    for (const o of [1, 2, 2, 1, 3]) pub('lobby', o);
    await tick();
    expect(got).toEqual([1, 2, 3]);
    client.dispose();
  });

  it('ignores publications that come before `subscribed` (the replay brings them)', async () => {
    const { client } = makeClient(srv.url);
    const lobby = channels(client).subscribe<{ n: number }>('lobby');
    const got: number[] = [];
    lobby.on((d) => got.push(d.n));
    await tick();
    pub('lobby', 5);
    subscribed('lobby', 4);
    pub('lobby', 5);
    await tick();
    expect(got).toEqual([5]);
    client.dispose();
  });

  it('recovers: keeps its position when the server says recovered, and the replay follows', async () => {
    const { client } = makeClient(srv.url);
    const lobby = channels(client).subscribe<{ n: number }>('lobby');
    const got: number[] = [];
    const states: unknown[] = [];
    lobby.on((d) => got.push(d.n));
    lobby.onStateChange((s, d) => states.push([s, d]));
    await tick();
    subscribed('lobby', 2);
    pub('lobby', 3);
    await tick();
    await srv.drop();
    await tick(110);
    expect(subs()[1]).toMatchObject({ epoch: 'e1', offset: 3 });
    srv.push({ type: 'subscribed', channel: 'lobby', epoch: 'e1', offset: 5, recovered: true, members: [] });
    pub('lobby', 4);
    pub('lobby', 5);
    await tick();
    expect(got).toEqual([3, 4, 5]);
    expect(states).toEqual([
      ['subscribed', {}],
      ['subscribing', {}],
      ['subscribed', { recovered: true }],
    ]);
    client.dispose();
  });

  it('reports a gap once (CHANNEL_GAP, recovered: false, onGap) and goes on live from the server’s position', async () => {
    const { client, errors } = makeClient(srv.url);
    const onGap = vi.fn();
    const lobby = channels(client).subscribe<{ n: number }>('lobby', { onGap });
    const got: number[] = [];
    const states: unknown[] = [];
    lobby.on((d) => got.push(d.n));
    lobby.onStateChange((s, d) => states.push([s, d]));
    await tick();
    subscribed('lobby', 2);
    pub('lobby', 3);
    await tick();
    await srv.drop();
    await tick(110);
    srv.push({ type: 'subscribed', channel: 'lobby', epoch: 'e2', offset: 10, recovered: false, members: [] });
    pub('lobby', 11, 'e2');
    await tick();
    expect(got).toEqual([3, 11]);
    expect(states.at(-1)).toEqual(['subscribed', { recovered: false }]);
    expect(onGap).toHaveBeenCalledTimes(1);
    expect(errors.map((e) => e.code)).toEqual(['CHANNEL_GAP']);
    expect(errors[0]!.data).toEqual({
      channel: 'lobby',
      from: { epoch: 'e1', offset: 3 },
      to: { epoch: 'e2', offset: 10 },
    });
    client.dispose();
  });

  it('a new epoch while live is a gap, reported once, and the new stream is delivered', async () => {
    const { client, errors } = makeClient(srv.url);
    const onGap = vi.fn();
    const lobby = channels(client).subscribe<{ n: number }>('lobby', { onGap });
    const got: number[] = [];
    lobby.on((d) => got.push(d.n));
    await tick();
    subscribed('lobby', 4);
    pub('lobby', 5);
    pub('lobby', 1, 'e2');
    pub('lobby', 2, 'e2');
    pub('lobby', 2, 'e2');
    await tick();
    expect(got).toEqual([5, 1, 2]);
    expect(onGap).toHaveBeenCalledTimes(1);
    expect(errors.map((e) => e.code)).toEqual(['CHANNEL_GAP']);
    expect(lobby.position).toEqual({ epoch: 'e2', offset: 2 });
    client.dispose();
  });

  it('re-subscribes from its position when a live publication skips one', async () => {
    const { client, errors } = makeClient(srv.url);
    const lobby = channels(client).subscribe<{ n: number }>('lobby');
    const got: number[] = [];
    lobby.on((d) => got.push(d.n));
    await tick();
    subscribed('lobby', 1);
    pub('lobby', 2);
    pub('lobby', 4);
    await tick();
    expect(subs().at(-1)).toMatchObject({ epoch: 'e1', offset: 2 });
    srv.push({ type: 'subscribed', channel: 'lobby', epoch: 'e1', offset: 4, recovered: true, members: [] });
    pub('lobby', 3);
    pub('lobby', 4);
    await tick();
    expect(got).toEqual([2, 3, 4]);
    expect(errors).toEqual([]);
    client.dispose();
  });

  it('a refused channel is failed with the server’s reason, not retried; the others carry on', async () => {
    const { client, errors } = makeClient(srv.url);
    const ch = channels(client);
    const secret = ch.subscribe('secret');
    const lobby = ch.subscribe<{ n: number }>('lobby');
    const states: unknown[] = [];
    secret.onStateChange((s, d) => states.push([s, d]));
    const got: number[] = [];
    lobby.on((d) => got.push(d.n));
    await tick();
    srv.push({ type: 'sub_error', channel: 'secret', reason: 'not permitted' });
    subscribed('lobby', 0);
    pub('lobby', 1);
    await tick();
    expect(states).toEqual([['failed', { reason: 'not permitted' }]]);
    expect(secret.state).toBe('failed');
    expect(errors.map((e) => [e.code, e.message])).toEqual([['CHANNEL_REFUSED', 'CHANNEL_REFUSED: not permitted']]);
    await srv.drop();
    await tick(110);
    expect(subs().map((f) => f.channel)).toEqual(['secret', 'lobby', 'lobby']);
    expect(got).toEqual([1]);
    expect(client.state).toBe('open');
    client.dispose();
  });

  it('consumes channel frames: app handlers never see them', async () => {
    const { client } = makeClient(srv.url);
    channels(client).subscribe('lobby');
    const all = vi.fn();
    client.on('*', all);
    await tick();
    subscribed('lobby', 0);
    pub('lobby', 1);
    pub('other', 1);
    srv.push({ type: 'chat' });
    await tick();
    expect(all.mock.calls.map((c) => c[0].type)).toEqual(['chat']);
    client.dispose();
  });

  it('unsubscribe sends unsub and stops delivery; subscribe again makes a new channel', async () => {
    const { client } = makeClient(srv.url);
    const ch = channels(client);
    const a = ch.subscribe('lobby');
    expect(ch.subscribe('lobby')).toBe(a);
    const got = vi.fn();
    a.on(got);
    await tick();
    subscribed('lobby', 0);
    await tick();
    a.unsubscribe();
    pub('lobby', 1);
    await tick();
    expect(got).not.toHaveBeenCalled();
    expect(a.state).toBe('unsubscribed');
    expect(frames().at(-1)).toEqual({ type: 'unsub', channel: 'lobby' });
    expect(ch.subscribe('lobby')).not.toBe(a);
    client.dispose();
  });

  it('publishes through client.send, so delivery tags it with an id until acked', async () => {
    const { client } = makeClient(srv.url);
    const d = delivery(client);
    const lobby = channels(client).subscribe<{ text: string }>('lobby');
    await tick();
    lobby.publish({ text: 'hi' });
    await tick();
    const p = frames().find((f) => f.type === 'publish')!;
    expect(p).toMatchObject({ channel: 'lobby', data: { text: 'hi' } });
    expect(typeof p.id).toBe('string');
    expect(d.unacked).toBe(1);
    // the sub itself is a control frame: no id, never re-sent
    expect(subs()[0]!.id).toBeUndefined();
    client.dispose();
  });

  it('uses the client’s typeKey both ways', async () => {
    const { client } = makeClient(srv.url, { typeKey: 'kind' });
    const lobby = channels(client).subscribe<{ n: number }>('lobby');
    const got: number[] = [];
    lobby.on((d) => got.push(d.n));
    await tick();
    expect(srv.frames[0]).toEqual({ kind: 'sub', channel: 'lobby', client: expect.any(String) });
    srv.push({ kind: 'subscribed', channel: 'lobby', epoch: 'e', offset: 0, members: [] });
    srv.push({ kind: 'pub', channel: 'lobby', epoch: 'e', offset: 1, data: { n: 1 } });
    await tick();
    expect(got).toEqual([1]);
    client.dispose();
  });

  it('a throwing handler is reported and the next one still runs', async () => {
    const { client, errors } = makeClient(srv.url);
    const lobby = channels(client).subscribe('lobby');
    const next = vi.fn();
    lobby.on(() => {
      throw new Error('boom');
    });
    lobby.on(next);
    await tick();
    subscribed('lobby', 0);
    pub('lobby', 1);
    await tick();
    expect(errors.map((e) => e.code)).toEqual(['HANDLER_ERROR']);
    expect(next).toHaveBeenCalledTimes(1);
    client.dispose();
  });

  it('rejects unknown options in development, naming them', () => {
    const { client } = makeClient(srv.url, { autoConnect: false });
    expect(() => channels(client, { clientID: 'x' } as never)).toThrow(
      /channels: options\.clientID is not an option; did you mean clientId\?/,
    );
    expect(() => channels(client).subscribe('a', { ongap: () => {} } as never)).toThrow(/options\.ongap/);
    client.dispose();
  });

  it('one channels() per client: a second call returns the first; stop() unhooks', async () => {
    const { client } = makeClient(srv.url);
    const ch = channels(client);
    expect(channels(client)).toBe(ch);
    ch.subscribe('lobby');
    await tick();
    ch.stop();
    expect(channels(client)).not.toBe(ch);
    client.dispose();
  });
});

describe('channels: presence', () => {
  const m = (client: string) => ({ client, user: client });

  it('takes the snapshot on subscribe, then joins and leaves', async () => {
    const { client } = makeClient(srv.url);
    const lobby = channels(client).subscribe('lobby');
    const changes: unknown[] = [];
    lobby.presence.onChange((members, c) => changes.push([members.map((x) => x.client), c]));
    await tick();
    subscribed('lobby', 0, { members: [m('a'), m('b')] });
    srv.push({ type: 'presence_join', channel: 'lobby', member: m('c') });
    srv.push({ type: 'presence_join', channel: 'lobby', member: m('c') }); // a repeat: no change
    srv.push({ type: 'presence_leave', channel: 'lobby', client: 'a' });
    srv.push({ type: 'presence_leave', channel: 'lobby', client: 'zz' });
    await tick();
    expect(changes).toEqual([
      [['a', 'b'], { joined: [m('a'), m('b')], left: [] }],
      [['a', 'b', 'c'], { joined: [m('c')], left: [] }],
      [['b', 'c'], { joined: [], left: [m('a')] }],
    ]);
    expect(lobby.presence.members.map((x) => x.client)).toEqual(['b', 'c']);
    client.dispose();
  });

  it('re-syncs after a reconnect by difference: the same members are no change, others are', async () => {
    const { client } = makeClient(srv.url);
    const lobby = channels(client).subscribe('lobby');
    const changes: unknown[] = [];
    await tick();
    subscribed('lobby', 0, { members: [m('a'), m('b')] });
    await tick();
    lobby.presence.onChange((_members, c) => changes.push(c));
    await srv.drop();
    await tick(110);
    subscribed('lobby', 0, { members: [m('b'), m('a')], recovered: true });
    await tick();
    expect(changes).toEqual([]);
    await srv.drop();
    await tick(210);
    subscribed('lobby', 0, { members: [m('a'), m('d')], recovered: true });
    await tick();
    expect(changes).toEqual([{ joined: [m('d')], left: [m('b')] }]);
    client.dispose();
  });
});

describe('tokenRefresh', () => {
  let n = 0;
  const refreshing = (extra: object = {}) =>
    makeClient(srv.url, {
      auth: {
        message: () => ({ type: 'auth', token: `t${++n}` }),
        isAck: (msg: Message) => msg.type === 'auth_ok',
      },
      ...extra,
    });
  const reauths = () => frames().filter((f) => f.type === 'reauth');

  it('sends fresh credentials as `reauth` at 80% of the time left, and again after each `reauthed`', async () => {
    n = 0;
    const { client, errors } = refreshing();
    channels(client);
    await tick();
    srv.push({ type: 'auth_ok', expiresAt: Date.now() + 5000 });
    await tick(3900);
    expect(reauths()).toEqual([]);
    await tick(200);
    expect(reauths()).toEqual([{ type: 'reauth', token: 't2' }]);
    srv.push({ type: 'reauthed', expiresAt: Date.now() + 5000 });
    await tick(4100);
    expect(reauths().map((f) => f.token)).toEqual(['t2', 't3']);
    expect(client.state).toBe('open');
    expect(errors).toEqual([]);
    client.dispose();
  });

  it('reauthed is consumed, not dispatched', async () => {
    const { client } = refreshing();
    tokenRefresh(client);
    const all = vi.fn();
    client.on('*', all);
    await tick();
    srv.push({ type: 'auth_ok' });
    srv.push({ type: 'reauthed', expiresAt: Date.now() + 60_000 });
    await tick();
    expect(all.mock.calls.map((c) => c[0].type)).toEqual(['auth_ok']);
    client.dispose();
  });

  it('a server that does not answer: one AUTH_TIMEOUT, never asked again, the connection kept', async () => {
    const { client, errors } = refreshing();
    tokenRefresh(client, { timeout: 2000 });
    await tick();
    srv.push({ type: 'auth_ok', expiresAt: Date.now() + 5000 });
    await tick(6100);
    expect(reauths()).toHaveLength(1);
    expect(errors.map((e) => e.code)).toEqual(['AUTH_TIMEOUT']);
    expect(errors[0]!.message).toMatch(/reauth/);
    await tick(60_000);
    expect(reauths()).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect(client.state).toBe('open');
    client.dispose();
  });

  it('nothing without an expiry, nothing for a fixed auth message, nothing left after close', async () => {
    const { client } = refreshing();
    tokenRefresh(client);
    await tick();
    srv.push({ type: 'auth_ok' });
    await tick(120_000);
    expect(reauths()).toEqual([]);
    srv.push({ type: 'reauthed', expiresAt: Date.now() + 5000 });
    await tick();
    client.close();
    await tick();
    expect(vi.getTimerCount()).toBe(0);
    client.dispose();
    const fixed = makeClient(srv.url, {
      auth: { message: { type: 'auth', token: 'x' }, isAck: (msg: Message) => msg.type === 'auth_ok' },
    });
    tokenRefresh(fixed.client);
    await tick();
    srv.push({ type: 'auth_ok', expiresAt: Date.now() + 5000 });
    await tick(10_000);
    expect(reauths()).toEqual([]);
    fixed.client.dispose();
  });

  it('the expiry can come from the app', async () => {
    const { client } = refreshing();
    tokenRefresh(client, { expiresAt: (msg) => (msg as { exp?: number }).exp });
    await tick();
    srv.push({ type: 'auth_ok', exp: Date.now() + 10_000 });
    await tick(8100);
    expect(reauths()).toHaveLength(1);
    client.dispose();
  });
});
