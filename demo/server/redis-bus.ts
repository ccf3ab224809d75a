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
import { redisPresence } from './redis-presence';
import { OPEN, POST, REPLAY, SEEN } from './redis-scripts';
import { LOG_SIZE } from './types';

/** How long a client session's ids are remembered after its last message, ms. */
const SESSION_MS = 86_400_000;

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
  const handlers: Array<(e: RoomEvent) => void> = [];
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
  const presence = await redisPresence({ cmd, sub, channel: `${prefix}presence`, instance, listener });
  /** EVAL a script with its keys and arguments. */
  const run = (script: string, keys: string[], args: string[]): Promise<unknown> =>
    cmd.sendCommand(['EVAL', script, String(keys.length), ...keys, ...args]);

  const parse = (entries: Entry[]): ChatMsg[] => entries.map(([, f]) => JSON.parse(f[1] as string) as ChatMsg);

  return {
    instance,
    maxRooms,
    openRoom: async (room) =>
      (await run(OPEN, [roomsKey, lastKey, forgottenKey], [room, roomIdleMs, String(maxRooms), `${prefix}log:`])) === 1,
    onEvent: (h) => {
      handlers.push(h);
    },
    publish: async (e) => {
      await cmd.publish(roomsChannel, JSON.stringify(e));
    },
    post: async (draft, dedupe) => {
      const tail = JSON.stringify(draft);
      const seen = dedupe === undefined ? `${prefix}seen:` : seenKey(dedupe);
      const keys = [`${prefix}seq`, `${prefix}log:${draft.room}`, seen, roomsKey, lastKey, forgottenKey];
      const id = (await run(POST, keys, [
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
      // no room: a key no room can have (room names are 1-32 characters)
      const keys = [`${prefix}seq`, `${prefix}log:${room ?? ''}`, lastKey, forgottenKey];
      const after = afterId === null ? '' : String(Math.max(0, Math.floor(afterId)));
      const [newest, floor, entries] = (await run(REPLAY, keys, [after, room ?? ''])) as [number, number, Entry[]];
      return { lines: room === undefined ? [] : parse(entries), floor, newest };
    },
    firstSeen: async (d) => (await run(SEEN, [seenKey(d)], [d.id, String(SEEN_PER_SESSION), String(SESSION_MS)])) === 1,
    setPresence: presence.set,
    remoteMembers: presence.remote,
    secret: async () => {
      await cmd.set(`${prefix}secret`, randomBytes(32).toString('base64url'), { condition: 'NX' });
      return (await cmd.get(`${prefix}secret`)) as string;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      handlers.length = 0;
      await presence.close();
      await Promise.all([sub.close(), cmd.close()]).catch(() => {});
    },
  };
}
