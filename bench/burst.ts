// Node hot path against the raw socket: 20,000 echo round trips of ~90-byte JSON through `ws`,
// the whole burst sent in one synchronous loop, then every echo awaited; heartbeat off, so only
// the client's send and receive paths are measured. Rounds interleave the two (the same minute,
// the same load on a shared machine) and the figure is the median of the per-round ratios.
import type { WebSocketClient, WebSocketConstructor } from 'resilient-ws';
import WebSocket from 'ws';
import { burst, type Conn, type Echo, type EchoIn, type Open, type Outcome, type Push } from './echo-rounds';
import { type Figure, loadSdk, median, QUICK, round, startEchoServer } from './lib';

export const TOTAL = 20_000;
export const ROUNDS = QUICK ? 1 : 5;
const WARMUP = QUICK ? 0 : 1;
const IDLE_MS = 1000;

const raw =
  (WS: WebSocketConstructor): Open =>
  (url, onEcho) =>
    new Promise((resolve, reject) => {
      const ws = new WS(url);
      const conn: Conn = { dropped: 0, queued: 0, send: (m) => ws.send(JSON.stringify(m)), close: () => ws.close() };
      ws.onmessage = (e: { data: unknown }) => {
        const m = JSON.parse(e.data as string) as EchoIn | null;
        if (m?.type === 'echo') onEcho(m);
      };
      ws.onopen = () => resolve(conn);
      ws.onerror = () => reject(new Error('socket error'));
    });

const sdk =
  (Client: typeof WebSocketClient, WS: WebSocketConstructor): Open =>
  (url, onEcho) =>
    new Promise((resolve, reject) => {
      const client = new Client<EchoIn, Echo | Push>({ url, autoConnect: false, WebSocket: WS, heartbeat: false });
      let closed = false;
      const conn: Conn = {
        dropped: 0,
        queued: 0,
        send: (m) => {
          if (client.send(m) === 'queued') conn.queued++;
        },
        close: () => {
          closed = true;
          client.dispose();
        },
      };
      client.on('echo', onEcho);
      client.onError((e) => {
        if (closed) return;
        conn.failed = e;
        reject(e);
      });
      const off = client.onStateChange((s) => {
        if (s !== 'open') return;
        off();
        resolve(conn);
      });
      client.connect();
    });

const rate = (o: Outcome): number => (o.delivered / o.ms) * 1000;

export const run = async (): Promise<{ figures: Figure[]; details: unknown }> => {
  const { WebSocketClient } = await loadSdk();
  const WS = WebSocket as unknown as WebSocketConstructor;
  const open = { raw: raw(WS), 'resilient-ws': sdk(WebSocketClient, WS) };
  const server = await startEchoServer();
  type Name = keyof typeof open;
  const rounds: Record<Name, Outcome>[] = [];
  /** this process's CPU time per round trip, µs: steadier than wall time on a loaded machine */
  const cpu: Record<Name, number>[] = [];
  try {
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      const r = {} as Record<Name, Outcome>;
      const u = {} as Record<Name, number>;
      // alternate which goes first
      for (const c of i % 2 ? (['resilient-ws', 'raw'] as const) : (['raw', 'resilient-ws'] as const)) {
        const t = process.cpuUsage();
        r[c] = await burst(open[c], server.url, TOTAL, IDLE_MS);
        const d = process.cpuUsage(t);
        u[c] = (d.user + d.system) / TOTAL;
      }
      if (i >= WARMUP) {
        rounds.push(r);
        cpu.push(u);
      }
    }
  } finally {
    server.stop();
  }
  const ratio = median(rounds.map((r) => rate(r['resilient-ws']) / rate(r.raw)));
  const cpuRatio = median(cpu.map((u) => u['resilient-ws'] / u.raw));
  const complete = rounds.every((r) => r['resilient-ws'].delivered === TOTAL && r['resilient-ws'].inOrder);
  const bench = `echo, Node, burst of ${TOTAL.toLocaleString('en-US')}, heartbeat off`;
  const names = ['raw', 'resilient-ws'] as const;
  return {
    figures: [
      ...names.map((c) => {
        const f: Figure = {
          bench,
          metric: c,
          client: c,
          value: round(median(rounds.map((r) => rate(r[c])))),
          unit: 'msgs/s',
          ratio: round(c === 'raw' ? 1 : ratio, 2),
          note: `${Math.min(...rounds.map((r) => r[c].delivered)).toLocaleString('en-US')}/${TOTAL.toLocaleString('en-US')}`,
        };
        if (c === 'resilient-ws')
          Object.assign(f, { target: '≥ 0.95× raw, all in order', ok: ratio >= 0.95 && complete });
        return f;
      }),
      // informational: what the client's own layer costs, the figure a profile starts from
      ...names.map((c) => {
        const f: Figure = {
          bench: `${bench}, this process's CPU per round trip`,
          metric: c,
          client: c,
          value: round(median(cpu.map((u) => u[c])), 2),
          unit: 'µs',
          ratio: round(c === 'raw' ? 1 : cpuRatio, 2),
        };
        return f;
      }),
    ],
    details: {
      total: TOTAL,
      rounds: rounds.map((r, i) => ({
        raw: round(rate(r.raw)),
        sdk: round(rate(r['resilient-ws'])),
        ratio: round(rate(r['resilient-ws']) / rate(r.raw), 3),
        cpuUsRaw: round(cpu[i]!.raw, 2),
        cpuUsSdk: round(cpu[i]!['resilient-ws'], 2),
      })),
    },
  };
};
