// The server recipe of docs/delivery.md, to the letter: `publish`, `idStore`, `resume` and the
// connection handler are the recipe's code with types added.
// Only the wiring around it is the tests': port 0 on loopback, a restart on the same port that
// keeps the state (as a server that persists it would), `handle` given by the test, and a hook
// that sees each connection first, for chaos.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
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
  /** The recipe's dedupe file (`idStore`): a new server on the same file is the same server restarted. */
  file: string;
  /** The recipe's `SESSION_TTL`, ms. @default 7 days */
  sessionTtl?: number;
  /** Listen on this port (a restarted server on its predecessor's). @default 0 */
  port?: number;
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
  const MAX_IDS = 1000; // client ids remembered per session: at least the client's maxUnacked
  const SESSION_TTL = options.sessionTtl ?? 7 * 24 * 3600_000; // a session silent this long (ms) is forgotten: longer than your longest outage
  const history: Published[] = []; // { type, id, ... }, oldest first
  let nextId = Date.now() * 1000; // strictly increasing, and above every id sent before a restart
  let floor = nextId; // every message with an id up to `floor` is gone (or never existed)
  const live = new Set<WebSocket>(); // sockets that resumed: they get new messages as they happen
  const seen = idStore(options.file); // client ids handled, by session: survives a restart

  const verify = (token: unknown) => (typeof token === 'string' && token ? token : undefined); // your auth: the user, or undefined
  const handle = options.handle; // your app; may throw

  /** Send a message to every client that follows the stream, and keep it for replay. */
  function publish(msg: { type: string; [key: string]: unknown }): void {
    const m = { ...msg, id: ++nextId };
    history.push(m);
    if (history.length > KEEP) floor = history.shift()!.id;
    for (const ws of live) ws.send(JSON.stringify(m));
  }

  /**
   * The client ids handled, by session, in `file`: one line per id, read back and compacted at
   * start (and every 100,000 lines), dropping sessions silent for SESSION_TTL. Ids are compared as
   * JSON, so any JSON id works. Replace it with your database, written in the same transaction
   * as `handle`'s effect if you can.
   */
  function idStore(file: string) {
    const sessions = new Map<string, { ids: Set<string>; at: number }>(); // session -> { ids: Set of JSON ids, oldest first, at: last use (ms) }
    let lines = 0;
    const put = ([session, id, at]: [string, string, number]) => {
      let s = sessions.get(session);
      if (!s) sessions.set(session, (s = { ids: new Set(), at }));
      s.ids.add(id);
      s.at = at;
      if (s.ids.size > MAX_IDS) s.ids.delete(s.ids.values().next().value!);
    };
    const compact = () => {
      const now = Date.now();
      let out = '';
      for (const [session, s] of sessions)
        if (now - s.at > SESSION_TTL) sessions.delete(session);
        else for (const id of s.ids) out += `${JSON.stringify([session, id, s.at])}\n`;
      writeFileSync(file, out);
      lines = 0;
    };
    try {
      for (const line of readFileSync(file, 'utf8').split('\n')) if (line) put(JSON.parse(line));
    } catch {} // no file yet
    compact();
    return {
      has: (session: string, id: unknown) => !!sessions.get(session)?.ids.has(JSON.stringify(id)),
      add(session: string, id: unknown) {
        const at = Date.now();
        put([session, JSON.stringify(id), at]);
        appendFileSync(file, `${JSON.stringify([session, JSON.stringify(id), at])}\n`);
        if (++lines > 100_000) compact();
      },
    };
  }

  /** Rule 4: resumed, then the replay, then live — with no await in between. */
  function resume(ws: WebSocket, lastId: unknown): void {
    const newest = history.length ? history[history.length - 1]!.id : floor; // never null, even with no history
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
      const id = msg.id; // any JSON value; the client's are "<session>.<n>"
      const session = typeof id === 'string' && id.includes('.') ? id.slice(0, id.lastIndexOf('.')) : user;
      if (id === undefined || !seen.has(session, id)) {
        try {
          handle(user, msg);
        } catch {
          // not marked, not acknowledged: the client sends it again on its next connection
          return ws.close(1011, 'try again');
        }
        if (id === undefined) return; // fire-and-forget
        seen.add(session, id); // only once handled
      }
      ws.send(JSON.stringify({ type: 'ack', id })); // every id, every copy, in arrival order
    });
  };

  // ---- the tests' wiring ----
  let wss: WebSocketServer | undefined;
  let port = options.port ?? 0;
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
