// (a) Echo in Node, side by side: the raw `ws` socket, the SDK, reconnecting-websocket and
// partysocket (each given `ws` as its WebSocket), through the same workloads against the same
// echo server (its own process): windowed, burst, and the main-thread (process) CPU time each
// received message costs.

import PartySocket from 'partysocket/ws';
import ReconnectingWebSocket from 'reconnecting-websocket';
import type { WebSocketConstructor } from 'resilient-ws';
import WebSocket from 'ws';
import { costFigures, rounds, roundsDetail, throughputFigures } from './echo-figures';
import { burst, clients, openForReceive, type RwsClass, windowed } from './echo-rounds';
import { type Figure, loadSdk, QUICK, round, startEchoServer } from './lib';

export const WINDOWED = { total: 20_000, inflight: 100 };
export const BURST = 20_000;
export const RECEIVE = 20_000;
export const WARMUP = QUICK ? 0 : 1;
export const ROUNDS = QUICK ? 1 : 7;
/** A client that has received nothing for this long has lost the rest (it is reported). */
const IDLE_MS = 1000;

const gc = (): void => {
  const f = (globalThis as { gc?: () => void }).gc;
  if (!f) throw new Error('run with node --expose-gc (npm run bench does)');
  f();
};

export const run = async (): Promise<{ figures: Figure[]; details: unknown }> => {
  const { WebSocketClient } = await loadSdk();
  const open = clients(
    {
      WebSocketClient,
      ReconnectingWebSocket: ReconnectingWebSocket as unknown as RwsClass,
      PartySocket: PartySocket as unknown as RwsClass,
    },
    WebSocket as unknown as WebSocketConstructor,
  );
  const server = await startEchoServer();
  try {
    const win = await rounds(WARMUP, ROUNDS, (c) =>
      windowed(open[c], server.url, WINDOWED.total, WINDOWED.inflight, IDLE_MS),
    );
    const bur = await rounds(WARMUP, ROUNDS, (c) => burst(open[c], server.url, BURST, IDLE_MS));
    const cpu = await rounds(WARMUP, ROUNDS, async (c) => {
      const r = await openForReceive(open[c], server.url, RECEIVE, IDLE_MS);
      gc(); // each measurement starts from a clean heap; what the client's garbage costs is counted
      const t = process.cpuUsage();
      const o = await r.run();
      const d = process.cpuUsage(t);
      r.close();
      if (o.delivered !== RECEIVE) throw new Error(`${c} received ${o.delivered}/${RECEIVE}`);
      return (d.user + d.system) / RECEIVE;
    });
    return {
      figures: [
        ...throughputFigures(`echo, Node, windowed (${WINDOWED.inflight} in flight)`, win, 'windowed'),
        ...throughputFigures(`echo, Node, burst (${BURST.toLocaleString('en-US')} in one loop)`, bur, 'burst'),
        ...costFigures('main-thread CPU per received message, Node (process.cpuUsage)', cpu),
      ],
      details: {
        windowed: { ...WINDOWED, rounds: roundsDetail(win) },
        burst: { total: BURST, rounds: roundsDetail(bur) },
        receiveCpuUs: {
          n: RECEIVE,
          rounds: cpu.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v, 3)]))),
        },
        warmup: WARMUP,
      },
    };
  } finally {
    server.stop();
  }
};
