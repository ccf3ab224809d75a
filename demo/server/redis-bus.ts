/**
 * The Redis bus: server instances that share one Redis form a cluster.
 *
 * - Pub/Sub `<prefix>rooms`: every room event (chat, joined/left), to every instance — each
 *   instance sends it to its own members of the room. Fire-and-forget is right here: a
 *   connection that misses a live line gets it back from the log with `resume`.
 * - Pub/Sub `<prefix>presence`: each instance's room members, re-sent every second and
 *   forgotten 3 s after an instance falls silent (a killed instance leaves no ghosts).
 * - Stream `<prefix>log:<room>` (capped at ~LOG_SIZE): the room's chat lines, for the history
 *   of `join` and the replay of `resume` on whichever instance a client lands.
 * - `<prefix>seq`: one counter for chat ids, so ids increase across rooms, instances and
 *   restarts of any instance.
 * - `<prefix>seen:<id>` (10 min): client message ids already handled, so a message re-sent to
 *   another instance after a failover is not handled twice.
 * - `<prefix>secret`: the key that signs tokens, set once by whichever instance comes first.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import type { ChatMsg } from '../protocol';
import type { Bus, RoomEvent } from './bus';
import { LOG_SIZE } from './types';

/** How long a client message id is remembered, ms: longer than any client keeps it unacked. */
const SEEN_MS = 600_000;
const PRESENCE_EVERY_MS = 1000;
const PRESENCE_STALE_MS = 3000;

// Dedupe, id, append and publish in one step: no other instance can take an id in between, so
// every instance receives chat in id order, and a line is never in the log without its
// dedupe mark (or marked without being in the log) — whichever instance a re-send lands on.
const POST = `
if ARGV[7] == '1' and not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[6]) then return false end
local id = redis.call('INCR', KEYS[1])
local m = ARGV[1] .. id .. ARGV[2]
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], id .. '-0', 'm', m)
redis.call('PUBLISH', ARGV[4], ARGV[3] .. m .. '}')
return id`;

/** Options of {@link redisBus}. */
export interface RedisBusOptions {
  /** `redis://host:port` */
  url: string;
  /** Prepended to every key and channel, so clusters can share one Redis. Default `rws:`. */
  prefix?: string;
  /** Where connection errors go. */
  log?: (...args: unknown[]) => void;
}

type Entry = [id: string, fields: string[]];

/** Connect to Redis and join the cluster there. */
export async function redisBus(opts: RedisBusOptions): Promise<Bus> {
  const prefix = opts.prefix ?? 'rws:';
  const log = opts.log ?? (() => {});
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

  await sub.subscribe(roomsChannel, (text: string) => {
    const e = JSON.parse(text) as RoomEvent;
    for (const h of handlers) h(e);
  });
  await sub.subscribe(presenceChannel, (text: string) => {
    const p = JSON.parse(text) as { instance: string; rooms: Record<string, string[]> };
    if (p.instance !== instance) others.set(p.instance, { at: Date.now(), rooms: p.rooms });
  });
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
    post: async (draft, dedupeId) => {
      const tail = JSON.stringify(draft);
      const head = '{"type":"chat","id":';
      const id = (await cmd.sendCommand([
        'EVAL',
        POST,
        '3',
        `${prefix}seq`,
        `${prefix}log:${draft.room}`,
        `${prefix}seen:${dedupeId ?? ''}`,
        head,
        `,${tail.slice(1)}`,
        `{"room":${JSON.stringify(draft.room)},"msg":`,
        roomsChannel,
        String(LOG_SIZE),
        String(SEEN_MS),
        dedupeId === undefined ? '0' : '1',
      ])) as number | null;
      return id === null ? undefined : { type: 'chat', id, ...draft };
    },
    history: async (room, q) => {
      const key = `${prefix}log:${room}`;
      if ('afterId' in q)
        return parse((await cmd.sendCommand(['XRANGE', key, `${Math.floor(q.afterId) + 1}-0`, '+'])) as Entry[]);
      return parse(
        ((await cmd.sendCommand(['XREVRANGE', key, '+', '-', 'COUNT', String(q.last)])) as Entry[]).reverse(),
      );
    },
    firstSeen: async (id) =>
      (await cmd.set(`${prefix}seen:${id}`, '1', { condition: 'NX', expiration: { type: 'PX', value: SEEN_MS } })) ===
      'OK',
    setPresence: (rooms) => {
      mine = rooms;
      announce();
    },
    remoteMembers: (room) => {
      const now = Date.now();
      const names: string[] = [];
      for (const [name, p] of others) {
        if (now - p.at > PRESENCE_STALE_MS) others.delete(name);
        else names.push(...(p.rooms[room] ?? []));
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
