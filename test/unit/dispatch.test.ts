import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSocketClient } from '../../src/index';
import { makeClient, mockServer, type TestServer, tick } from './helpers';

type ServerMsg = { type: 'chat'; user: string; text: string } | { type: 'price'; price: number };

let srv: TestServer;
beforeEach(async () => {
  vi.useFakeTimers();
  srv = mockServer();
});
afterEach(() => {
  srv.server.stop();
  vi.useRealTimers();
});

const open = async <In extends { type: string } = ServerMsg>(o = {}) => {
  const c = makeClient<In & { [k: string]: unknown }>(srv.url, o);
  await tick();
  return c;
};

describe('receiving', () => {
  it('dispatches a message to the handlers of its type and to "*"', async () => {
    const { client } = await open();
    const chat = vi.fn();
    const price = vi.fn();
    const all = vi.fn();
    client.on('chat', chat);
    client.on('price', price);
    client.on('*', all);
    srv.push({ type: 'chat', user: 'ann', text: 'hi' });
    await tick();
    expect(chat).toHaveBeenCalledWith({ type: 'chat', user: 'ann', text: 'hi' });
    expect(price).not.toHaveBeenCalled();
    expect(all).toHaveBeenCalledWith({ type: 'chat', user: 'ann', text: 'hi' });
    client.dispose();
  });

  it('off() and the returned function unsubscribe; once() runs once', async () => {
    const { client } = await open();
    const a = vi.fn();
    const b = vi.fn();
    const c = vi.fn();
    client.on('chat', a);
    client.off('chat', a);
    client.on('chat', b)();
    client.once('chat', c);
    srv.push({ type: 'chat' });
    srv.push({ type: 'chat' });
    await tick();
    expect(a).not.toHaveBeenCalled();
    expect(b).not.toHaveBeenCalled();
    expect(c).toHaveBeenCalledTimes(1);
    client.dispose();
  });

  it('a handler that unsubscribes during dispatch does not make its neighbour miss the message', async () => {
    const { client } = await open();
    const second = vi.fn();
    const off = client.on('chat', () => off());
    client.on('chat', second);
    srv.push({ type: 'chat' });
    await tick();
    expect(second).toHaveBeenCalledTimes(1);
    client.dispose();
  });

  it('a throwing handler is reported as HANDLER_ERROR and the others still run', async () => {
    const { client, errors } = await open();
    const boom = new Error('boom');
    const after = vi.fn();
    client.on('chat', () => {
      throw boom;
    });
    client.on('chat', after);
    srv.push({ type: 'chat' });
    await tick();
    expect(after).toHaveBeenCalled();
    expect(errors.map((e) => [e.code, e.message, e.cause, e.data])).toEqual([
      ['HANDLER_ERROR', 'HANDLER_ERROR: boom', boom, { type: 'chat' }],
    ]);
    expect(client.state).toBe('open');
    client.dispose();
  });

  it('a non-JSON frame is PARSE_ERROR with the raw data, and the connection lives on', async () => {
    const { client, errors } = await open();
    const chat = vi.fn();
    client.on('chat', chat);
    srv.push('not json {');
    srv.push({ type: 'chat' });
    await tick();
    expect(errors.map((e) => [e.code, e.data])).toEqual([['PARSE_ERROR', 'not json {']]);
    expect(errors[0]!.message).toBe(`PARSE_ERROR: ${(errors[0]!.cause as Error).message}`);
    expect(chat).toHaveBeenCalledTimes(1);
    expect(client.state).toBe('open');
    client.dispose();
  });

  it('a binary frame without a custom deserialize is PARSE_ERROR', async () => {
    const { client, errors } = await open();
    srv.last().send(new ArrayBuffer(4));
    await tick();
    expect(errors.map((e) => e.code)).toEqual(['PARSE_ERROR']);
    expect((errors[0]!.cause as Error).message).toContain('deserialize');
    client.dispose();
  });

  it('a custom deserialize reads binary frames', async () => {
    const { client } = await open({
      deserialize: (d: unknown) =>
        typeof d === 'string' ? JSON.parse(d) : { type: 'bin', size: (d as ArrayBuffer).byteLength },
    });
    const bin = vi.fn();
    client.on('bin' as never, bin);
    srv.last().send(new ArrayBuffer(4));
    await tick();
    expect(bin).toHaveBeenCalledWith({ type: 'bin', size: 4 });
    client.dispose();
  });

  it.each([[{ text: 'no type' }], [{ type: 42 }], [null], [[1, 2]], ['"a string"']])(
    'a message without a string type (%j) is INVALID_MESSAGE while no "?" handler listens, saying so',
    async (msg) => {
      const { client, errors } = await open();
      const all = vi.fn();
      client.on('*', all);
      srv.push(typeof msg === 'string' ? msg : JSON.stringify(msg));
      await tick();
      expect(errors.map((e) => [e.code, e.message])).toEqual([
        ['INVALID_MESSAGE', `INVALID_MESSAGE: no string "type" (see on('?'))`],
      ]);
      expect(all).not.toHaveBeenCalled();
      expect(client.state).toBe('open');
      client.dispose();
    },
  );

  it.each([[{ error: 'invalid token' }], [{ type: 42 }], [null], [[1, 2]], ['"a string"']])(
    'a message without a string type (%j) goes to "?" handlers, and is no error then',
    async (msg) => {
      const { client, errors } = await open();
      const untyped = vi.fn();
      const typed = vi.fn();
      client.on('?', untyped);
      client.on('*', typed);
      srv.push(typeof msg === 'string' ? msg : JSON.stringify(msg));
      srv.push({ type: 'chat' });
      await tick();
      expect(untyped.mock.calls).toEqual([[typeof msg === 'string' ? JSON.parse(msg) : msg]]);
      expect(typed.mock.calls).toEqual([[{ type: 'chat' }]]);
      expect(errors).toEqual([]);
      client.dispose();
    },
  );

  it('once("?") takes one untyped message; after off, they are reported again', async () => {
    const { client, errors } = await open();
    const h = vi.fn();
    client.once('?', h);
    srv.push({ error: 'a' });
    srv.push({ error: 'b' });
    await tick();
    expect(h.mock.calls).toEqual([[{ error: 'a' }]]);
    expect(errors.map((e) => e.data)).toEqual([{ error: 'b' }]);
    client.dispose();
  });

  it('__proto__, constructor and toString are plain message types', async () => {
    const { client, errors } = await open<{ type: string }>();
    const seen: string[] = [];
    for (const t of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) client.on(t, (m) => seen.push(m.type));
    for (const t of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) srv.push(`{"type":"${t}"}`);
    await tick();
    expect(seen).toEqual(['__proto__', 'constructor', 'toString', 'hasOwnProperty']);
    expect(errors).toEqual([]);
    client.dispose();
  });

  it('server messages named like client events never reach lifecycle listeners', async () => {
    const { client, errors, states } = await open<{ type: string }>();
    const before = states.length;
    srv.push({ type: 'open' });
    srv.push({ type: 'error' });
    srv.push({ type: 'state' });
    await tick();
    expect(states.length).toBe(before);
    expect(errors).toEqual([]);
    client.dispose();
  });

  it('dispatches by a custom typeKey', async () => {
    const { client } = await open({ typeKey: 'kind' });
    const h = vi.fn();
    client.on('chat', h);
    srv.push({ kind: 'chat' });
    await tick();
    expect(h).toHaveBeenCalledWith({ kind: 'chat' });
    client.dispose();
  });
});

