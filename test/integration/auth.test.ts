// Auth against a server speaking the demo protocol: the first message is {type:'auth', token};
// no token → close 4001, bad token → 4002, nothing within the auth timeout → 4003.
// The client (src/core/client.ts `rejected()`): a static auth message that is refused is fatal at
// once; a factory is asked once more and, if it yields a different frame, gets exactly one retry.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, countingWebSocket, type Msg, makeClient, sleep, startAuthServer } from './helpers';

afterEach(cleanup);

const isAck = (m: Msg) => m.type === 'auth_ok';
const tokenOf = (frame: unknown) => (frame as { token?: string } | undefined)?.token;
/** longer than any backoff used here: a retry would have happened by now */
const SETTLE = 300;

describe('auth with the demo protocol', () => {
  it.each([
    { why: 'no token', message: { type: 'auth' }, code: 4001 },
    { why: 'a bad token', message: { type: 'auth', token: 'bad' }, code: 4002 },
  ])(
    'a static auth message refused for $why (close $code) is fatal at once: AUTH_REJECTED, closed, no retry',
    async ({ message, code }) => {
      const server = await startAuthServer({ valid: new Set(['good']) });
      const ws = countingWebSocket();
      const t = makeClient({ url: server.url, WebSocket: ws.WebSocket, auth: message });
      await t.reach('closed');
      expect(t.errors.map((e) => e.code)).toEqual(['AUTH_REJECTED']);
      expect(t.errors[0]!.data).toMatchObject({ code });
      expect(t.details.at(-1)!.closeInfo?.code).toBe(code);
      await sleep(SETTLE);
      expect(server.conns).toHaveLength(1);
      expect(server.conns[0]!.frames).toEqual([message]);
      expect(ws.count()).toBe(1);
      expect(t.client.state).toBe('closed');
    },
  );

  it('an auth factory whose token expired (4002) and that yields a fresh one gets exactly one retry, which succeeds', async () => {
    const server = await startAuthServer({ valid: new Set(['fresh']) });
    const tokens = ['old', 'fresh'];
    let calls = 0;
    const t = makeClient({
      url: server.url,
      auth: { message: () => ({ type: 'auth', token: tokens[Math.min(calls++, 1)] }), isAck },
    });
    await t.reach('open');
    expect(server.conns).toHaveLength(2);
    expect(server.conns.map((c) => tokenOf(c.frames[0]))).toEqual(['old', 'fresh']);
    expect(server.conns[0]!.closed?.code).toBe(4002);
    expect(t.errors.map((e) => e.code)).toEqual(['AUTH_REJECTED']);
    expect(calls).toBe(2);
    await sleep(SETTLE);
    expect(server.conns).toHaveLength(2);
    expect(t.client.state).toBe('open');
  });

  it('announces the retry after an auth refusal as one reconnecting state change, carrying its delay', async () => {
    const server = await startAuthServer({ valid: new Set(['fresh']) });
    let calls = 0;
    const t = makeClient({
      url: server.url,
      auth: { message: () => ({ type: 'auth', token: calls++ ? 'fresh' : 'old' }), isAck },
    });
    await t.reach('open');
    const reconnecting = t.details.filter((_, i) => t.states[i] === 'reconnecting');
    expect(reconnecting).toEqual([{ attempt: 1, delay: 20, closeInfo: expect.objectContaining({ code: 4002 }) }]);
    expect(t.states.join()).toBe('connecting,authenticating,reconnecting,connecting,authenticating,open');
  });

  it('an auth factory that keeps yielding the same refused token stops in closed with one AUTH_REJECTED, never looping', async () => {
    const server = await startAuthServer({ valid: new Set(['good']) });
    let calls = 0;
    const t = makeClient({
      url: server.url,
      auth: {
        message: () => {
          calls++;
          return { type: 'auth', token: 'bad' };
        },
        isAck,
      },
    });
    await t.reach('closed');
    await sleep(SETTLE);
    expect(t.client.state).toBe('closed');
    expect(server.conns.length).toBeGreaterThanOrEqual(1);
    expect(server.conns.length).toBeLessThanOrEqual(2);
    expect(server.conns.every((c) => c.closed?.code === 4002)).toBe(true);
    expect(calls).toBeLessThanOrEqual(3);
    // one refusal, one report (an app showing a toast per error shows one)
    expect(t.errors.map((e) => e.code)).toEqual(['AUTH_REJECTED']);
  });

  it('an auth factory yielding a different bad token every time gets one retry, then stops: 2 connections, closed', async () => {
    const server = await startAuthServer({ valid: new Set(['good']) });
    let calls = 0;
    const t = makeClient({
      url: server.url,
      auth: { message: () => ({ type: 'auth', token: `bad${++calls}` }), isAck },
    });
    await t.reach('closed');
    await sleep(SETTLE);
    expect(server.conns.map((c) => [tokenOf(c.frames[0]), c.closed?.code])).toEqual([
      ['bad1', 4002],
      ['bad2', 4002],
    ]);
    expect(t.client.state).toBe('closed');
    expect(t.errors.map((e) => e.code)).toEqual(['AUTH_REJECTED', 'AUTH_REJECTED']);
  });

  it('an auth factory slower than the server auth timeout gets close 4003 (AUTH_REJECTED), then one retry sending the token it fetched meanwhile', async () => {
    const server = await startAuthServer({ valid: new Set(['good']), authTimeoutMs: 150 });
    let calls = 0;
    const t = makeClient({
      url: server.url,
      auth: {
        message: () => {
          calls++;
          return new Promise<Msg>((resolve) => setTimeout(() => resolve({ type: 'auth', token: 'good' }), 300));
        },
        isAck,
      },
    });
    await vi.waitFor(() => expect(t.errors).toHaveLength(1));
    expect(t.errors[0]!.code).toBe('AUTH_REJECTED');
    expect(t.errors[0]!.data).toMatchObject({ code: 4003 });
    expect(server.conns[0]!.closed?.code).toBe(4003);
    await t.reach('open', true);
    expect(server.conns).toHaveLength(2);
    expect(server.conns[0]!.frames).toEqual([]); // the late token was never written to the dead socket
    expect(server.conns[1]!.frames).toEqual([{ type: 'auth', token: 'good' }]);
    // the second connection sent the token at once: well within the server's auth timeout
    expect(server.conns[1]!.closed).toBeUndefined();
    expect(calls).toBe(2);
    expect(t.errors).toHaveLength(1);
  });

  it('a token that worked before and missed the auth timeout (4003) on a later reconnect is retried, not treated as refused', async () => {
    const server = await startAuthServer({ valid: new Set(['good']), authTimeoutMs: 150 });
    let calls = 0;
    const t = makeClient({
      url: server.url,
      auth: {
        // the first call is quick; later ones (a slow token store after a network change) are not
        message: () =>
          calls++ === 0
            ? { type: 'auth', token: 'good' }
            : new Promise<Msg>((resolve) => setTimeout(() => resolve({ type: 'auth', token: 'good' }), 300)),
        isAck,
      },
    });
    await t.reach('open');
    const down = t.reach('reconnecting');
    server.conns[0]!.ws.terminate();
    await down;
    await vi.waitFor(() => expect(server.conns[1]?.closed?.code).toBe(4003));
    // the token 'good' was never refused: it did not reach the server on that connection
    await vi.waitFor(() => expect(t.client.state === 'open' || t.client.state === 'closed').toBe(true), {
      timeout: 3000,
    });
    expect(server.conns[1]!.frames).toEqual([]);
    expect(t.client.state).toBe('open');
    expect(server.conns.map((c) => c.frames[0])).toEqual([
      { type: 'auth', token: 'good' },
      undefined,
      { type: 'auth', token: 'good' },
    ]);
  });

  it('a bare auth factory (no isAck) gets its one fresh retry on every later token expiry, not only the first', async () => {
    // t1 good; t2 expired → retry with t3 (good); after a stable session t4 expired → retry with t5
    const server = await startAuthServer({ valid: new Set(['t1', 't3', 't5']) });
    let calls = 0;
    const t = makeClient({
      url: server.url,
      reconnect: { initialDelay: 20, maxDelay: 100, jitter: 0, resetAfter: 200 },
      auth: () => ({ type: 'auth', token: `t${++calls}` }),
    });
    /** connection `n` (1-based) authenticated with `token` and stays up longer than resetAfter */
    const session = async (n: number, token: string) => {
      await vi.waitFor(() => expect(server.conns[n - 1]?.frames).toEqual([{ type: 'auth', token }]));
      expect(t.client.state).toBe('open');
      await sleep(300);
      expect(server.conns[n - 1]!.closed).toBeUndefined();
    };
    await session(1, 't1');
    server.conns[0]!.ws.terminate(); // e.g. a server restart; t1 expires meanwhile
    await session(3, 't3');
    server.conns[2]!.ws.terminate();
    await vi.waitFor(() => expect(t.client.state === 'closed' || server.conns[4]?.frames.length === 1).toBe(true), {
      timeout: 3000,
    });
    expect(t.errors.map((e) => e.code)).toEqual(['AUTH_REJECTED', 'AUTH_REJECTED']);
    expect(server.conns.map((c) => tokenOf(c.frames[0]))).toEqual(['t1', 't2', 't3', 't4', 't5']);
    expect(t.client.state).toBe('open');
  });
});
