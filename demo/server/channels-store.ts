/**
 * Where channels live: each channel's stream (epoch, offsets, history) and its members, shared
 * by every instance. Two implementations of one interface, like the bus: {@link memoryChannels}
 * (one process) and {@link redisChannels} (a Redis Stream per channel). Every event of a
 * channel (publications, joins, leaves) reaches every instance as the frame the clients get.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { type Dedupe, SEEN_PER_SESSION, sessionKey } from './bus';

/** A member as the clients see it. */
export interface Member {
  client: string;
  user: string;
}

/** What a subscribe reads, in one atomic step. */
export interface Read {
  epoch: string;
  /** the stream's newest offset (0: none yet) */
  offset: number;
  /** the client's position was this epoch and still in the history: `pubs` are what it missed */
  recovered: boolean;
  /** the frames after the client's offset, in order (when recovered) */
  pubs: string[];
}

/** Channel state shared by the instances. */
export interface ChannelStore {
  /** Every channel event, from every instance, as the client frame (publications in offset order). */
  onEvent(handler: (channel: string, frame: string) => void): void;
  /** Append to the channel's stream and publish; with `dedupe` (a user's message id), a repeat returns false and changes nothing. */
  publish(channel: string, data: unknown, dedupe?: Dedupe): Promise<boolean>;
  /** The subscribe read: the stream's position and, when `since` is recoverable, what came after it. */
  read(channel: string, since?: { epoch: string; offset: number }): Promise<Read>;
  /** Add (or take over, for a reconnect) a member; `owner` names the connection. A new member is announced. */
  join(channel: string, member: Member, owner: string): Promise<void>;
  /** Remove the member if `owner` still holds it (a reconnect elsewhere took it over otherwise), and announce it. */
  leave(channel: string, client: string, owner: string): Promise<void>;
  /** The members now, in the order they joined. */
  members(channel: string): Promise<Member[]>;
  /** The members this instance holds are still alive (a killed instance's go stale and are removed). */
  touch(held: Array<{ channel: string; client: string; owner: string }>): Promise<void>;
  close(): Promise<void>;
}

/** Limits and lifetimes of the channel state. */
export interface StoreOptions {
  /** Publications kept per channel for recovery. Default 1000. */
  history?: number;
  /** A channel with no publish and no subscribe for this long loses its history and epoch, ms. Default 1 h. */
  idleMs?: number;
  /** Channels the in-process store holds at most (the idlest goes first). Default 10 000. */
  maxChannels?: number;
}

export const HISTORY = 1000;
export const IDLE_MS = 3_600_000;
/** A member not touched for this long belongs to a dead instance, ms. */
export const STALE_MS = 6000;
/** How often an instance touches its members and sweeps stale ones, ms. */
export const TOUCH_MS = 2000;

const newEpoch = (): string => randomBytes(6).toString('base64url');
const pubFrame = (channel: string, epoch: string, offset: number, data: string): string =>
  `{"type":"pub","channel":${JSON.stringify(channel)},"epoch":"${epoch}","offset":${offset},"data":${data}}`;
const joinFrame = (channel: string, m: Member): string => JSON.stringify({ type: 'presence_join', channel, member: m });
const leaveFrame = (channel: string, client: string): string =>
  JSON.stringify({ type: 'presence_leave', channel, client });