describe('errors with nobody listening', () => {
  it('go to logger.warn, never nowhere', async () => {
    const warn = vi.fn();
    const client = new WebSocketClient({
      url: srv.url,
      WebSocket: (await import('mock-socket')).WebSocket as never,
      logger: { warn },
    });
    await tick();
    srv.push('garbage');
    await tick();
    expect(warn).toHaveBeenCalledWith('[resilient-ws]', expect.objectContaining({ code: 'PARSE_ERROR' }));
    client.dispose();
  });

  it('a throwing error listener is logged, not looped', async () => {
    const warn = vi.fn();
    const { client } = await open({ logger: { warn } });
    client.onError(() => {
      throw new Error('listener bug');
    });
    srv.push('garbage');
    await tick();
    expect(warn).toHaveBeenCalledTimes(1);
    client.dispose();
  });

  it('a throwing state listener is HANDLER_ERROR and the client carries on', async () => {
    const { client, errors } = makeClient(srv.url, { autoConnect: false });
    client.onStateChange(() => {
      throw new Error('ui bug');
    });
    client.connect();
    await tick();
    expect(client.state).toBe('open');
    expect(errors.map((e) => e.code)).toEqual(['HANDLER_ERROR', 'HANDLER_ERROR']);
    client.dispose();
  });
});

describe('debug logging', () => {
  it('logs through logger.debug when debug is on, and never the auth message', async () => {
    const debug = vi.fn();
    const { client } = makeClient(srv.url, {
      debug: true,
      logger: { debug, warn: vi.fn() },
      auth: { type: 'auth', token: 'secret-token' },
    });
    await tick();
    client.send({ type: 'hello' });
    await tick();
    expect(debug).toHaveBeenCalledWith('[resilient-ws]', 'state', 'open');
    expect(debug).toHaveBeenCalledWith('[resilient-ws]', 'send', '{"type":"hello"}');
    expect(JSON.stringify(debug.mock.calls)).not.toContain('secret-token');
    client.dispose();
  });

  it('logs nothing by default', async () => {
    const debug = vi.fn();
    const { client } = makeClient(srv.url, { logger: { debug, warn: vi.fn() } });
    await tick();
    client.send({ type: 'hello' });
    expect(debug).not.toHaveBeenCalled();
    client.dispose();
  });
});
