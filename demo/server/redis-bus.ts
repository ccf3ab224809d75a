/**
 * The Redis bus: server instances that share one Redis form a cluster.
 *
 * - Pub/Sub `<prefix>rooms`: every room event (chat, joined/left), to every instance — each
 *   instance sends it to its own members of the room. Fire-and-forget is right here: a
 *   connection that misses a live line gets it back from the log with `resume`.
 * - Pub/Sub `<prefix>presence`: each instance's room members, re-sent every second and
 *   forgotten 3 s after an instance falls silent (a killed instance leaves no ghosts).
 * - Stream `<prefix>log:<room>` (capped at LOG_SIZE): the room's chat lines, for the history
 *   of `join` and the replay of `resume` on whichever instance a client lands; what was trimmed
 *   is known (max-deleted-entry-id), so a resume from before it reports a gap.
 * - `<prefix>rooms` (sorted set, by last activity), `<prefix>roomlast` (hash: room → last id),
 *   `<prefix>forgotten`: the rooms in use, capped at `maxRooms`; a room idle for `roomIdleMs` is
 *   forgotten with its log (each log also carries a PEXPIRE of `roomIdleMs`, refreshed by every
 *   join and line), and its last id becomes the floor a resume from before it reports as a gap.
 * - `<prefix>seq`: one counter for chat ids, so ids increase across rooms, instances and
 *   restarts of any instance.
 * - `<prefix>seen:<user length>:<user>:<session>` (a day after its last use): the last 1000
 *   client message ids of each client session of each user, so a message re-sent to another instance after a failover is not
 *   handled twice.
 * - `<prefix>secret`: the key that signs tokens, set once by whichever instance comes first.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import type { ChatMsg } from '../protocol';
import { type Bus, type Dedupe, type RoomEvent, type RoomLimits, SEEN_PER_SESSION, sessionKey } from './bus';
import { DEFAULT_LIMITS } from './limits';
import { LOG_SIZE } from './types';

/** How long a client session's ids are remembered after its last message, ms. */
const SESSION_MS = 86_400_000;
const PRESENCE_EVERY_MS = 1000;
const PRESENCE_STALE_MS = 3000;

// First sight of a client id: a sorted set per session, newest SEEN_PER_SESSION kept.
// KEYS[1] the session's set; ARGV[1] the id, ARGV[2] how many to keep, ARGV[3] TTL ms.
const SEEN = `
local t = redis.call('TIME')
if redis.call('ZADD', KEYS[1], 'NX', t[1] * 1000000 + t[2], ARGV[1]) == 0 then return 0 end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[2]) + 1))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

// Dedupe, id, append and publish in one step: no other instance can take an id in between, so
// every instance receives chat in id order, and a line is never in the log without its
// dedupe mark (or marked without being in the log) — whichever instance a re-send lands on.
// The line keeps its room alive: the room's activity, its last id (the floor a resume
// checks once the log is gone) and the log's PEXPIRE are refreshed; a log started afresh
// after one expired records that floor (XSETID MAXDELETEDID).
// KEYS: seq, log, session set, rooms, room last ids, forgotten. ARGV: message head, tail,
// envelope head, channel, log size, then the client id ('' for none), ids kept per session,
// session TTL, room idle ms, room.
const POST = `
local t = redis.call('TIME')
if ARGV[6] ~= '' then
  if redis.call('ZADD', KEYS[3], 'NX', t[1] * 1000000 + t[2], ARGV[6]) == 0 then return false end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[7]) + 1))
  redis.call('PEXPIRE', KEYS[3], ARGV[8])
end
local id = redis.call('INCR', KEYS[1])
local m = ARGV[1] .. id .. ARGV[2]
local fresh = redis.call('EXISTS', KEYS[2]) == 0
redis.call('XADD', KEYS[2], id .. '-0', 'm', m)
if fresh then
  local floor = math.max(tonumber(redis.call('GET', KEYS[6]) or '0'), tonumber(redis.call('HGET', KEYS[5], ARGV[10]) or '0'))
  if floor > 0 then redis.call('XSETID', KEYS[2], id .. '-0', 'MAXDELETEDID', floor .. '-0') end
