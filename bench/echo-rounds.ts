// The echo workloads, the same code in Node and in the browser page, run alike through four
// clients: the raw socket, this SDK, reconnecting-websocket and partysocket. Every client does
// the app's work the way its documentation shows: JSON.stringify each message it sends (the SDK
// does it in `send`), JSON.parse each frame and switch on its type (the SDK does it before its
// typed `on('echo')` handler). Only the client's own layer differs.
import type { WebSocketClient, WebSocketConstructor } from 'resilient-ws';

export type Echo = { type: 'echo'; seq: number; text: string };
/** Asks the server's `/push` endpoint for `n` echo-shaped frames. */
export type Push = { type: 'push'; n: number };
export type EchoIn = Echo | { type: 'pong' };

/** The clients, in the table's column order; `raw` is what the others are measured against. */
export const CLIENTS = ['raw', 'resilient-ws', 'reconnecting-websocket', 'partysocket'] as const;
export type ClientName = (typeof CLIENTS)[number];

/** ~90 bytes once serialised: a small chat message. */
const TEXT = 'a typical small chat message, some forty bytes';
export const message = (seq: number): Echo => ({ type: 'echo', seq, text: TEXT });

/** An open connection of one client. */
export interface Conn {
  send(m: Echo | Push): void;
  close(): void;
  /** Messages the client reported it gave up on (the SDK's `QUEUE_OVERFLOW`). */
  dropped: number;
  /** Messages the client held back in its own queue rather than handing to the socket. */
  queued: number;
  /** An error the client reported after it opened; the workload fails with it. */
  failed?: unknown;
}

export type Open = (url: string, onEcho: (m: Echo) => void) => Promise<Conn>;

/** What the page or the Node process hands in: the libraries, as each environment loads them. */
export interface Libs {
  WebSocketClient: typeof WebSocketClient;
  /** reconnecting-websocket's default export, and partysocket's (`partysocket/ws`): the same shape. */
  ReconnectingWebSocket: RwsClass;
  PartySocket: RwsClass;
}

/** The part of reconnecting-websocket's and partysocket's class the workloads use. */
export type RwsClass = new (
  url: string,
  protocols?: string | string[],
  options?: { WebSocket?: unknown; maxRetries?: number },
) => {
  send(data: string): void;
  close(): void;
  addEventListener(type: 'open' | 'message' | 'error', fn: (e: { data?: unknown }) => void): void;
};

/** The app's receive code on a plain socket: parse, check, switch on the type. */
const onFrame = (onEcho: (m: Echo) => void) => (e: { data?: unknown }) => {
  const m = JSON.parse(e.data as string) as EchoIn | null;
  if (typeof m?.type !== 'string') return;
  switch (m.type) {
    case 'echo':
      onEcho(m);
      break;
    case 'pong':
      break;
  }
};

const rws =
  (Class: RwsClass, WS: WebSocketConstructor): Open =>
  (url, onEcho) =>
    new Promise((resolve, reject) => {
      // maxRetries 0: a benchmark that cannot connect fails rather than retrying for ever
      const ws = new Class(url, [], { WebSocket: WS, maxRetries: 0 });
      const conn: Conn = {
        dropped: 0,
        queued: 0,
        send: (m) => ws.send(JSON.stringify(m)),
        close: () => ws.close(),
      };
      ws.addEventListener('message', onFrame(onEcho));
      ws.addEventListener('open', () => resolve(conn));
      ws.addEventListener('error', (e) => {
        conn.failed = e;
        reject(new Error('socket error'));
      });
    });

/** How each client is opened, on the socket class `WS` (`ws` in Node, the browser's own in Chromium). */
export const clients = (libs: Libs, WS: WebSocketConstructor): Record<ClientName, Open> => ({
  raw: (url, onEcho) =>
    new Promise((resolve, reject) => {
      const ws = new WS(url);
      const conn: Conn = { dropped: 0, queued: 0, send: (m) => ws.send(JSON.stringify(m)), close: () => ws.close() };
      ws.onmessage = onFrame(onEcho);
      ws.onopen = () => resolve(conn);
      ws.onerror = (e) => {
        conn.failed = e;
        reject(new Error('socket error'));
      };
    }),
  // its defaults: heartbeat, queue and reconnect on
  'resilient-ws': (url, onEcho) =>
    new Promise((resolve, reject) => {
      const client = new libs.WebSocketClient<EchoIn, Echo | Push>({ url, autoConnect: false, WebSocket: WS });
      const conn: Conn = {
        dropped: 0,
        queued: 0,
        send: (m) => {
          if (client.send(m) === 'queued') conn.queued++;
        },
        close: () => {
          closed = true; // what `dispose()` itself reports is not the workload's
          client.dispose();
        },
      };
      let closed = false;
      client.on('echo', onEcho);
      client.onError((e) => {
        if (closed) return;
        if (e.code === 'QUEUE_OVERFLOW') conn.dropped++;
        else {
          conn.failed = e;
          reject(e);
        }
      });
      const off = client.onStateChange((s) => {
        if (s !== 'open') return;
        off();
        resolve(conn);
      });
      client.connect();
    }),
  'reconnecting-websocket': rws(libs.ReconnectingWebSocket, WS),
  partysocket: rws(libs.PartySocket, WS),
});

