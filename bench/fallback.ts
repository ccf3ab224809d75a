// The HTTP fallback against WebSocket, on the same reference server (in its own process) and the
// same client: the round trip of one echo at a time, and the throughput of a burst of echoes.
// Both transports come from `fallback()`: with the `ws` class (WebSocket works) and without one
// (straight to HTTP), so the only difference is what carries the frames.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Message, WebSocketConstructor } from 'resilient-ws';
import type * as Fallback from 'resilient-ws/fallback';
import WebSocket from 'ws';
import { type Figure, figure, loadSdk, median, QUICK, root, round, until } from './lib';

const ROUND_TRIPS = QUICK ? 20 : 300;
const BURST = QUICK ? 200 : 5000;
const ROUNDS = QUICK ? 1 : 5;

const startServer = async (): Promise<{ port: number; child: ChildProcess }> => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./fallback-server.ts', import.meta.url))],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
      const m = /^port (\d+)$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
  });
  return { port, child };
};

type Transport = 'websocket' | 'http';

export const run = async (): Promise<{ figures: Figure[]; details: unknown }> => {
  const { WebSocketClient } = await loadSdk();
  const {
    fallback,
  } = // the module is not in the bench's snapshot of dist/ (it holds the core): the build's own file
    (await import(pathToFileURL(join(root, 'dist/fallback.mjs')).href)) as typeof Fallback;
  const { port, child } = await startServer();
  try {
    const connect = async (t: Transport) => {
      const got: number[] = [];
      const on: { echo?: () => void } = {};
      let chosen: Transport | undefined;
      const client = new WebSocketClient<Message, Message>(`ws://127.0.0.1:${port}/ws`, {
        WebSocket: fallback({
          http: '/rt',
          WebSocket: t === 'websocket' ? (WebSocket as unknown as WebSocketConstructor) : undefined,
          storage: false,
          onTransport: (x) => {
            chosen = x;
          },
        }),
        auth: { message: { type: 'auth', token: 'demo-token' }, isAck: (m) => m.type === 'auth_ok' },
        heartbeat: false,
        pageEvents: false,
        queue: { maxSize: 1e6 },
      });
      client.on('echo', (m) => {
        got.push(m.n as number);
        on.echo?.();
      });
      await until(() => client.state === 'open', 10_000, 'open');
      if (chosen !== t) throw new Error(`wanted ${t}, got ${chosen}`);
      return { client, got, on };
    };

    const roundTrip = async (t: Transport): Promise<number> => {
      const { client, on } = await connect(t);
      const times: number[] = [];
      for (let i = 1; i <= ROUND_TRIPS; i++) {
        const at = performance.now();
        const echoed = new Promise<void>((resolve) => {
          on.echo = resolve;
        });
        client.send({ type: 'echo', n: i });
        await echoed;
        times.push(performance.now() - at);
      }
      client.dispose();
      return median(times);
    };

    const burst = async (t: Transport): Promise<number> => {
      const { client, got } = await connect(t);
      const at = performance.now();
      for (let i = 1; i <= BURST; i++) client.send({ type: 'echo', n: i, text: 'x'.repeat(64) });
      await until(() => got.length >= BURST, 60_000, 'every echo');
      const ms = performance.now() - at;
      if (got.some((n, i) => n !== i + 1)) throw new Error(`${t}: echoes out of order`);
      client.dispose();
      return (BURST / ms) * 1000;
    };

    // interleaved rounds, the median of each
    const rtt: Record<Transport, number[]> = { websocket: [], http: [] };
    const tput: Record<Transport, number[]> = { websocket: [], http: [] };
    for (let r = 0; r < ROUNDS; r++)
      for (const t of ['websocket', 'http'] as const) {
        rtt[t].push(await roundTrip(t));
        tput[t].push(await burst(t));
      }
    const ws = { rtt: median(rtt.websocket), tput: median(tput.websocket) };
    const http = { rtt: median(rtt.http), tput: median(tput.http) };
    const figures: Figure[] = [
      {
        bench: 'fallback: echo round trip',
        metric: 'median',
        value: round(ws.rtt, 3),
        unit: 'ms',
        client: 'WebSocket',
      },
      {
        bench: 'fallback: echo round trip',
        metric: 'median',
        value: round(figure('fallback.rtt', round(http.rtt, 3), 'ms'), 3),
        unit: 'ms',
        client: 'HTTP fallback',
        ratio: http.rtt / ws.rtt,
      },
      {
        bench: `fallback: burst of ${BURST} echoes`,
        metric: 'throughput',
        value: round(ws.tput),
        unit: 'msg/s',
        client: 'WebSocket',
      },
      {
        bench: `fallback: burst of ${BURST} echoes`,
        metric: 'throughput',
        value: round(figure('fallback.throughput', round(http.tput), 'msg/s')),
        unit: 'msg/s',
        client: 'HTTP fallback',
        ratio: http.tput / ws.tput,
      },
    ];
    figure('fallback.ws-rtt', round(ws.rtt, 3), 'ms');
    figure('fallback.ws-throughput', round(ws.tput), 'msg/s');
    return { figures, details: { rtt, tput, roundTrips: ROUND_TRIPS, burst: BURST } };
  } finally {
    child.kill('SIGTERM');
  }
};
