// A channels chaos run, shared by the single-server and the cluster tests: subscribers on 5 of
// 20 channels each, publishers (delivery on), client connections cut at random every 100–400 ms,
// then an audit of every subscriber's every channel against what was published.
import {
  type ClientOptions,
  type Message,
  WebSocketClient,
  type WebSocketClientError,
  type WebSocketConstructor,
} from 'resilient-ws';
import { type Channel, channels } from 'resilient-ws/channels';
import { type Delivery, delivery } from 'resilient-ws/delivery';
import WebSocket from 'ws';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** `ws`'s client class, keeping every socket it makes, so a test can cut from the client's side. */
export const keeping = (sockets: WebSocket[]): WebSocketConstructor =>
  class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  } as unknown as WebSocketConstructor;

type Pub = { p: number; n: number };

/** One SDK client with channels, as a page would make it. */
export interface Peer {
  client: WebSocketClient<Message, Message>;
  sockets: WebSocket[];
  errors: WebSocketClientError[];
  d: Delivery;
  subs: Map<string, Channel<Pub>>;
  /** per channel: [epoch, offset, key] in the order the handler got them */
  got: Map<string, Array<[string, number, string]>>;
  opens: number;
}

/**
 * A peer on `urls` subscribed to `names`, connected. `extra` gives options of its own (another
 * `WebSocket`, a logger), given the array where the sockets it makes are to be kept.
 */
export function peer(
  urls: string | string[],
  names: string[],
  token = 'demo-token',
  extra: (sockets: WebSocket[]) => Partial<ClientOptions<Message, Message>> = () => ({}),
): Peer {
  const sockets: WebSocket[] = [];
  const client = new WebSocketClient<Message, Message>({
    url: urls,
    WebSocket: keeping(sockets),
    autoConnect: false,
    auth: { message: { type: 'auth', token }, isAck: (m) => m.type === 'auth_ok' },
    reconnect: { initialDelay: 100, maxDelay: 1000 },
    heartbeat: false,
    pageEvents: false,
    ...extra(sockets),
  });
  const p: Peer = { client, sockets, errors: [], d: delivery(client), subs: new Map(), got: new Map(), opens: 0 };
  client.onError((e) => p.errors.push(e));
  client.onStateChange((s) => s === 'open' && p.opens++);
  const ch = channels(client);
  for (const name of names) {
    const sub = ch.subscribe<Pub>(name);
    const got: Array<[string, number, string]> = [];
    p.got.set(name, got);
    sub.on((data, pos) => got.push([pos.epoch, pos.offset, `${data.p}.${data.n}`]));
    p.subs.set(name, sub);
  }
  client.connect();
  return p;
}

/** Cut a random peer's live socket every 100–400 ms until `stop()`; returns the number of cuts. */
export function cutter(peers: Peer[]): { stop(): number } {
  let cuts = 0;
  let timer: NodeJS.Timeout;
  const next = (): void => {
    timer = setTimeout(
      () => {
        const p = peers[Math.floor(Math.random() * peers.length)] as Peer;
        const ws = p.sockets.at(-1);
        if (ws?.readyState === WebSocket.OPEN) {
          ws.terminate();
          cuts++;
        }
        next();
      },
      100 + Math.random() * 300,
    );
  };
  next();
  return {
    stop() {
      clearTimeout(timer);
      return cuts;
    },
  };
}

/** Publishers: each publishes `{p, n}` to a random channel every `everyMs`; `sent` per channel. */
export function publishing(pubs: Peer[], names: string[], everyMs: number) {
  const sent = new Map<string, string[]>(names.map((n) => [n, []]));
  let n = 0;
  const timer = setInterval(() => {
    n++;
    pubs.forEach((p, i) => {
      const name = names[Math.floor(Math.random() * names.length)] as string;
      channels(p.client).publish(name, { p: i, n });
      sent.get(name)?.push(`${i}.${n}`);
    });
  }, everyMs);
  return { sent, stop: () => clearInterval(timer) };
}

export interface Figures {
  sent: number;
  received: number;
  duplicates: number;
  reorders: number;
  /** offsets skipped without a reported gap */
  silentSkips: number;
  /** publications missing at a subscriber on a channel that reported no gap */
  lost: number;
  gapsReported: number;
  /** gaps reported on a channel beyond the skips seen there (a gap reported twice) */
  extraGaps: number;
}

/** Every subscriber's every channel, against what was published. */
export function audit(subs: Peer[], sent: Map<string, string[]>): Figures {
  const f: Figures = {
    sent: [...sent.values()].reduce((s, l) => s + l.length, 0),
    received: 0,
    duplicates: 0,
    reorders: 0,
    silentSkips: 0,
    lost: 0,
    gapsReported: 0,
    extraGaps: 0,
  };
  for (const p of subs) {
    const gaps = p.errors.filter((e) => e.code === 'CHANNEL_GAP');
    f.gapsReported += gaps.length;
    for (const [name, got] of p.got) {
      const channelGaps = gaps.filter((e) => (e.data as { channel: string }).channel === name).length;
      f.received += got.length;
      const keys = new Set(got.map((g) => g[2]));
      f.duplicates += got.length - keys.size;
      let skips = 0;
      for (let i = 1; i < got.length; i++) {
        const [e0, o0] = got[i - 1] as [string, number, string];
        const [e1, o1] = got[i] as [string, number, string];
        if (e0 === e1 && o1 <= o0) f.reorders++;
        else if (e0 !== e1 || o1 !== o0 + 1) skips++;
      }
      if (skips > channelGaps) f.silentSkips += skips - channelGaps;
      // a gap with no publication after it shows no skip: one such per channel at most
      if (channelGaps > skips + 1) f.extraGaps += channelGaps - skips - 1;
      if (channelGaps === 0) f.lost += (sent.get(name) ?? []).filter((k) => !keys.has(k)).length;
    }
  }
  return f;
}