/** One process: nothing shared, no dependency. */
export function memoryChannels(opts: StoreOptions = {}): ChannelStore {
  const history = opts.history ?? HISTORY;
  const idleMs = opts.idleMs ?? IDLE_MS;
  const max = opts.maxChannels ?? 10_000;
  const handlers: Array<(channel: string, frame: string) => void> = [];
  type Stream = { epoch: string; offset: number; log: Array<{ offset: number; frame: string }>; used: number };
  /** insertion order is recency: a used stream is re-inserted last */
  const streams = new Map<string, Stream>();
  const presence = new Map<string, Map<string, { m: Member; owner: string }>>();
  const seen = new Map<string, Set<string>>();
  const emit = (channel: string, frame: string): void => {
    for (const h of handlers) h(channel, frame);
  };
  const stream = (channel: string): Stream => {
    const now = Date.now();
    let s = streams.get(channel);
    if (s && now - s.used > idleMs) s = undefined; // idle too long: forgotten, a new epoch
    streams.delete(channel);
    s ??= { epoch: newEpoch(), offset: 0, log: [], used: now };
    s.used = now;
    streams.set(channel, s);
    if (streams.size > max) streams.delete(streams.keys().next().value as string);
    return s;
  };
  const firstSeen = (d: Dedupe): boolean => {
    const session = sessionKey(d);
    const id = d.id;
    const ids = seen.get(session) ?? new Set<string>();
    seen.delete(session);
    seen.set(session, ids);
    if (seen.size > 10_000) seen.delete(seen.keys().next().value as string);
    if (ids.has(id)) return false;
    ids.add(id);
    if (ids.size > SEEN_PER_SESSION) ids.delete(ids.values().next().value as string);
    return true;
  };
  return {
    onEvent: (h) => {
      handlers.push(h);
    },
    publish: async (channel, data, dedupe) => {
      if (dedupe !== undefined && !firstSeen(dedupe)) return false;
      const s = stream(channel);
      const frame = pubFrame(channel, s.epoch, ++s.offset, JSON.stringify(data));
      s.log.push({ offset: s.offset, frame });
      if (s.log.length > history) s.log.shift();
      emit(channel, frame);
      return true;
    },
    read: async (channel, since) => {
      const s = stream(channel);
      const first = s.log[0]?.offset ?? s.offset + 1;
      const recovered =
        since !== undefined && since.epoch === s.epoch && since.offset >= first - 1 && since.offset <= s.offset;
      const pubs = recovered ? s.log.filter((p) => p.offset > since.offset).map((p) => p.frame) : [];
      return { epoch: s.epoch, offset: s.offset, recovered, pubs };
    },
    join: async (channel, m, owner) => {
      let p = presence.get(channel);
      if (p === undefined) presence.set(channel, (p = new Map()));
      const had = p.has(m.client);
      p.set(m.client, { m, owner });
      if (!had) emit(channel, joinFrame(channel, m));
    },
    leave: async (channel, client, owner) => {
      const p = presence.get(channel);
      if (p?.get(client)?.owner !== owner) return;
      p.delete(client);
      if (p.size === 0) presence.delete(channel);
      emit(channel, leaveFrame(channel, client));
    },
    members: async (channel) => [...(presence.get(channel)?.values() ?? [])].map((x) => x.m),
    touch: async () => {},
    close: async () => {
      handlers.length = 0;
    },
  };
}

// A publication: dedupe, the stream (a new epoch when it was lost), append, publish — one step,
// so offsets and delivery order agree on every instance and a repeat is never appended.
// KEYS: meta hash, log stream, session set. ARGV: channel (JSON), data (JSON), pub/sub channel,
// history, idle ms, dedupe id ('' none), ids kept, session ms, a fresh epoch.
const ENSURE = `
local function ensure(meta, log, fresh)
  local e = redis.call('HGET', meta, 'epoch')
  local off = tonumber(redis.call('HGET', meta, 'offset') or '0')
  if (not e) or (off > 0 and redis.call('EXISTS', log) == 0) then
    e = fresh
    off = 0
    redis.call('DEL', log)
    redis.call('HSET', meta, 'epoch', e, 'offset', 0)
  end
  return e, off
end`;
const PUBLISH = `${ENSURE}
if ARGV[6] ~= '' then
  local t = redis.call('TIME')
  if redis.call('ZADD', KEYS[3], 'NX', t[1] * 1000000 + t[2], ARGV[6]) == 0 then return 0 end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[7]) + 1))
  redis.call('PEXPIRE', KEYS[3], ARGV[8])
end
local e, off = ensure(KEYS[1], KEYS[2], ARGV[9])
off = off + 1
redis.call('HSET', KEYS[1], 'offset', off)
local f = '{"type":"pub","channel":' .. ARGV[1] .. ',"epoch":"' .. e .. '","offset":' .. off .. ',"data":' .. ARGV[2] .. '}'
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], off .. '-0', 'f', f)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PUBLISH', ARGV[3], f)
return 1`;

// A subscribe's read. KEYS: meta, log. ARGV: a fresh epoch, idle ms, the client's epoch ('' none), its offset.
const READ = `${ENSURE}
local e, off = ensure(KEYS[1], KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
if ARGV[3] ~= e then return { e, off, 0, {} } end
local since = tonumber(ARGV[4])
local head = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
local first = off + 1
if head then first = tonumber(string.match(head[1], '^%d+')) end
if since < first - 1 or since > off then return { e, off, 0, {} } end
local out = {}
for _, x in ipairs(redis.call('XRANGE', KEYS[2], (since + 1) .. '-0', '+')) do out[#out + 1] = x[2][2] end
return { e, off, 1, out }`;

// Presence. KEYS: the channel's member hash. Values: owner \n at \n member JSON.
// JOIN ARGV: client, owner, now, member JSON, pub/sub channel, join frame, idle ms.
const JOIN = `
local had = redis.call('HEXISTS', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
if had == 0 then redis.call('PUBLISH', ARGV[5], ARGV[6]) end
return had`;
// LEAVE ARGV: client, owner ('' any), pub/sub channel, leave frame, stale-before ('' none).
const LEAVE = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local owner, at = string.match(v, '^([^\\n]*)\\n(%d+)')
if ARGV[2] ~= '' and owner ~= ARGV[2] then return 0 end
if ARGV[5] ~= '' and tonumber(at) >= tonumber(ARGV[5]) then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;
// TOUCH ARGV: now, then client, owner pairs: the time of what this owner still holds.
const TOUCH = `
for i = 2, #ARGV, 2 do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v then
    local owner, at, m = string.match(v, '^([^\\n]*)\\n(%d+)\\n(.*)$')
    if owner == ARGV[i + 1] then redis.call('HSET', KEYS[1], ARGV[i], owner .. '\\n' .. ARGV[1] .. '\\n' .. m) end
  end
end
return 0`;

