import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { request } from '../../src/request';
import { makeClient, mockServer, type TestServer, tick } from './helpers';

let srv: TestServer;
beforeEach(() => {
  vi.useFakeTimers();
  srv = mockServer();
  // answers { type: 'get', requestId } with { type: 'result', requestId, value }
  srv.server.on('connection', (s) =>
    s.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.type === 'get')
        s.send(JSON.stringify({ type: 'result', requestId: m.requestId, value: m.key.toUpperCase() }));
    }),
  );
});
afterEach(() => {
  srv.server.stop();
  vi.useRealTimers();
});

type Result = { type: 'result'; value: string };

describe('request', () => {
  it('resolves with the reply that carries its correlation id', async () => {
    const { client } = makeClient(srv.url);
    await tick();
    const [a, b] = [
      request<Result>(client, { type: 'get', key: 'a' }),
      request<Result>(client, { type: 'get', key: 'b' }),
    ];
    await tick();
    expect((await a).value).toBe('A');
    expect((await b).value).toBe('B');
    client.dispose();
  });

  it('replies go to the promise, not to handlers', async () => {
    const { client } = makeClient(srv.url);
    const handler = vi.fn();
    client.on('result', handler);
    await tick();
    const r = request(client, { type: 'get', key: 'x' });
    await tick();
    await r;
    expect(handler).not.toHaveBeenCalled();
    client.dispose();
  });

  it('a request made while offline waits in the queue and resolves once connected', async () => {
    const { client } = makeClient(srv.url, { autoConnect: false });
    const r = request<Result>(client, { type: 'get', key: 'q' });
    expect(client.queued).toBe(1);
    client.connect();
    await tick();
    expect((await r).value).toBe('Q');
    client.dispose();
  });

  it('rejects with REQUEST_TIMEOUT, the clock running while queued too', async () => {
    const { client } = makeClient(srv.url, { autoConnect: false });
    const r = request(client, { type: 'never' }, { timeout: 500 });
    const caught = r.catch((e) => e);
    await tick(500);
    expect(await caught).toMatchObject({ code: 'REQUEST_TIMEOUT', data: { type: 'never' } });
    client.dispose();
  });

  it('rejects with the signal’s reason when aborted, before or after sending', async () => {
    const { client } = makeClient(srv.url);
    await tick();
    const early = new AbortController();
    early.abort(new Error('too late'));
    await expect(request(client, { type: 'get', key: 'a' }, { signal: early.signal })).rejects.toThrow('too late');
    const ctl = new AbortController();
    const r = request(client, { type: 'never' }, { signal: ctl.signal }).catch((e) => e);
    ctl.abort();
    expect((await r).name).toBe('AbortError');
    await tick(); // mock-socket's delivery of the frames
    expect(vi.getTimerCount()).toBe(0);
    client.dispose();
  });

  it('rejects pending requests with REQUEST_CANCELLED on close() and dispose()', async () => {
    const { client } = makeClient(srv.url);
    await tick();
    const r = request(client, { type: 'never' }).catch((e) => e);
    client.close();
    expect(await r).toMatchObject({ code: 'REQUEST_CANCELLED' });
    await tick(); // mock-socket's delivery of the close
    expect(vi.getTimerCount()).toBe(0);
    client.connect();
    await tick();
    const again = request<Result>(client, { type: 'get', key: 'z' });
    await tick();
    expect((await again).value).toBe('Z');
    const last = request(client, { type: 'never' }).catch((e) => e);
    client.dispose();
    expect(await last).toMatchObject({ code: 'REQUEST_CANCELLED' });
  });

  it('rejects at once when the request cannot be queued', async () => {
    const { client } = makeClient(srv.url, { autoConnect: false, queue: false });
    await expect(request(client, { type: 'get', key: 'a' })).rejects.toMatchObject({ code: 'QUEUE_OVERFLOW' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('honours each request’s own correlation field on the same client', async () => {
    const { client } = makeClient(srv.url);
    srv.server.on('connection', (s) =>
      s.on('message', (d) => {
        const m = JSON.parse(String(d));
        if (m.type === 'ask') s.send(JSON.stringify({ type: 'answer', corr: m.corr }));
      }),
    );
    await tick();
    const first = request<Result>(client, { type: 'get', key: 'a' }); // default field: requestId
    const second = request(client, { type: 'ask' }, { idKey: 'corr' });
    await tick();
    expect((await first).value).toBe('A');
    expect(await second).toMatchObject({ type: 'answer' });
    client.dispose();
  });

  it('uses a custom correlation field', async () => {
    const { client } = makeClient(srv.url);
    srv.server.on('connection', (s) =>
      s.on('message', (d) => {
        const m = JSON.parse(String(d));
        if (m.type === 'ask') s.send(JSON.stringify({ type: 'answer', corr: m.corr }));
      }),
    );
    await tick();
    const r = request(client, { type: 'ask' }, { idKey: 'corr' });
    await tick();
    expect(await r).toMatchObject({ type: 'answer' });
    client.dispose();
  });
});

describe('request with the reply type named ({ reply })', () => {
  type In = Result | { type: 'balance'; amount: number };
  type Out = { type: 'get'; key: string };

  it('resolves with a reply of that type', async () => {
    const { client } = makeClient<In, Out>(srv.url);
    await tick();
    const r = request(client, { type: 'get', key: 'a' }, { reply: 'result' });
    await tick();
    expect(await r).toEqual({ type: 'result', requestId: expect.any(String), value: 'A' });
    client.dispose();
  });

  it('rejects with INVALID_MESSAGE, the reply as data, when the reply is of another type', async () => {
    const { client } = makeClient<In, Out>(srv.url);
    const handler = vi.fn();
    client.on('*', handler);
    await tick();
    const r = request(client, { type: 'get', key: 'a' }, { reply: 'balance' }).catch((e) => e);
    await tick();
    expect(await r).toMatchObject({
      code: 'INVALID_MESSAGE',
      message: 'INVALID_MESSAGE: reply of type result, not balance',
      data: { type: 'result', value: 'A' },
    });
    expect(handler).not.toHaveBeenCalled(); // still the request's reply, not a message for handlers
    expect(vi.getTimerCount()).toBe(0);
    client.dispose();
  });
});

describe('request: the client’s typeKey', () => {
  it('reads the reply’s type from the client’s typeKey', async () => {
    srv.server.on('connection', (s) =>
      s.on('message', (d) => {
        const m = JSON.parse(String(d));
        if (m.kind === 'get') s.send(JSON.stringify({ kind: 'result', requestId: m.requestId, value: 'K' }));
        if (m.kind === 'bad') s.send(JSON.stringify({ kind: 'error', requestId: m.requestId }));
      }),
    );
    const { client } = makeClient(srv.url, { typeKey: 'kind' });
    await tick();
    const ok = request(client, { kind: 'get' } as never, { reply: 'result' });
    const bad = request(client, { kind: 'bad' } as never, { reply: 'result' });
    const badError = bad.catch((e) => e);
    await tick();
    expect(await ok).toEqual({ kind: 'result', requestId: expect.any(String), value: 'K' });
    const e = await badError;
    expect(e.code).toBe('INVALID_MESSAGE');
    expect(e.message).toContain('reply of type error, not result');
    client.dispose();
  });
});

describe('request: option checks', () => {
  it('refuses an unknown option with INVALID_OPTIONS, suggesting the nearest name', async () => {
    const { client } = makeClient(srv.url, { autoConnect: false });
    await expect(request(client, { type: 'get', key: 'a' }, { timout: 5 } as never)).rejects.toThrow(
      'INVALID_OPTIONS: request: options.timout is not an option; did you mean timeout?',
    );
    expect(srv.frames).toEqual([]);
    client.dispose();
  });
});
