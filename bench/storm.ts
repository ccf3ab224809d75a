// (d) Reconnect storm: 300 clients with the DEFAULT reconnect options; the server closes every
// connection with 1012 (service restart), stops listening, and listens again on the same port
// 1000 ms later. How hard do the clients hit it when it comes back, and how soon are all back?
import type { AddressInfo } from 'node:net';
import type { ReconnectOptions, WebSocketClient, WebSocketConstructor } from 'resilient-ws';
import WebSocket, { WebSocketServer } from 'ws';
import { type Figure, loadSdk, median, round, sleep, until } from './lib';

export const CLIENTS = 300;
export const DOWN_MS = 1000;
export const WINDOW_MS = 100;
export const RUNS = 5;
/** To try another policy: BENCH_STORM_RECONNECT='{"jitter":1}' npm run bench -- storm (default: the SDK's defaults). */
const RECONNECT = process.env.BENCH_STORM_RECONNECT
  ? (JSON.parse(process.env.BENCH_STORM_RECONNECT) as ReconnectOptions)
  : undefined;

const listen = (port: number, onConnection: () => void): Promise<WebSocketServer> =>
  new Promise((resolve, reject) => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
    wss.once('error', reject);
    wss.once('listening', () => resolve(wss));
    wss.on('connection', (ws) => {
      ws.on('error', () => {});
      onConnection();
    });
  });

/** Most events in any window of `ms` (sliding, anchored on each event). */
const peak = (times: number[], ms: number): number => {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while ((t[i] as number) - (t[j] as number) >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
};

const once = async (sdk: Awaited<ReturnType<typeof loadSdk>>) => {
  const accepted: number[] = [];
  let wss = await listen(0, () => accepted.push(performance.now()));
  const port = (wss.address() as AddressInfo).port;
  const clients: WebSocketClient[] = [];
  for (let i = 0; i < CLIENTS; i++)
    clients.push(
      new sdk.WebSocketClient({
        url: `ws://127.0.0.1:${port}`,
        WebSocket: WebSocket as unknown as WebSocketConstructor,
        heartbeat: false,
        ...(RECONNECT ? { reconnect: RECONNECT } : {}),
        logger: { warn() {} }, // connection refused while the server is down is expected
      }),
    );
  const allOpen = () => clients.every((c) => c.state === 'open');
  await until(allOpen, 30_000, 'all clients to connect');
  await sleep(200);

  accepted.length = 0;
  const down = performance.now();
  for (const ws of wss.clients) ws.close(1012, 'service restart');
  await new Promise((r) => wss.close(r));
  await sleep(DOWN_MS - (performance.now() - down));
  wss = await listen(port, () => accepted.push(performance.now()));
  const up = performance.now();
  await until(allOpen, 60_000, 'all clients to come back');
  const backMs = performance.now() - down;
  const attempts = clients.map((c) => c.attempt);
  for (const c of clients) c.dispose();
  for (const ws of wss.clients) ws.terminate();
  await new Promise((r) => wss.close(r));
  return {
    peak: peak(accepted, WINDOW_MS),
    backMs,
    firstMs: (accepted[0] ?? up) - down,
    accepted: accepted.length,
    maxAttempt: Math.max(...attempts),
    // connections accepted per 100 ms after the server came back (the shape of the storm)
    histogram: Array.from(
      { length: Math.ceil((Math.max(...accepted) - up) / WINDOW_MS) + 1 },
      (_, b) => accepted.filter((t) => Math.floor((t - up) / WINDOW_MS) === b).length,
    ),
  };
};

export const run = async (): Promise<{ figures: Figure[]; details: unknown }> => {
  const sdk = await loadSdk();
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await once(sdk));
  const worstPeak = Math.max(...runs.map((r) => r.peak));
  const worstBack = Math.max(...runs.map((r) => r.backMs));
  const bench = `reconnect storm (${CLIENTS} clients, ${DOWN_MS} ms down)`;
  return {
    figures: [
      {
        bench,
        metric: `peak new connections per ${WINDOW_MS} ms, worst of ${RUNS}`,
        value: worstPeak,
        unit: 'conns',
        target: '<= 30',
        ok: worstPeak <= 30,
      },
      {
        bench,
        metric: `peak new connections per ${WINDOW_MS} ms, median`,
        value: median(runs.map((r) => r.peak)),
        unit: 'conns',
      },
      {
        bench,
        metric: `all ${CLIENTS} back after the drop, worst of ${RUNS}`,
        value: round(worstBack),
        unit: 'ms',
        target: '<= 5000',
        ok: worstBack <= 5000,
      },
      { bench, metric: 'all back after the drop, median', value: round(median(runs.map((r) => r.backMs))), unit: 'ms' },
    ],
    details: {
      reconnect: RECONNECT ?? 'defaults',
      runs: runs.map((r) => ({ ...r, backMs: round(r.backMs), firstMs: round(r.firstMs) })),
    },
  };
};