/** Channels on Redis: a Stream per channel (`<prefix>ch:<name>:log`, positions from it), its epoch and offset (`:meta`), members (`:members`). */
export async function redisChannels(
  opts: StoreOptions & { url: string; prefix?: string; log?: (...a: unknown[]) => void },
): Promise<ChannelStore> {
  const prefix = opts.prefix ?? 'rws:';
  const history = String(opts.history ?? HISTORY);
  const idle = String(opts.idleMs ?? IDLE_MS);
  const log = opts.log ?? (() => {});
  const cmd = createClient({ url: opts.url });
  const sub = cmd.duplicate();
  for (const c of [cmd, sub]) c.on('error', (err: Error) => log('redis:', err.message));
  await Promise.all([cmd.connect(), sub.connect()]);
  const handlers: Array<(channel: string, frame: string) => void> = [];
  const k = (channel: string, part: string): string => `${prefix}ch:${channel}:${part}`;
  const topic = (channel: string): string => `${prefix}chp:${channel}`;
  const at = topic('');
  await sub.pSubscribe(`${at}*`, (frame: string, from: string) => {
    const channel = from.slice(at.length);
    for (const h of handlers) {
      try {
        h(channel, frame);
      } catch (err) {
        log('channel event:', err);
      }
    }
  });
  const run = async (script: string, keys: string[], args: string[]): Promise<unknown> =>
    cmd.sendCommand(['EVAL', script, String(keys.length), ...keys, ...args]);
  const leave = (channel: string, client: string, owner: string, staleBefore: string) =>
    run(LEAVE, [k(channel, 'members')], [client, owner, topic(channel), leaveFrame(channel, client), staleBefore]);
  let closed = false;

  return {
    onEvent: (h) => {
      handlers.push(h);
    },
    publish: async (channel, data, dedupe) =>
      (await run(
        PUBLISH,
        [k(channel, 'meta'), k(channel, 'log'), dedupe ? `${prefix}seen:${sessionKey(dedupe)}` : `${prefix}seen:`],
        [
          JSON.stringify(channel),
          JSON.stringify(data),
          topic(channel),
          history,
          idle,
          dedupe?.id ?? '',
          String(SEEN_PER_SESSION),
          '86400000',
          newEpoch(),
        ],
      )) === 1,
    read: async (channel, since) => {
      const [epoch, offset, recovered, pubs] = (await run(
        READ,
        [k(channel, 'meta'), k(channel, 'log')],
        [newEpoch(), idle, since?.epoch ?? '', String(since?.offset ?? 0)],
      )) as [string, number, number, string[]];
      return { epoch, offset, recovered: recovered === 1, pubs };
    },
    join: async (channel, m, owner) => {
      await run(
        JOIN,
        [k(channel, 'members')],
        [m.client, owner, String(Date.now()), JSON.stringify(m), topic(channel), joinFrame(channel, m), idle],
      );
    },
    leave: async (channel, client, owner) => {
      await leave(channel, client, owner, '');
    },
    members: async (channel) => {
      const all = await cmd.hGetAll(k(channel, 'members'));
      const now = Date.now();
      const out: Member[] = [];
      for (const [client, v] of Object.entries(all)) {
        const [, , when, json] = v.match(/^([^\n]*)\n(\d+)\n([\s\S]*)$/) ?? [];
        if (now - Number(when) > STALE_MS) await leave(channel, client, '', String(now - STALE_MS));
        else out.push(JSON.parse(json as string) as Member);
      }
      return out;
    },
    touch: async (held) => {
      if (closed) return;
      const now = Date.now();
      const by = new Map<string, string[]>();
      for (const h of held) {
        const l = by.get(h.channel) ?? [];
        l.push(h.client, h.owner);
        by.set(h.channel, l);
      }
      for (const [channel, pairs] of by) {
        await run(TOUCH, [k(channel, 'members')], [String(now), ...pairs]);
        // sweep: a member whose instance stopped touching it is gone
        for (const [client, v] of Object.entries(await cmd.hGetAll(k(channel, 'members'))))
          if (now - Number(v.split('\n')[1]) > STALE_MS) await leave(channel, client, '', String(now - STALE_MS));
      }
    },
    close: async () => {
      if (closed) return;
      closed = true;
      handlers.length = 0;
      await Promise.all([sub.close(), cmd.close()]).catch(() => {});
    },
  };
}