end
redis.call('ZADD', KEYS[4], t[1] * 1000 + math.floor(t[2] / 1000), ARGV[10])
redis.call('HSET', KEYS[5], ARGV[10], id)
redis.call('PEXPIRE', KEYS[2], ARGV[9])
-- trim by XDEL, not MAXLEN: only XDEL records max-deleted-entry-id, the floor a resume checks
if redis.call('XLEN', KEYS[2]) > tonumber(ARGV[5]) then
  redis.call('XDEL', KEYS[2], redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1][1])
end
redis.call('PUBLISH', ARGV[4], ARGV[3] .. m .. '}')
return id`;

// A resume's read, atomic: the newest id, the room's floor (the newest id trimmed away, which
// Redis keeps as max-deleted-entry-id, since POST trims with XDEL; for a log that is gone, its
// last id or the newest forgotten) and the lines after max(afterId, floor).
// KEYS: seq, log, room last ids, forgotten. ARGV: afterId ('' for none: no lines), room.
const REPLAY = `
local newest = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = 0
if redis.call('EXISTS', KEYS[2]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[2])
  for i = 1, #info, 2 do
    if info[i] == 'max-deleted-entry-id' then floor = tonumber(string.match(info[i + 1], '^%d+')) end
  end
else
  floor = math.max(tonumber(redis.call('GET', KEYS[4]) or '0'), tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0'))
end
if ARGV[1] == '' then return { newest, floor, {} } end
local after = math.max(tonumber(ARGV[1]), floor)
return { newest, floor, redis.call('XRANGE', KEYS[2], string.format('%d-1', after), '+') }`;

// A join opens (or touches) its room: rooms idle for ARGV[2] ms are forgotten first (their logs
// deleted, their last ids folded into the forgotten floor), then a new room beyond ARGV[3] is refused.
// KEYS: rooms, room last ids, forgotten. ARGV: room, room idle ms, max rooms, log key prefix.
const OPEN = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local idle = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if #idle > 0 then
  local forgotten = tonumber(redis.call('GET', KEYS[3]) or '0')
  for _, r in ipairs(idle) do
    forgotten = math.max(forgotten, tonumber(redis.call('HGET', KEYS[2], r) or '0'))
    redis.call('HDEL', KEYS[2], r)
    redis.call('DEL', ARGV[4] .. r)
    redis.call('ZREM', KEYS[1], r)
  end
  redis.call('SET', KEYS[3], forgotten)
end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', ARGV[4] .. ARGV[1], ARGV[2])
return 1`;

/** Options of {@link redisBus}. */
export interface RedisBusOptions extends RoomLimits {
  /** `redis://host:port` */
  url: string;
  /** Prepended to every key and channel, so clusters can share one Redis. Default `rws:`. */
  prefix?: string;
  /** Where connection errors go. */
  log?: (...args: unknown[]) => void;
  /** Lines kept per room. Default 1000. */
  logSize?: number;
}

type Entry = [id: string, fields: string[]];

/** Connect to Redis and join the cluster there. */
export async function redisBus(opts: RedisBusOptions): Promise<Bus> {
  const prefix = opts.prefix ?? 'rws:';
  const log = opts.log ?? (() => {});
  const logSize = opts.logSize ?? LOG_SIZE;
  const maxRooms = opts.maxRooms ?? DEFAULT_LIMITS.maxRooms;
  const roomIdleMs = String(opts.roomIdleMs ?? DEFAULT_LIMITS.roomIdleMs);
  const [roomsKey, lastKey, forgottenKey] = [`${prefix}rooms`, `${prefix}roomlast`, `${prefix}forgotten`];
  const seenKey = (d: Dedupe): string => `${prefix}seen:${sessionKey(d)}`;
  const instance = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const cmd = createClient({ url: opts.url });
  const sub = cmd.duplicate();
  for (const c of [cmd, sub]) c.on('error', (err: Error) => log('redis:', err.message));
  await Promise.all([cmd.connect(), sub.connect()]);

  const roomsChannel = `${prefix}rooms`;
  const presenceChannel = `${prefix}presence`;
  const handlers: Array<(e: RoomEvent) => void> = [];
  const others = new Map<string, { at: number; rooms: Record<string, string[]> }>();
  let mine: Record<string, string[]> = {};
  let closed = false;

  // a listener that throws would take the subscriber connection down with it
  const listener =
    <T>(handle: (value: T) => void) =>
    (text: string): void => {
      try {
        handle(JSON.parse(text) as T);
      } catch (err) {
        log('bus message:', err);
      }
    };
  await sub.subscribe(
    roomsChannel,
    listener<RoomEvent>((e) => {
      for (const h of handlers) h(e);
    }),
  );
  await sub.subscribe(
    presenceChannel,
    listener<{ instance: string; rooms: Record<string, string[]> }>((p) => {
      if (p.instance !== instance) others.set(p.instance, { at: Date.now(), rooms: p.rooms });
    }),
  );
  const announce = (): void => {
    if (closed) return;
    cmd.publish(presenceChannel, JSON.stringify({ instance, rooms: mine })).catch(() => {});
  };
  const presenceTimer = setInterval(announce, PRESENCE_EVERY_MS);
  presenceTimer.unref();

  const parse = (entries: Entry[]): ChatMsg[] => entries.map(([, f]) => JSON.parse(f[1] as string) as ChatMsg);

  return {
    instance,
    maxRooms,
    openRoom: async (room) =>
      ((await cmd.sendCommand([
        'EVAL',
        OPEN,
        '3',
        roomsKey,
        lastKey,
        forgottenKey,
        room,
        roomIdleMs,
        String(maxRooms),
        `${prefix}log:`,
      ])) as number) === 1,
    onEvent: (h) => {
      handlers.push(h);
    },
    publish: async (e) => {
      await cmd.publish(roomsChannel, JSON.stringify(e));
    },
    post: async (draft, dedupe) => {
      const tail = JSON.stringify(draft);
      const id = (await cmd.sendCommand([
        'EVAL',
        POST,
        '6',
        `${prefix}seq`,
        `${prefix}log:${draft.room}`,
        dedupe === undefined ? `${prefix}seen:` : seenKey(dedupe),
        roomsKey,
        lastKey,
        forgottenKey,
        '{"type":"chat","id":',
        `,${tail.slice(1)}`,
        `{"room":${JSON.stringify(draft.room)},"msg":`,
        roomsChannel,
        String(logSize),
        dedupe?.id ?? '',
        String(SEEN_PER_SESSION),
        String(SESSION_MS),
        roomIdleMs,
        draft.room,
      ])) as number | null;
      return id === null ? undefined : { type: 'chat', id, ...draft };
    },
    history: async (room, last) =>
      parse(
        (
          (await cmd.sendCommand(['XREVRANGE', `${prefix}log:${room}`, '+', '-', 'COUNT', String(last)])) as Entry[]
        ).reverse(),
      ),
    replay: async (room, afterId) => {
      const [newest, floor, entries] = (await cmd.sendCommand([
        'EVAL',
        REPLAY,
        '4',
        `${prefix}seq`,
        // no room: a key no room can have (room names are 1-32 characters)
        `${prefix}log:${room ?? ''}`,
        lastKey,
        forgottenKey,
        afterId === null ? '' : String(Math.max(0, Math.floor(afterId))),
        room ?? '',
      ])) as [number, number, Entry[]];
      return { lines: room === undefined ? [] : parse(entries), floor, newest };
    },
    firstSeen: async (d) =>
      ((await cmd.sendCommand([
        'EVAL',
        SEEN,
        '1',
        seenKey(d),
        d.id,
        String(SEEN_PER_SESSION),
        String(SESSION_MS),
      ])) as number) === 1,
    setPresence: (rooms) => {
      mine = rooms;
      announce();
    },
    remoteMembers: (room) => {
      const now = Date.now();
      const names: string[] = [];
      for (const [name, p] of others) {
        if (now - p.at > PRESENCE_STALE_MS) others.delete(name);
        else names.push(...(room === undefined ? Object.values(p.rooms).flat() : (p.rooms[room] ?? [])));
      }
      return names;
    },
    secret: async () => {
      await cmd.set(`${prefix}secret`, randomBytes(32).toString('base64url'), { condition: 'NX' });
      return (await cmd.get(`${prefix}secret`)) as string;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(presenceTimer);
      handlers.length = 0;
      // tell the others at once rather than letting the entry go stale
      await cmd.publish(presenceChannel, JSON.stringify({ instance, rooms: {} })).catch(() => {});
      await Promise.all([sub.close(), cmd.close()]).catch(() => {});
    },
  };
}
