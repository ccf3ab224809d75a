/**
 * Frames in: record, rate-limit, parse, authenticate (the first message), acknowledge and
 * deduplicate ids (the server side of `resilient-ws/delivery`), then handle by `type`.
 * A connection's frames are handled one after the other, even when one waits for the bus.
 */
import type { RawData } from 'ws';
import type { ServerMsg } from '../protocol';
import { closeConn, send, sendError, sendRaw, system, takeToken } from './conn';
import { checkName, nameFree, reclaim } from './names';
import type { Rooms } from './rooms';
import type { tokens as makeTokens } from './tokens';
import type { Conn, Ctx, ReceivedFrame } from './types';

const RECEIVED_LOG = 5000;

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data.byteLength;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What the message handlers need. */
export interface MessageDeps {
  rooms: Rooms;
  tokens: ReturnType<typeof makeTokens>;
  rate: number;
  received: ReceivedFrame[];
}

/** Returns the frame handler of one instance. */
export function messages(ctx: Ctx, deps: MessageDeps): (c: Conn, data: RawData, isBinary: boolean) => void {
  const { rooms, tokens, rate, received } = deps;
  const { log, events, bus } = ctx;
  const { maxName: MAX_NAME, maxText: MAX_TEXT } = ctx.limits;

  function handleAuth(c: Conn, msg: unknown): void {
    clearTimeout(c.authTimer);
    c.authTimer = undefined;
    if (!isRecord(msg) || msg.type !== 'auth') return closeConn(c, 4001, 'auth required');
    const token = msg.token;
    if (typeof token !== 'string' || token.length === 0) return closeConn(c, 4001, 'no token');
    const check = tokens.check(token);
    if (!check.ok) {
      log(`#${c.info.id} auth refused: ${check.reason}`);
      return closeConn(c, 4002, check.reason);
    }
    c.authed = true;
    c.info.user = check.user;
    c.username = check.user;
    log(`#${c.info.id} authenticated as ${check.user}`);
    reclaim(ctx, c, rooms);
    send(
      c,
      check.expiresAt === undefined
        ? { type: 'auth_ok', user: check.user }
        : { type: 'auth_ok', user: check.user, expiresAt: check.expiresAt },
    );
    events.emit('auth', c.info);
  }

  /** Handles one message; `id` (a client message id) makes a chat line deduplicated cluster-wide. */
  async function handleMessage(c: Conn, msg: Record<string, unknown>, raw: string, id?: string): Promise<void> {
    const type = msg.type as string;
    switch (type) {
      case 'ping': {
        const pid = msg.id;
        const pong: ServerMsg =
          (typeof pid === 'string' && pid.length <= 64) || (typeof pid === 'number' && Number.isFinite(pid))
            ? { type: 'pong', timestamp: Date.now(), id: pid }
            : { type: 'pong', timestamp: Date.now() };
        return send(c, pong);
      }
      case 'echo':
        return sendRaw(c, raw);
      case 'auth':
        return sendError(c, 'already authenticated');
      case 'set_username': {
        const checked = checkName(msg.username, 'username', MAX_NAME);
        if ('error' in checked) return sendError(c, checked.error);
        const name = checked.name;
        if (!nameFree(ctx, c, name)) return sendError(c, `username ${JSON.stringify(name)} is taken`);
        const old = c.username;
        c.username = name;
        send(c, system(`username set to ${name}`));
        if (old !== name) rooms.renamed(c, old);
        return;
      }
      case 'join': {
        const room = checkName(msg.room, 'room', MAX_NAME);
        if ('error' in room) return sendError(c, room.error);
        return rooms.join(c, room.name);
      }
      case 'message': {
        if (c.room === undefined) return sendError(c, 'join a room first');
        const text = msg.text;
        if (typeof text !== 'string' || text.trim().length === 0)
          return sendError(c, 'text must be a non-empty string');
        if (text.length > MAX_TEXT) return sendError(c, `text too long (max ${MAX_TEXT} characters)`);
        await rooms.post(c, text, id);
        return;
      }
      case 'leave':
        if (c.room === undefined) sendError(c, 'not in a room');
        else rooms.leave(c, true);
        return;
      case 'resume': {
        const lastId = msg.lastId ?? null;
        if (lastId !== null && !(typeof lastId === 'number' && Number.isFinite(lastId)))
          return sendError(c, 'lastId must be a number or null');
        return rooms.resume(c, lastId);
      }
      case 'request': {
        const requestId = msg.requestId;
        if (typeof requestId !== 'string' || requestId.length > 64)
          return sendError(c, 'requestId must be a short string');
        if (msg.op === 'time') return send(c, { type: 'reply', requestId, time: Date.now() });
        if (msg.op === 'who') return send(c, { type: 'reply', requestId, users: rooms.who(c) });
        return send(c, { type: 'reply', requestId, error: 'unknown op (time, who)' });
      }
      case 'subscribe':
      case 'unsubscribe':
        if (msg.channel !== 'prices') return sendError(c, 'unknown channel (only "prices")');
        c.prices = type === 'subscribe';
        return send(c, system(`${type}d: prices`));
      default:
        return sendError(c, `unknown type ${JSON.stringify(type.slice(0, 40))}`);
    }
  }

  async function handle(c: Conn, text: string, isBinary: boolean): Promise<void> {
    if (c.stalled || c.closing) return;
    let msg: unknown;
    if (!isBinary) {
      try {
        msg = JSON.parse(text);
      } catch {
        msg = undefined;
      }
    }
    if (!c.authed) return handleAuth(c, msg);
    if (isBinary) return sendError(c, 'binary frames are not supported');
    if (msg === undefined) return sendError(c, 'invalid JSON');
    if (!isRecord(msg) || typeof msg.type !== 'string')
      return sendError(c, 'a message must be an object with a string "type"');
    const id = msg.id;
    // control frames carry no id and get no ack
    if (typeof id !== 'string' || msg.type === 'ping' || msg.type === 'resume') return handleMessage(c, msg, text);
    // At-least-once from the client: handle each id once (a chat line's dedupe is part of its
    // append to the shared log), then ack every copy — the earlier ack may be what was lost.
    // Acking after handling means an instance killed in between leaves the message unacked,
    // so the client re-sends it to the next instance instead of losing it.
    if (id.length > 64) return sendError(c, 'id too long');
    if (msg.type === 'message') await handleMessage(c, msg, text, id);
    else if (await bus.firstSeen({ user: c.info.user as string, id })) await handleMessage(c, msg, text);
    send(c, { type: 'ack', id });
  }

  return (c, data, isBinary) => {
    if (c.stalled || c.closing) return;
    const text = isBinary ? `<binary ${rawLength(data)} bytes>` : rawToString(data);
    received.push({ conn: c.info.id, data: text, at: Date.now() });
    if (received.length > RECEIVED_LOG) received.splice(0, received.length - RECEIVED_LOG);
    events.emit('frame', c.info, text);
    if (!takeToken(c, rate, log)) return;
    c.chain = c.chain
      .then(() => handle(c, text, isBinary))
      .catch((err: unknown) => {
        log(`#${c.info.id} handler error:`, err);
        sendError(c, 'internal error');
      });
  };
}
