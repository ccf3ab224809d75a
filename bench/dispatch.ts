// (c) Dispatch: the cost per message of the client's receive path (parse, validate, heartbeat
// check, typed dispatch over 50 registered types) vs a hand-written JSON.parse + switch.
import type { WebSocketConstructor, WebSocketLike } from 'resilient-ws';
import { type Figure, loadSdk, median, round, sleep } from './lib';

export const TYPES = 50;
export const PER_ROUND = 500_000;
export const WARMUP = 2;
export const ROUNDS = 9;

type In = { type: string; n: number };

/** A socket that the benchmark drives by hand: nothing goes over a network. */
class FakeSocket implements WebSocketLike {
  static last?: FakeSocket;
  readyState = 0;
  bufferedAmount = 0;
  binaryType = 'blob';
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor() {
    FakeSocket.last = this;
  }
  send(): void {}
  close(): void {
    this.readyState = 3;
  }
}

const types = Array.from({ length: TYPES }, (_, i) => `type${i}`);
// 1000 distinct frames, every type 20 times, in a shuffled-looking order
const frames = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ type: types[(i * 7) % TYPES], n: i }));

let sink = 0;
const handlers = types.map(() => (m: In) => {
  sink += m.n;
});

/** `(e) => { const m = JSON.parse(e.data); switch (m.type) { case 'type0': h[0](m); break; … } }`, as an app would write it. */
const handWritten = new Function(
  'h',
  `return function onmessage(e) {
    const m = JSON.parse(e.data);
    if (typeof m !== 'object' || m === null || typeof m.type !== 'string') return;
    switch (m.type) {
${types.map((t, i) => `      case '${t}': h[${i}](m); break;`).join('\n')}
    }
  }`,
)(handlers) as (e: { data: string }) => void;

const feed = (onmessage: (e: { data: string }) => void): number => {
  const t = performance.now();
  for (let i = 0; i < PER_ROUND; i++) onmessage({ data: frames[i % frames.length] as string });
  return ((performance.now() - t) * 1e6) / PER_ROUND;
};

export const run = async (): Promise<{ figures: Figure[]; details: unknown }> => {
  const { WebSocketClient } = await loadSdk();
  const client = new WebSocketClient<In, In>({
    url: 'ws://fake.invalid/',
    WebSocket: FakeSocket as unknown as WebSocketConstructor,
    heartbeat: { interval: 3_600_000 }, // on (its pong check is in the path) but never pinging mid-run
  });
  for (const [i, t] of types.entries()) client.on(t, handlers[i] as (m: In) => void);
  await sleep(0); // the socket is made after the url is resolved, a tick later
  const sock = FakeSocket.last;
  if (!sock?.onopen || !sock.onmessage) throw new Error('the client made no socket');
  sock.readyState = 1;
  sock.onopen({});
  if (client.state !== 'open') throw new Error(`client is ${client.state}, not open`);
  const sdkOnmessage = sock.onmessage as (e: { data: string }) => void;

  // both must see the same messages: a wrong harness is caught here, not in the figures
  sink = 0;
  for (const f of frames) sdkOnmessage({ data: f });
  const viaSdk = sink;
  sink = 0;
  for (const f of frames) handWritten({ data: f });
  if (sink !== viaSdk || sink === 0) throw new Error(`SDK dispatched ${viaSdk}, switch ${sink}`);

  const sdk: number[] = [];
  const sw: number[] = [];
  for (let i = 0; i < WARMUP + ROUNDS; i++) {
    const a = feed(handWritten);
    const b = feed(sdkOnmessage);
    if (i >= WARMUP) {
      sw.push(a);
      sdk.push(b);
    }
  }
  client.dispose();
  const bench = `dispatch (${TYPES} types, Node)`;
  return {
    figures: [
      { bench, metric: 'hand-written JSON.parse + switch, median', value: round(median(sw)), unit: 'ns/msg' },
      { bench, metric: 'SDK receive path, median', value: round(median(sdk)), unit: 'ns/msg' },
      { bench, metric: 'SDK overhead', value: round(median(sdk) - median(sw)), unit: 'ns/msg' },
    ],
    details: {
      types: TYPES,
      perRound: PER_ROUND,
      rounds: ROUNDS,
      switchNs: sw.map((x) => round(x, 1)),
      sdkNs: sdk.map((x) => round(x, 1)),
    },
  };
};
