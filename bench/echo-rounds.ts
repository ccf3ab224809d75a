// One round of the echo benchmark, the same code in Node and in the browser page: keep
// `inflight` messages in flight until `total` have come back, and return messages per second.
// Both sides do the app's work: JSON.stringify each message, JSON.parse each frame, switch
// on its type. Only the SDK's layer differs.
import type { WebSocketClient, WebSocketConstructor } from 'resilient-ws';

export type EchoIn = { type: 'echo'; seq: number; text: string } | { type: 'pong' };
export type EchoOut = { type: 'echo'; seq: number; text: string };

export interface Round {
  total: number;
  inflight: number;
}

/** Messages per second, and the main-thread time each received message cost (µs). */
export interface RoundResult {
  rate: number;
  us: number;
}

export interface Sdk {
  WebSocketClient: typeof WebSocketClient;
}

const TEXT = 'a typical small chat message, some forty bytes';

/**
 * The socket class with its `onmessage` timed: everything a received message costs on the
 * main thread (parse, dispatch, the handler, serialising and sending the next message) adds to
 * `spent.ms`. Raw and SDK rounds are timed alike; the clock costs both the same.
 */
export const timed = (WS: WebSocketConstructor, spent: { ms: number }): WebSocketConstructor => {
  // `onmessage` is an accessor on the prototype of both the browser's class and `ws`'s
  let d: PropertyDescriptor | undefined;
  for (let p: object | null = WS.prototype; p && !d; p = Object.getPrototypeOf(p))
    d = Object.getOwnPropertyDescriptor(p, 'onmessage');
  const { get, set } = d ?? {};
  if (!get || !set) throw new Error('WebSocket class without an onmessage accessor');
  class Timed extends WS {}
  Object.defineProperty(Timed.prototype, 'onmessage', {
    get() {
      return get.call(this);
    },
    set(f: unknown) {
      const wrapped = (e: unknown) => {
        const t = performance.now();
        try {
          (f as (e: unknown) => void).call(this, e);
        } finally {
          spent.ms += performance.now() - t;
        }
      };
      set.call(this, typeof f === 'function' ? wrapped : f);
    },
  });
  return Timed;
};

/** A bare WebSocket of the same class the SDK uses, with the same per-message work. */
export const rawRound = (WS: WebSocketConstructor, url: string, r: Round): Promise<RoundResult> =>
  new Promise((resolve, reject) => {
    const spent = { ms: 0 };
    const ws = new (timed(WS, spent))(url);
    let sent = 0;
    let got = 0;
    let t0 = 0;
    const next = () => {
      const msg: EchoOut = { type: 'echo', seq: sent++, text: TEXT };
      ws.send(JSON.stringify(msg));
    };
    ws.onopen = () => {
      t0 = performance.now();
      for (let i = 0; i < r.inflight; i++) next();
    };
    ws.onmessage = (e: { data: string }) => {
      const msg = JSON.parse(e.data) as EchoIn;
      if (typeof msg?.type !== 'string') return;
      switch (msg.type) {
        case 'echo':
          if (++got === r.total) {
            const rate = (r.total / (performance.now() - t0)) * 1000;
            ws.close();
            queueMicrotask(() => resolve({ rate, us: (spent.ms * 1000) / r.total }));
          } else if (sent < r.total) next();
          break;
        case 'pong':
          break;
      }
    };
    ws.onerror = () => reject(new Error('raw socket error'));
  });

/** The SDK with its defaults (heartbeat and queue on) and a typed `on('echo')` handler. */
export const sdkRound = (sdk: Sdk, WS: WebSocketConstructor, url: string, r: Round): Promise<RoundResult> =>
  new Promise((resolve, reject) => {
    const spent = { ms: 0 };
    const client = new sdk.WebSocketClient<EchoIn, EchoOut>({ url, autoConnect: false, WebSocket: timed(WS, spent) });
    let sent = 0;
    let got = 0;
    let t0 = 0;
    const next = () => {
      client.send({ type: 'echo', seq: sent++, text: TEXT });
    };
    client.onStateChange((state) => {
      if (state !== 'open') return;
      t0 = performance.now();
      for (let i = 0; i < r.inflight; i++) next();
    });
    client.onError((e) => reject(e));
    client.on('echo', () => {
      if (++got === r.total) {
        const rate = (r.total / (performance.now() - t0)) * 1000;
        client.dispose();
        queueMicrotask(() => resolve({ rate, us: (spent.ms * 1000) / r.total }));
      } else if (sent < r.total) next();
    });
    client.connect();
  });
