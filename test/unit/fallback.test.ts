// The fallback's decisions, with fake timers: when HTTP is chosen (and when never), what is
// written again on the transport that takes over, remembering the choice, the background
// re-try and the move back, and that nothing is left running after close.
import { type Message, WebSocketClient, type WebSocketConstructor } from 'resilient-ws';
import { type FallbackOptions, fallback, type Transport } from 'resilient-ws/fallback';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** A WebSocket the test drives: `open()`, `fail()` (1006), `message()`. */
class FakeWS {
  static all: FakeWS[] = [];
  readyState = 0;
  bufferedAmount = 0;
  binaryType = 'blob';
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: unknown) => void) | null = null;
  onclose: ((e: unknown) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  sent: string[] = [];
  constructor(readonly url: string) {
    FakeWS.all.push(this);
  }
  send(d: string): void {
    this.sent.push(d);
  }
  close(code = 1000, reason = ''): void {
    if (this.readyState > 1) return;
    this.readyState = 3;
    this.onclose?.({ code, reason, wasClean: true });
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  fail(): void {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code: 1006, reason: '', wasClean: false });
  }
  message(m: unknown): void {
    this.onmessage?.({ data: JSON.stringify(m) });
  }
}

/** An HTTP endpoint of the transport, in memory: sessions with a stream the test writes to, and the POSTs. */
const endpoint = () => {
  const enc = new TextEncoder();
  const sessions: { sid: string; stream: ReadableStreamDefaultController<Uint8Array>; posts: string[] }[] = [];
  const state = { up: true, opens: 0, urls: [] as string[] };
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    if (!state.up) throw new TypeError('fetch failed');
    const q = new URL(url).searchParams;
    const sid = q.get('sid');
    if (sid === null) {
      state.opens++;
      state.urls.push(url);
      let stream!: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({ start: (c) => void (stream = c) });
      const s = { sid: `s${sessions.length + 1}`, stream, posts: [] as string[] };
      sessions.push(s);
      init.signal?.addEventListener('abort', () => {
        try {
          stream.error(new Error('aborted'));
        } catch {}
      });
      stream.enqueue(enc.encode(`event: open\ndata: ${JSON.stringify({ sid: s.sid })}\n\n`));
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    }
    const s = sessions.find((x) => x.sid === sid)!;
    if (init.body) s.posts.push(...String(init.body).split('\n'));
    const close = q.get('close');
    if (close) {
      s.stream.enqueue(enc.encode(`event: close\ndata: ${JSON.stringify({ code: Number(close), reason: '' })}\n\n`));
      s.stream.close();
    }
    return new Response(null, { status: 204 });
  };
  const say = (i: number, m: unknown) => sessions[i]!.stream.enqueue(enc.encode(`data: ${JSON.stringify(m)}\n\n`));
  return { fetch, sessions, state, say };
};

const storage = () => {
  const m = new Map<string, string>();
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
    m,
  };
};

let http: ReturnType<typeof endpoint>;
let store: ReturnType<typeof storage>;
let transports: Transport[];
const clients: WebSocketClient<Message, Message>[] = [];

beforeEach(() => {
  vi.useFakeTimers();
  FakeWS.all = [];
  http = endpoint();
  store = storage();
  transports = [];
});
afterEach(() => {
  for (const c of clients.splice(0)) c.dispose();
  vi.useRealTimers();
});

const make = (o: Partial<FallbackOptions> = {}) => {
  const client = new WebSocketClient<Message, Message>('ws://example.test/ws?room=a', {
    WebSocket: fallback({
      http: '/rt',
      WebSocket: FakeWS as unknown as WebSocketConstructor,
      fetch: http.fetch,
      storage: store,
      onTransport: (t) => transports.push(t),
      ...o,
    }),
    heartbeat: false,
    pageEvents: false,
    reconnect: { initialDelay: 100, jitter: 0 },
    logger: { warn: () => {} },
  });
  clients.push(client);
  return client;
};
const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);
const ws = (i: number) => FakeWS.all[i]!;

