// The server recipe of the README's "At-least-once delivery" section, to the letter: `publish`,
// `firstTime`, `resume` and the connection handler are the recipe's code with types added.
// Only the wiring around it is the tests': port 0 on loopback, a restart on the same port that
// keeps the state (as a server that persists it would), `handle` given by the test, and a hook
// that sees each connection first, for chaos.
import type { AddressInfo } from 'node:net';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';

/** A message the server sends, with its server id. */
export interface Published {
  type: string;
  id: number;
  [key: string]: unknown;
}

/** A message from a client, as parsed. */
export type Incoming = Record<string, unknown>;

export interface RecipeOptions {
  /** The app: what to do with a client message, once per id. */
  handle: (user: string, msg: Incoming) => void;
  /** Server messages kept for replay (the recipe's `KEEP`). @default 10000 */
  keep?: number;
  /** Sees every new connection before the recipe does. */
  onConnection?: (ws: WebSocket) => void;
}

export interface RecipeServer {
  readonly url: string;
  /** the recipe's `publish`: send to every client that follows the stream, and keep for replay */
  publish(msg: { type: string; [key: string]: unknown }): void;
  /** the recipe's `live` set */
  readonly live: Set<WebSocket>;
  /** every socket the server accepted */
  readonly sockets: WebSocket[];
  /** drop every connection (no close frame) and stop listening; the state stays */
  stop(): Promise<void>;
  /** listen again on the same port, with the state kept */
  listen(): Promise<void>;
}

export const recipeServer = async (options: RecipeOptions): Promise<RecipeServer> => {
  // ---- the recipe ----
  const KEEP = options.keep ?? 10_000; // server messages kept for replay
  const history: Published[] = []; // { type, id, ... }, oldest first
  let nextId = Date.now() * 1000; // strictly increasing, and above every id sent before a restart
  let floor = nextId; // every message with an id up to `floor` is gone (or never existed)
  const live = new Set<WebSocket>(); // sockets that resumed: they get new messages as they happen
  const sessions = new Map<string, Set<string>>(); // client session -> Set of its recent ids, oldest first

  const verify = (token: unknown) => (typeof token === 'string' && token ? token : undefined); // your auth: the user, or undefined
  const handle = options.handle; // your app

  /** Send a message to every client that follows the stream, and keep it for replay. */
  function publish(msg: { type: string; [key: string]: unknown }): void {
    const m = { ...msg, id: ++nextId };
    history.push(m);
    if (history.length > KEEP) floor = history.shift()!.id;
    for (const ws of live) ws.send(JSON.stringify(m));
  }

  /** True the first time a client id is seen; remembers the last 1000 of each session. */
  function firstTime(id: string): boolean {
    const session = id.slice(0, id.lastIndexOf('.'));
    let ids = sessions.get(session);
    if (!ids) sessions.set(session, (ids = new Set()));
    if (ids.has(id)) return false;
    ids.add(id);
    if (ids.size > 1000) ids.delete(ids.values().next().value!); // at least the client's maxUnacked
    return true;
  }

  /** Rule 4: resumed, then the replay, then live — with no await in between. */
  function resume(ws: WebSocket, lastId: unknown): void {
    const newest = history.length ? history[history.length - 1]!.id : floor;
    const gap = lastId != null && (lastId as number) < floor;
    const from = gap ? floor : ((lastId as number | null | undefined) ?? newest);
    ws.send(JSON.stringify({ type: 'resumed', lastId: from, ...(gap && { gap: true }) }));
    for (const m of history) if (m.id > from) ws.send(JSON.stringify(m));
    live.add(ws);
  }

  const connection = (ws: WebSocket) => {
    let user: string | undefined;
    ws.on('error', () => {}); // a close follows
    ws.on('close', () => live.delete(ws));
    ws.on('message', (data) => {
      let msg: Incoming | undefined;
      try {
        msg = JSON.parse(data as unknown as string); // a Buffer, read as its text
      } catch {}
      if (!msg || typeof msg !== 'object') return;
      if (msg.type === 'ping') return ws.send('{"type":"pong"}');
      if (!user) {
        user = msg.type === 'auth' ? verify(msg.token) : undefined;
        return user ? ws.send('{"type":"auth_ok"}') : ws.close(4001, 'auth first');
      }
      if (msg.type === 'resume') return resume(ws, msg.lastId);
      if (typeof msg.id === 'string' && !firstTime(msg.id)) return ws.send(JSON.stringify({ type: 'ack', id: msg.id }));
      handle(user, msg);
      if (typeof msg.id === 'string') ws.send(JSON.stringify({ type: 'ack', id: msg.id })); // after handling
    });
  };

  // ---- the tests' wiring ----
  let wss: WebSocketServer | undefined;
  let port = 0;
  const sockets: WebSocket[] = [];
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const server = new WebSocketServer({ host: '127.0.0.1', port });
      server.once('error', reject);
      server.once('listening', () => {
        port = (server.address() as AddressInfo).port;
        wss = server;
        resolve();
      });
      server.on('connection', (ws) => {
        sockets.push(ws);
        options.onConnection?.(ws);
        connection(ws);
      });
    });
  const stop = () => {
    const server = wss;
    wss = undefined;
    if (!server) return Promise.resolve();
    for (const ws of server.clients) ws.terminate();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  await listen();
  return {
    get url() {
      return `ws://127.0.0.1:${port}`;
    },
    publish,
    live,
    sockets,
    stop,
    listen,
  };
};