/** One run of a workload. `ms`: from the first send to the last echo received. */
export interface Outcome {
  ms: number;
  sent: number;
  delivered: number;
  dropped: number;
  queued: number;
  /** Every echo came back after the one sent before it (gaps from drops are not disorder). */
  inOrder: boolean;
}

/**
 * Counts the echoes of one run. `done` settles when every sent message is accounted for
 * (delivered, or reported dropped by the client), or when nothing has arrived for `idleMs`: a
 * client that loses messages without a word must not hang the benchmark, and its count tells.
 */
class Tally {
  t0 = 0;
  last = 0;
  got = 0;
  prev = -1;
  inOrder = true;
  conn?: Conn;
  readonly done: Promise<void>;
  private _resolve!: () => void;
  private _poll?: ReturnType<typeof setInterval>;
  private readonly _expected: number;
  private readonly _idleMs: number;
  /** `stamp`: note the time of every echo (throughput runs; the receive-cost run does not pay for it). */
  private readonly _stamp: boolean;

  constructor(expected: number, idleMs: number, stamp: boolean) {
    this._expected = expected;
    this._idleMs = idleMs;
    this._stamp = stamp;
    this.done = new Promise((r) => {
      this._resolve = r;
    });
  }

  /** One echo arrived; true when it was the last one awaited. */
  echo(m: Echo): boolean {
    if (this._stamp) this.last = performance.now();
    if (m.seq <= this.prev) this.inOrder = false;
    this.prev = m.seq;
    this.got++;
    return this.check();
  }

  check(): boolean {
    if (this.got + (this.conn?.dropped ?? 0) < this._expected) return false;
    if (!this._stamp) this.last = performance.now();
    this.stop();
    return true;
  }

  start(conn: Conn): void {
    this.conn = conn;
    this.t0 = performance.now();
    let seen = -1;
    let since = this.t0;
    this._poll = setInterval(() => {
      const now = performance.now();
      if (this.got !== seen) {
        seen = this.got;
        since = now;
      } else if (now - since > this._idleMs) this.stop();
    }, 50);
  }

  stop(): void {
    clearInterval(this._poll);
    this._resolve();
  }

  outcome(sent: number): Outcome {
    const c = this.conn!;
    if (c.failed) throw c.failed instanceof Error ? c.failed : new Error(`client error: ${String(c.failed)}`);
    return {
      ms: (this.last || performance.now()) - this.t0,
      sent,
      delivered: this.got,
      dropped: c.dropped,
      queued: c.queued,
      inOrder: this.inOrder,
    };
  }
}

/** Windowed: keep `inflight` messages in flight until `total` have come back. */
export const windowed = async (open: Open, url: string, total: number, inflight: number, idleMs: number) => {
  const t = new Tally(total, idleMs, true);
  let sent = 0;
  const conn = await open(url, (m) => {
    if (!t.echo(m) && sent < total) conn.send(message(sent++));
  });
  t.start(conn);
  for (let i = 0; i < inflight; i++) conn.send(message(sent++));
  await t.done;
  const out = t.outcome(sent);
  conn.close();
  return out;
};

/** Burst: `total` messages sent in one synchronous loop; then wait for their echoes. */
export const burst = async (open: Open, url: string, total: number, idleMs: number) => {
  const t = new Tally(total, idleMs, true);
  const conn = await open(url, (m) => t.echo(m));
  t.start(conn);
  for (let i = 0; i < total; i++) conn.send(message(i));
  t.check(); // a client that dropped them all has nothing more to wait for
  await t.done;
  const out = t.outcome(total);
  conn.close();
  return out;
};

/**
 * Receive only: opens a connection to the server's `/push` endpoint; `run` asks for `n` frames
 * and resolves once they are handled. Split in two so that the caller measures what the main
 * thread spends on `run` alone, not on opening the connection.
 */
export const openForReceive = async (open: Open, url: string, n: number, idleMs: number) => {
  const t = new Tally(n, idleMs, false);
  const conn = await open(`${url}/push`, (m) => t.echo(m));
  return {
    run: async (): Promise<Outcome> => {
      t.start(conn);
      conn.send({ type: 'push', n });
      await t.done;
      return t.outcome(n);
    },
    close: () => conn.close(),
  };
};
