// Shared harness of the Node integration suite: real `ws` servers on port 0 that record every
// frame per connection and can restart on the same port, a TCP server that never answers the
// upgrade, a `ws` client class that counts its sockets, and cleanup for `afterEach`.
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import {
  type ClientOptions,
  type Message,
  type State,
  type StateDetail,
  WebSocketClient,
  type WebSocketClientError,
  type WebSocketConstructor,
} from 'resilient-ws';
import WebSocket, { WebSocketServer } from 'ws';

export type Msg = Message;

/** One server-side connection: every frame it received, in order. */
export interface Conn {
  /** 1-based, in order of arrival on this server (across restarts) */
  id: number;
  ws: WebSocket;
  /** parsed JSON when the frame is JSON, else the raw text */
  frames: unknown[];
  /** when the upgrade completed (Date.now()) */
  at: number;
  /** set when the socket has gone, with the close code the server saw or sent */
  closed?: { code: number; reason: string };
  /** stalled: reads nothing, answers nothing, keeps the TCP socket open */
  stalled: boolean;
}

export interface ServerOptions {
  /** Answer `{type:'ping'}` with `{type:'pong'}` (unless stalled). @default true */
  pong?: boolean;
  /** Called for every frame after it is recorded (not for stalled connections). */
  onMessage?: (conn: Conn, msg: unknown, server: RecordingServer) => void;
  /** Called for every new connection. */
  onConnection?: (conn: Conn, server: RecordingServer) => void;
}

const servers = new Set<RecordingServer>();
const netServers = new Set<{ server: net.Server; sockets: net.Socket[] }>();
const clients = new Set<WebSocketClient<Msg, Msg>>();

/** A `ws` server that records frames per connection and can go down and come back on its port. */
export class RecordingServer {
  port = 0;
  readonly conns: Conn[] = [];
  private wss?: WebSocketServer;

  private constructor(readonly opts: ServerOptions) {}

  static async start(opts: ServerOptions = {}): Promise<RecordingServer> {
    const s = new RecordingServer(opts);
    servers.add(s);
    await s.listen();
    return s;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  get listening(): boolean {
    return this.wss !== undefined;
  }

  /** Listen (again) on the same port; port 0 the first time. */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const wss = new WebSocketServer({ host: '127.0.0.1', port: this.port });
      wss.once('error', reject);
      wss.once('listening', () => {
        wss.off('error', reject);
        this.port = (wss.address() as AddressInfo).port;
        this.wss = wss;
        resolve();
      });
      wss.on('connection', (ws) => this.accept(ws));
    });
  }

  /** Drop every connection (no close frame) and stop listening. */
  stop(): Promise<void> {
    const wss = this.wss;
    this.wss = undefined;
    if (!wss) return Promise.resolve();
    for (const ws of wss.clients) ws.terminate();
    return new Promise((resolve) => wss.close(() => resolve()));
  }

  /** Frames of every connection, in connection order. */
  allFrames(): unknown[] {
    return this.conns.flatMap((c) => c.frames);
  }

  /** Stop reading and writing on a connection while keeping its TCP socket open (half-open). */
  stall(conn: Conn): void {
    conn.stalled = true;
    (conn.ws as unknown as { _socket: net.Socket })._socket.pause();
  }

  send(conn: Conn, msg: unknown): void {
    conn.ws.send(typeof msg === 'string' || Buffer.isBuffer(msg) ? msg : JSON.stringify(msg));
  }

  private accept(ws: WebSocket): void {
    const conn: Conn = { id: this.conns.length + 1, ws, frames: [], at: Date.now(), stalled: false };
    this.conns.push(conn);
    ws.on('error', () => {});
    ws.on('close', (code, reason) => {
      conn.closed ??= { code, reason: reason.toString() };
    });
    ws.on('message', (data, isBinary) => {
      if (conn.stalled) return;
      const text = isBinary ? data : data.toString();
      let msg: unknown = text;
      if (typeof text === 'string') {
        try {
          msg = JSON.parse(text);
        } catch {}
      }
      conn.frames.push(msg);
      if (this.opts.pong !== false && (msg as Msg | null)?.type === 'ping') this.send(conn, { type: 'pong' });
      this.opts.onMessage?.(conn, msg, this);
    });
    this.opts.onConnection?.(conn, this);
  }

  /** Close a connection with a code, remembering it as the close the server sent. */
  closeConn(conn: Conn, code: number, reason: string): void {
    conn.closed ??= { code, reason };
    conn.ws.close(code, reason);
  }
}

