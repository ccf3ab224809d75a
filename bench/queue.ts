// (b) The offline queue: enqueue 100k messages while disconnected, flush them on connect, and
// the heap each queued message costs. Needs `--expose-gc` (the bench script passes it).
import type { AddressInfo } from 'node:net';
import type { WebSocketConstructor } from 'resilient-ws';
import WebSocket, { WebSocketServer } from 'ws';
import { type Figure, loadSdk, round, sleep, until } from './lib';

export const N = 100_000;

type Chat = { type: 'chat'; room: string; text: string; seq: number };
const make = (seq: number): Chat => ({ type: 'chat', room: 'general', text: 'hello there, sent while offline', seq });

const heap = (): number => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc (npm run bench does)');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

export const run = async (): Promise<{ figures: Figure[]; details: unknown }> => {
  const { WebSocketClient } = await loadSdk();

  // what the app's message objects alone cost, for comparison
  let h0 = heap();
  let held: Chat[] | undefined = Array.from({ length: N }, (_, i) => make(i));
  const objectBytes = (heap() - h0) / N;
  held.length = 0;
  held = undefined;

  let received = 0;
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => ws.on('message', () => received++));
  const client = new WebSocketClient<Chat, Chat>({
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    autoConnect: false,
    queue: { maxSize: N },
  });

  h0 = heap();
  let t = performance.now();
  for (let i = 0; i < N; i++) if (client.send(make(i)) !== 'queued') throw new Error(`message ${i} not queued`);
  const enqueueMs = performance.now() - t;
  const queuedBytes = (heap() - h0) / N;

  t = performance.now();
  let drainedMs = 0;
  let openMs = 0;
  client.onStateChange((s) => {
    if (s === 'open') openMs = performance.now() - t;
  });
  client.connect();
  await until(
    () => {
      if (!drainedMs && client.state === 'open' && client.queued === 0) drainedMs = performance.now() - t;
      return received === N;
    },
    60_000,
    'the server to receive every queued message',
  );
  const deliveredMs = performance.now() - t;
  client.dispose();
  for (const ws of wss.clients) ws.terminate();
  await new Promise((r) => wss.close(r));
  await sleep(0);

  const bench = 'queue (100k, Node)';
  return {
    figures: [
      { bench, metric: 'enqueue 100k while offline', value: round(enqueueMs, 1), unit: 'ms' },
      { bench, metric: 'connect → queue empty (all handed to the socket)', value: round(drainedMs, 1), unit: 'ms' },
      { bench, metric: 'connect → server received all 100k', value: round(deliveredMs, 1), unit: 'ms' },
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
      frameBytes: JSON.stringify(make(N - 1)).length,
      messageObjectBytes: round(objectBytes),
      openMs: round(openMs, 1),
    },
  };
};