describe('when to use HTTP', () => {
  it('a WebSocket that fails before opening twice, with HTTP answering in between: HTTP', async () => {
    const c = make();
    await tick();
    ws(0).fail();
    await tick();
    // HTTP answers: WebSocket gets one more chance
    expect(http.state.opens).toBe(1);
    expect(FakeWS.all).toHaveLength(2);
    expect(c.state).toBe('connecting');
    ws(1).fail();
    await tick();
    expect(c.state).toBe('open');
    expect(transports).toEqual(['http']);
    // the session the probe opened is the one used
    expect(http.state.opens).toBe(1);
    // resolved against the WebSocket url, its query carried over
    expect(http.state.urls).toEqual(['http://example.test/rt?room=a']);
  });

  it('both down (a server restart): no fallback; the client reconnects as usual', async () => {
    const c = make();
    await tick();
    http.state.up = false;
    ws(0).fail();
    await tick();
    expect(c.state).toBe('reconnecting');
    expect(transports).toEqual([]);
    expect(FakeWS.all).toHaveLength(1);
    expect(store.m.size).toBe(0);
    // back up: WebSocket first again
    http.state.up = true;
    await tick(100);
    expect(FakeWS.all).toHaveLength(2);
    ws(1).open();
    ws(1).message({ type: 'hello' });
    expect(transports).toEqual(['websocket']);
  });

  it('HTTP answers but WebSocket works on the second try: WebSocket, and the probe session is closed', async () => {
    const c = make();
    await tick();
    ws(0).fail();
    await tick();
    ws(1).open();
    ws(1).message({ type: 'hello' });
    await tick();
    expect(c.state).toBe('open');
    expect(transports).toEqual(['websocket']);
    expect(http.sessions[0]!.posts).toEqual([]);
    expect(store.m.size).toBe(0);
  });

  it('opens and dies before its first message, twice: HTTP, with what the client wrote sent again, in order', async () => {
    const c = make();
    c.send({ type: 'a' });
    await tick();
    ws(0).open();
    c.send({ type: 'b' });
    expect(ws(0).sent).toEqual(['{"type":"a"}', '{"type":"b"}']);
    ws(0).fail();
    await tick();
    c.send({ type: 'c' }); // the client still sees one open connection
    ws(1).open();
    expect(ws(1).sent).toEqual(['{"type":"a"}', '{"type":"b"}', '{"type":"c"}']);
    ws(1).fail();
    await tick();
    expect(c.state).toBe('open');
    expect(transports).toEqual(['http']);
    c.send({ type: 'd' });
    await tick();
    expect(http.sessions[0]!.posts).toEqual(['{"type":"a"}', '{"type":"b"}', '{"type":"c"}', '{"type":"d"}']);
    // one connection, as the client saw it
    expect(c.attempt).toBe(0);
  });

  it('a WebSocket still connecting at `timeout` (2000 ms): HTTP as soon as it answers', async () => {
    const c = make();
    await tick(1999);
    expect(http.state.opens).toBe(0);
    await tick(1);
    expect(c.state).toBe('open');
    expect(transports).toEqual(['http']);
    expect(ws(0).readyState).toBe(3);
  });

  it('a WebSocket that works: no HTTP request at all', async () => {
    const c = make();
    await tick();
    ws(0).open();
    ws(0).message({ type: 'hello' });
    await tick(60_000);
    expect(c.state).toBe('open');
    expect(transports).toEqual(['websocket']);
    expect(http.state.opens).toBe(0);
  });
});

describe('remembered, re-tried, moved back', () => {
  const onHttp = async (o: Partial<FallbackOptions> = {}) => {
    const c = make(o);
    await tick();
    ws(0).fail();
    await tick();
    ws(1).fail();
    await tick();
    expect(transports).toEqual(['http']);
    return c;
  };

  it('the choice is kept in storage: a new client (a reload) goes straight to HTTP', async () => {
    await onHttp();
    expect([...store.m.keys()]).toEqual(['resilient-ws:fallback http://example.test/rt']);
    const before = FakeWS.all.length;
    const c2 = make();
    await tick();
    expect(c2.state).toBe('open');
    expect(FakeWS.all.length).toBe(before);
    expect(transports).toEqual(['http', 'http']);
  });

  it('WebSocket re-tried every `retry`; when it works, the HTTP session ends (1012) and the client reconnects over WebSocket', async () => {
    const c = await onHttp();
    const states: string[] = [];
    c.onStateChange((s, d) => states.push(d.closeInfo ? `${s} ${d.closeInfo.code}` : s));
    await tick(29_999);
    expect(FakeWS.all).toHaveLength(2);
    await tick(1);
    // the background attempt
    expect(FakeWS.all).toHaveLength(3);
    ws(2).open();
    await tick(1999);
    c.send({ type: 'late' }); // written while the HTTP session is still on
    await tick(1);
    // works: the session closes after its last POST; what is written now waits for WebSocket
    c.send({ type: 'during' });
    await tick();
    expect(http.sessions[0]!.posts).toEqual(['{"type":"late"}']);
    expect(states[0]).toBe('reconnecting 1012');
    expect(store.m.size).toBe(0);
    await tick(100);
    expect(FakeWS.all).toHaveLength(4);
    ws(3).open();
    ws(3).message({ type: 'hello' });
    expect(ws(3).sent).toEqual(['{"type":"during"}']);
    expect(transports).toEqual(['http', 'websocket']);
  });

  it('a background attempt that a proxy kills: stays on HTTP, tries again `retry` later', async () => {
    const c = await onHttp();
    await tick(30_000);
    ws(2).open();
    ws(2).fail();
    await tick(2000);
    expect(c.state).toBe('open');
    expect(transports).toEqual(['http']);
    await tick(28_000);
    expect(FakeWS.all).toHaveLength(4);
  });

  it('`retry: false`: never re-tried', async () => {
    await onHttp({ retry: false });
    await tick(600_000);
    expect(FakeWS.all).toHaveLength(2);
  });

  it('close() and dispose() leave no timer behind, on either transport', async () => {
    const c = await onHttp();
    c.dispose();
    await tick();
    expect(vi.getTimerCount()).toBe(0);
    const c2 = make({ storage: false });
    await tick();
    c2.dispose();
    await tick();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('a remembered choice when HTTP fails to open', () => {
  const remembered = () => store.setItem('resilient-ws:fallback http://example.test/rt', '1');

  it('WebSocket works: used, and the choice is dropped', async () => {
    remembered();
    http.state.up = false;
    const c = make();
    await tick();
    expect(FakeWS.all).toHaveLength(1);
    ws(0).open();
    ws(0).message({ type: 'hello' });
    await tick();
    expect(c.state).toBe('open');
    expect(transports).toEqual(['websocket']);
    expect(store.m.size).toBe(0);
  });

  it('WebSocket fails too (a restart): an outage for the client, the choice stays, HTTP first again', async () => {
    remembered();
    http.state.up = false;
    const c = make();
    await tick();
    ws(0).fail();
    await tick();
    expect(c.state).toBe('reconnecting');
    expect(store.m.size).toBe(1);
    http.state.up = true;
    await tick(100);
    expect(c.state).toBe('open');
    expect(transports).toEqual(['http']);
    expect(FakeWS.all).toHaveLength(1);
  });
});