/**
 * A server that speaks the demo protocol's auth: the first message must be
 * `{type:'auth', token}` within `authTimeoutMs`, else close 4003; no token (or not an auth
 * message) → 4001; a token not in `valid` → 4002; otherwise `{type:'auth_ok'}`.
 */
export const startAuthServer = (opts: { valid: Set<string>; authTimeoutMs?: number } & ServerOptions) => {
  const timers = new Map<Conn, ReturnType<typeof setTimeout>>();
  const authed = new Set<Conn>();
  return RecordingServer.start({
    ...opts,
    onConnection: (conn, s) => {
      timers.set(
        conn,
        setTimeout(() => s.closeConn(conn, 4003, 'auth timeout'), opts.authTimeoutMs ?? 1000),
      );
      conn.ws.on('close', () => clearTimeout(timers.get(conn)));
      opts.onConnection?.(conn, s);
    },
    onMessage: (conn, msg, s) => {
      if (!authed.has(conn)) {
        clearTimeout(timers.get(conn));
        const m = msg as Partial<Msg> | null;
        if (m?.type !== 'auth' || typeof m.token !== 'string' || !m.token) return s.closeConn(conn, 4001, 'no token');
        if (!opts.valid.has(m.token)) return s.closeConn(conn, 4002, 'bad token');
        authed.add(conn);
        s.send(conn, { type: 'auth_ok' });
      }
      opts.onMessage?.(conn, msg, s);
    },
  });
};

/** A TCP server that accepts connections and never answers (an upgrade that hangs). */
export const startSilentTcpServer = async (): Promise<{ port: number; sockets: net.Socket[] }> => {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.resume(); // read (and ignore) the upgrade request, so the peer's close is seen
    sockets.push(socket);
  });
  netServers.add({ server, sockets });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, sockets };
};

/** A port nothing listens on (bound, read, released). */
export const closedPort = async (): Promise<number> => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

/** `ws`'s client class, counting the sockets the SDK creates. */
export const countingWebSocket = (): { WebSocket: WebSocketConstructor; count: () => number } => {
  let n = 0;
  class Counting extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      n++;
    }
  }
  return { WebSocket: Counting as unknown as WebSocketConstructor, count: () => n };
};

/** A client under test, with every state change and error it reported. */
export interface Tracked {
  client: WebSocketClient<Msg, Msg>;
  states: State[];
  details: StateDetail[];
  errors: WebSocketClientError[];
  /** resolves when the client next enters `state` (at once if `now` and it is there) */
  reach(state: State, now?: boolean): Promise<void>;
}

/** Creates a client on the `ws` class, recording its states and errors; disposed in `cleanup()`. */
export const makeClient = (
  options: Partial<ClientOptions<Msg, Msg>> & Pick<ClientOptions<Msg, Msg>, 'url'>,
): Tracked => {
  const states: State[] = [];
  const details: StateDetail[] = [];
  const errors: WebSocketClientError[] = [];
  const waiters: { state: State; resolve: () => void }[] = [];
  const client = new WebSocketClient<Msg, Msg>({
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    pageEvents: false,
    heartbeat: false,
    reconnect: { initialDelay: 20, maxDelay: 100, jitter: 0 },
    logger: { warn: () => {} },
    ...options,
    autoConnect: false,
  });
  clients.add(client);
  client.onStateChange((s, d) => {
    states.push(s);
    details.push(d);
    for (const w of waiters.filter((x) => x.state === s)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  client.onError((e) => {
    errors.push(e);
  });
  const reach = (state: State, now = false): Promise<void> =>
    now && client.state === state ? Promise.resolve() : new Promise((resolve) => waiters.push({ state, resolve }));
  if (options.autoConnect !== false) client.connect();
  return { client, states, details, errors, reach };
};

/** For an absence check only (nothing may happen within `ms`); never to wait for something. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Dispose every client, stop every server, drop every held socket. */
export const cleanup = async (): Promise<void> => {
  for (const c of clients) c.dispose();
  clients.clear();
  await Promise.all([...servers].map((s) => s.stop()));
  servers.clear();
  await Promise.all(
    [...netServers].map(({ server, sockets }) => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    }),
  );
  netServers.clear();
};
