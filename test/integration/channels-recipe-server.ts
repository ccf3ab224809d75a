// The server recipe of docs/channels.md, kept identical to it by channels-recipe.test.ts (the
// part between the markers, types stripped, prints exactly as the docs' code), plus the wiring
// the tests need: a port, a token check, and a way to stop.
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

// biome-ignore lint/suspicious/noExplicitAny: the recipe is plain JavaScript; its sockets carry fields of their own
type Ws = WebSocket & { user?: string; channels: Map<string, any> } & Record<string, any>;
// biome-ignore lint/suspicious/noExplicitAny: as above
type Msg = Record<string, any>;

let verify: (token: unknown) => { user: string; expiresAt?: number } | undefined;
let allowed: (user: string | undefined, channel: unknown) => boolean;
let wss: WebSocketServer;

// ---- the recipe ----
const HISTORY = 1000; // publications kept per channel
const GRACE_MS = 5000; // how long a member whose connection closed is kept
const streams = new Map(); // channel → { epoch, offset, log: [{ offset, frame }] }
const members = new Map(); // channel → Map(client → { member, owner, timer })
const subscribers = new Map(); // channel → Set(ws)
const seen = new Set(); // publication ids handled (keep the last 1000 per session in production)

function stream(channel: string) {
  let s = streams.get(channel);
  if (!s) streams.set(channel, (s = { epoch: Math.random().toString(36).slice(2), offset: 0, log: [] }));
  return s;
}

function broadcast(channel: string, frame: string) {
  for (const ws of subscribers.get(channel) ?? []) ws.send(frame);
}

function publish(channel: string, data: unknown) {
  const s = stream(channel);
  const frame = JSON.stringify({ type: 'pub', channel, epoch: s.epoch, offset: ++s.offset, data });
  s.log.push({ offset: s.offset, frame });
  if (s.log.length > HISTORY) s.log.shift();
  broadcast(channel, frame);
}

function join(ws: Ws, channel: string, client: string) {
  let m = members.get(channel);
  if (!m) members.set(channel, (m = new Map()));
  const had = m.get(client);
  clearTimeout(had?.timer);
  const member = { client, user: ws.user };
  m.set(client, { member, owner: ws });
  if (!had) broadcast(channel, JSON.stringify({ type: 'presence_join', channel, member }));
}

function leave(ws: Ws, channel: string, client: string, now: boolean) {
  const m = members.get(channel);
  const entry = m?.get(client);
  if (!entry || entry.owner !== ws) return; // taken over by a reconnect
  const go = () => {
    m.delete(client);
    broadcast(channel, JSON.stringify({ type: 'presence_leave', channel, client }));
  };
  if (now) go();
  else entry.timer = setTimeout(go, GRACE_MS);
}

function subscribe(ws: Ws, msg: Msg) {
  const { channel, client, epoch, offset } = msg;
  if (!allowed(ws.user, channel) || typeof client !== 'string')
    return ws.send(JSON.stringify({ type: 'sub_error', channel, reason: 'not permitted' }));
  const s = stream(channel);
  const first = s.log.length ? s.log[0].offset : s.offset + 1;
  const recovered = epoch === s.epoch && offset >= first - 1 && offset <= s.offset;
  join(ws, channel, client);
  const list = [...members.get(channel).values()].map((e) => e.member);
  ws.send(JSON.stringify({ type: 'subscribed', channel, epoch: s.epoch, offset: s.offset, recovered, members: list }));
  if (recovered) for (const p of s.log) if (p.offset > offset) ws.send(p.frame);
  ws.channels.set(channel, client);
  if (!subscribers.has(channel)) subscribers.set(channel, new Set());
  subscribers.get(channel).add(ws);
}

function handle(ws: Ws, msg: Msg) {
  switch (msg.type) {
    case 'ping':
      return ws.send(JSON.stringify({ type: 'pong' }));
    case 'sub':
      return subscribe(ws, msg);
    case 'unsub':
      if (!ws.channels.has(msg.channel)) return;
      subscribers.get(msg.channel).delete(ws);
      leave(ws, msg.channel, ws.channels.get(msg.channel), true);
      return ws.channels.delete(msg.channel);
    case 'publish':
      if (!seen.has(msg.id) && allowed(ws.user, msg.channel)) publish(msg.channel, msg.data);
      if (msg.id === undefined) return; // sent without delivery: nothing to acknowledge
      seen.add(msg.id);
      return ws.send(JSON.stringify({ type: 'ack', id: msg.id }));
    case 'reauth': {
      const v = verify(msg.token);
      if (!v || v.user !== ws.user) return ws.close(4002, 'invalid token');
      return ws.send(JSON.stringify({ type: 'reauthed', expiresAt: v.expiresAt }));
    }
  }
}

const connection = (ws: Ws) => {
  ws.channels = new Map(); // channel → client id
  ws.on('message', (raw) => {
    const msg = JSON.parse(String(raw));
    if (ws.user) return handle(ws, msg);
    const v = msg.type === 'auth' && verify(msg.token);
    if (!v) return ws.close(4002, 'invalid token');
    ws.user = v.user;
    ws.send(JSON.stringify({ type: 'auth_ok', expiresAt: v.expiresAt }));
  });
  ws.on('close', () => {
    for (const [channel, client] of ws.channels) {
      subscribers.get(channel)?.delete(ws);
      leave(ws, channel, client, false);
    }
  });
};
// ---- the tests' wiring ----

/** A running recipe server. */
export interface ChannelsRecipeServer {
  url: string;
  /** forget a channel's stream, as a server that lost it (the next subscribe sees a new epoch) */
  lose(channel: string): void;
  close(): Promise<void>;
}

/**
 * Start the recipe on a free loopback port. Tokens are `user` or `user.expiresAt`; `refused`
 * is refused; channels starting with `forbidden` are not permitted.
 */
export async function channelsRecipeServer(): Promise<ChannelsRecipeServer> {
  verify = (token) => {
    if (typeof token !== 'string' || token === 'refused') return undefined;
    const [user, exp] = token.split('.');
    return { user: user as string, expiresAt: exp ? Number(exp) : undefined };
  };
  allowed = (_user, channel) => typeof channel === 'string' && !channel.startsWith('forbidden');
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => connection(ws as Ws));
  await new Promise((r) => wss.once('listening', r));
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    lose: (channel) => streams.delete(channel),
    close: async () => {
      for (const m of members.values()) for (const e of m.values()) clearTimeout(e.timer);
      for (const m of [streams, members, subscribers]) m.clear();
      seen.clear();
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
      await new Promise((r) => setTimeout(r, 50)); // the close events of the terminated sockets
    },
  };
}
