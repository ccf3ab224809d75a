// (b) The offline queue, in Node: 100k messages sent while disconnected, then the flush on
// connect until the server (its own process) has them all, against a raw `ws` socket's own send
// loop of the same frames, in interleaved rounds; and the heap each queued message costs.
// Needs `--expose-gc` (the bench script passes it).
import type { WebSocketConstructor } from 'resilient-ws';
import WebSocket from 'ws';
import { type Figure, loadSdk, median, QUICK, round, startEchoServer } from './lib';

export const N = 100_000;
export const WARMUP = QUICK ? 0 : 1;
export const ROUNDS = QUICK ? 1 : 9;

type Chat = { type: 'chat'; room: string; text: string; seq: number };
type Done = { type: 'done' };
const make = (seq: number): Chat => ({ type: 'chat', room: 'general', text: 'hello there, sent while offline', seq });
/** The frames the raw loop sends: the same bytes the SDK queued. */
const frames = Array.from({ length: N }, (_, i) => JSON.stringify(make(i)));

const heap = (): number => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc (npm run bench does)');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

/** The raw socket: from its `open` event, send every frame in one loop; ms until the server has them all. */
const rawFlush = (url: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let t0 = 0;
    ws.onopen = () => {
      t0 = performance.now();
      for (const f of frames) ws.send(f);
    };
    ws.onmessage = () => {
      const ms = performance.now() - t0;
      ws.close();
      resolve(ms);
    };
    ws.onerror = (e) => reject(e.error);
  });

export const run = async (): Promise<{ figures: Figure[]; details: unknown }> => {
  const { WebSocketClient } = await loadSdk();

  /** The SDK: N messages queued while offline, then `connect()`; ms from the socket's `open` event (as for raw) until the server has them all. */
  const sdkFlush = async (url: string): Promise<{ flushMs: number; enqueueMs: number }> => {
    let t0 = 0;
    // stamps the open event before the client's own handler (registered later) runs
    class Stamped extends WebSocket {
      constructor(u: string, p?: string | string[]) {
        super(u, p);
        this.addEventListener('open', () => {
          t0 = performance.now();
        });
      }
    }
    const client = new WebSocketClient<Done, Chat>({
      url,
      WebSocket: Stamped as unknown as WebSocketConstructor,
      autoConnect: false,
      queue: { maxSize: N },
    });
    const t = performance.now();
    for (let i = 0; i < N; i++) if (client.send(make(i)) !== 'queued') throw new Error(`message ${i} not queued`);
    const enqueueMs = performance.now() - t;
    const done = new Promise<void>((resolve, reject) => {
      client.on('done', () => resolve());
      client.onError(reject);
    });
    client.connect();
    await done;
    const flushMs = performance.now() - t0;
    client.dispose();
    return { flushMs, enqueueMs };
  };

  // what the app's message objects alone cost, then the same messages queued in a client
  let h0 = heap();
  let held: Chat[] | undefined = Array.from({ length: N }, (_, i) => make(i));
  const objectBytes = (heap() - h0) / N;
  held.length = 0;
  held = undefined;
  const parked = new WebSocketClient<Done, Chat>({
    url: 'ws://127.0.0.1:9/',
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    autoConnect: false,
    queue: { maxSize: N },
  });
  h0 = heap();
  for (let i = 0; i < N; i++) parked.send(make(i));
  const queuedBytes = (heap() - h0) / N;
  parked.dispose();

  const server = await startEchoServer();
  const url = `${server.url}/count?n=${N}`;
  const raw: number[] = [];
  const sdk: { flushMs: number; enqueueMs: number }[] = [];
  try {
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      // interleaved, alternating which goes first, each from a clean heap
      let r = 0;
      let s = { flushMs: 0, enqueueMs: 0 };
      for (const which of i % 2 ? ['sdk', 'raw'] : ['raw', 'sdk']) {
        heap();
        if (which === 'raw') r = await rawFlush(url);
        else s = await sdkFlush(url);
      }
      if (i >= WARMUP) {
        raw.push(r);
        sdk.push(s);
      }
    }
  } finally {
    server.stop();
  }
  const ratio = median(sdk.map((s, i) => s.flushMs / (raw[i] as number)));
  const bench = 'queue (100k, Node)';
  return {
    figures: [
      {
        bench,
        metric: 'enqueue 100k while offline, median',
        value: round(median(sdk.map((s) => s.enqueueMs)), 1),
        unit: 'ms',
      },
      {
        bench,
        metric: 'raw ws: open → server has all 100k (its own send loop), median',
        value: round(median(raw), 1),
        unit: 'ms',
      },
      {
        bench,
        metric: 'SDK: open → server has all 100k (queue flush), median',
        value: round(median(sdk.map((s) => s.flushMs)), 1),
        unit: 'ms',
      },
      {
        bench,
        metric: 'flush, SDK / raw (median of rounds)',
        value: round(ratio, 2),
        unit: '×',
        target: '≤ 1.1',
        ok: ratio <= 1.1,
      },
      { bench, metric: 'heap per queued message', value: round(queuedBytes), unit: 'B' },
      {
        bench,
        metric: '… of which the queue itself (beyond the message object)',
        value: round(queuedBytes - objectBytes),
        unit: 'B',
      },
    ],
    details: {
      n: N,
      frameBytes: (frames[N - 1] as string).length,
      messageObjectBytes: round(objectBytes),
      warmup: WARMUP,
      rawMs: raw.map((x) => round(x, 1)),
      sdkMs: sdk.map((s) => round(s.flushMs, 1)),
      enqueueMs: sdk.map((s) => round(s.enqueueMs, 1)),
    },
  };
};
