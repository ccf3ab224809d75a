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
import { type Bus, type Dedupe, type RoomEvent, SEEN_PER_SESSION, sessionKey } from './bus';
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
// KEYS: seq, log, session set. ARGV: message head, tail, envelope head, channel, log size,
// then the client id ('' for none), ids kept per session, session TTL.
const POST = `
if ARGV[6] ~= '' then
  local t = redis.call('TIME')
  if redis.call('ZADD', KEYS[3], 'NX', t[1] * 1000000 + t[2], ARGV[6]) == 0 then return false end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[7]) + 1))
  redis.call('PEXPIRE', KEYS[3], ARGV[8])
end
local id = redis.call('INCR', KEYS[1])
local m = ARGV[1] .. id .. ARGV[2]
redis.call('XADD', KEYS[2], id .. '-0', 'm', m)
-- trim by XDEL, not MAXLEN: only XDEL records max-deleted-entry-id, the floor a resume checks
if redis.call('XLEN', KEYS[2]) > tonumber(ARGV[5]) then
  redis.call('XDEL', KEYS[2], redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1][1])
end
redis.call('PUBLISH', ARGV[4], ARGV[3] .. m .. '}')
return id`;

// A resume's read, atomic: the newest id, the room's floor (the newest id trimmed away, which
// Redis keeps as max-deleted-entry-id, since POST trims with XDEL) and the lines after max(afterId, floor).
// KEYS: seq, log. ARGV: afterId ('' for none: no lines).
const REPLAY = `
local newest = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = 0
if redis.call('EXISTS', KEYS[2]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[2])
  for i = 1, #info, 2 do
    if info[i] == 'max-deleted-entry-id' then floor = tonumber(string.match(info[i + 1], '^%d+')) end
  end
end
if ARGV[1] == '' then return { newest, floor, {} } end
local after = math.max(tonumber(ARGV[1]), floor)
return { newest, floor, redis.call('XRANGE', KEYS[2], string.format('%d-1', after), '+') }`;

/** Options of {@link redisBus}. */
export interface RedisBusOptions {
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
        '3',
        `${prefix}seq`,
        `${prefix}log:${draft.room}`,
        dedupe === undefined ? `${prefix}seen:` : seenKey(dedupe),
        '{"type":"chat","id":',
        `,${tail.slice(1)}`,
        `{"room":${JSON.stringify(draft.room)},"msg":`,
        roomsChannel,
        String(logSize),
        dedupe?.id ?? '',
        String(SEEN_PER_SESSION),
        String(SESSION_MS),
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
        '2',
        `${prefix}seq`,
        // no room: a key no room can have (room names are 1-32 characters)
        `${prefix}log:${room ?? ''}`,
        afterId === null ? '' : String(Math.max(0, Math.floor(afterId))),
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
