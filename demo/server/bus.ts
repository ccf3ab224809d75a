/**
 * The bus joins server instances: room broadcasts, the per-room chat log (history and the
 * replay log of `resume`), shared dedupe of client message ids, presence and the token key.
 * Two implementations of this one interface: {@link memoryBus} (one process, the default) and
 * `redisBus` (a cluster). The rest of the server never knows which one it talks to.
 */
import { randomBytes } from 'node:crypto';
import type { ChatMsg, ServerMsg } from '../protocol';
import { DEFAULT_LIMITS } from './limits';
import { LOG_SIZE } from './types';

/** A message for every member of a room, on every instance. */
export interface RoomEvent {
  room: string;
  msg: ServerMsg;
  /** `instance/connId` of a member that must not get it (the sender of a rename). */
  except?: string;
}

/** What {@link Bus.replay} reads. */
export interface Replay {
  lines: ChatMsg[];
  floor: number;
  newest: number;
}

/** A client message id and whose it is: ids are deduplicated per user, then per client session. */
export interface Dedupe {
  /** The authenticated user (never the display name). */
  user: string;
  id: string;
}

/** A chat line before the log gives it its id. */
export type ChatDraft = Omit<ChatMsg, 'id' | 'type' | 'replay'>;

/** What instances share. */
export interface Bus {
  /** This instance's name, unique in the cluster. */
  readonly instance: string;
  /** Rooms at most (cluster-wide): see {@link RoomLimits}. */
  readonly maxRooms: number;
  /** Every room event, from every instance (this one included), chat in id order. */
  onEvent(handler: (e: RoomEvent) => void): void;
  /**
   * A `join` opens (or touches) a room: false when the room is new and there are `maxRooms`
   * already (cluster-wide). A room with no join and no line for `roomIdleMs` is forgotten, its
   * log with it (a resume from before reports a gap).
   */
  openRoom(room: string): Promise<boolean>;
  /** Send a room event to every instance. */
  publish(e: RoomEvent): Promise<void>;
  /**
   * Append a chat line to its room's log, giving it the next id, and publish it — one atomic
   * step, so ids and delivery order agree on every instance. With `dedupeId`, a line whose id
   * was appended before (by the same user) is dropped: the result is `undefined`.
   */
  post(draft: ChatDraft, dedupe?: Dedupe): Promise<ChatMsg | undefined>;
  /** The room's last `last` lines, oldest first (the history a `join` shows). */
  history(room: string, last: number): Promise<ChatMsg[]>;
  /**
   * One atomic read for a `resume`: the room's lines after `afterId` (or after `floor`, when
   * that is higher), `floor` — the newest id trimmed from the room's log (0: none) — and
   * `newest`, the newest id given to any line so far. No room, or `afterId` null: no lines.
   */
  replay(room: string | undefined, afterId: number | null): Promise<Replay>;
  /**
   * True the first time a user's client message id is seen (cluster-wide), false for a repeat.
   * The last {@link SEEN_PER_SESSION} ids of each client session (what precedes an id's last
   * `.`) of each user are remembered: another user's ids never collide with them.
   */
  firstSeen(d: Dedupe): Promise<boolean>;
  /** Publish this instance's room members (room → names). */
  setPresence(rooms: Record<string, string[]>): void;
  /** Names in a room (no room: in every room) on the other instances. */
  remoteMembers(room?: string): string[];
  /** The key that signs tokens, the same on every instance. */
  secret(): Promise<string>;
  close(): Promise<void>;
}

/** Ids remembered per client session: at least the client's `maxUnacked` (1000 by default). */
export const SEEN_PER_SESSION = 1000;
/** The room limits of a bus (see `limits.ts`). */
export interface RoomLimits {
  /** Rooms at most. Default `DEFAULT_LIMITS.maxRooms` (100). */
  maxRooms?: number;
  /** A room idle this long is forgotten, ms. Default `DEFAULT_LIMITS.roomIdleMs` (1 hour). */
  roomIdleMs?: number;
}

/** Sessions the in-process bus remembers (the least recently active is forgotten first). */
const SESSIONS = 10_000;

/** The session part of a client id: everything before its last `.`. */
export const sessionOf = (id: string): string => id.slice(0, Math.max(0, id.lastIndexOf('.')));

/** One user's client session, as a key: `<length of user>:<user>:<session>`, so no two pairs meet. */
export const sessionKey = (d: Dedupe): string => `${d.user.length}:${d.user}:${sessionOf(d.id)}`;

interface MemoryRoom {
  active: number;
  lines: ChatMsg[];
  /** the newest id trimmed from `lines` */
  floor: number;
}

/** The in-process bus: one instance, nothing to share, no dependency. `logSize`: lines kept per room. */
export function memoryBus(opts: { logSize?: number } & RoomLimits = {}): Bus {
  const logSize = opts.logSize ?? LOG_SIZE;
  const maxRooms = opts.maxRooms ?? DEFAULT_LIMITS.maxRooms;
  const roomIdleMs = opts.roomIdleMs ?? DEFAULT_LIMITS.roomIdleMs;
  const handlers: Array<(e: RoomEvent) => void> = [];
  /** room → its log; the Map's order is the rooms' recency */
  const rooms = new Map<string, MemoryRoom>();
  /** session → its recent ids, oldest first; the Map's order is the sessions' recency */
  const sessions = new Map<string, Set<string>>();
  const key = randomBytes(32).toString('base64url');
  let nextId = 1;
  /** newest id of any room log forgotten: a resume from before it may have a gap */
  let forgotten = 0;

  /** Forget the rooms idle for `roomIdleMs` (the least recent come first). */
  const sweep = (): void => {
    const now = Date.now();
    for (const [name, r] of rooms) {
      if (now - r.active < roomIdleMs) break;
      rooms.delete(name);
      forgotten = Math.max(forgotten, r.lines.at(-1)?.id ?? r.floor);
    }
  };
  /** The room, made the most recent (created when missing). */
  const touch = (name: string): MemoryRoom => {
    const r = rooms.get(name) ?? { active: 0, lines: [], floor: forgotten };
    rooms.delete(name);
    r.active = Date.now();
    rooms.set(name, r);
    return r;
  };
  const remember = ({ user, id }: Dedupe): boolean => {
    const session = sessionKey({ user, id });
    const ids = sessions.get(session) ?? new Set<string>();
    sessions.delete(session); // re-inserted last: the most recently active
    sessions.set(session, ids);
    if (sessions.size > SESSIONS) sessions.delete(sessions.keys().next().value as string);
    if (ids.has(id)) return false;
    ids.add(id);
    if (ids.size > SEEN_PER_SESSION) ids.delete(ids.values().next().value as string);
    return true;
  };
  const emit = (e: RoomEvent): void => {
    for (const h of handlers) h(e);
  };

  return {
    instance: 'local',
    maxRooms,
    onEvent: (h) => {
      handlers.push(h);
    },
    openRoom: async (room) => {
      sweep();
      if (!rooms.has(room) && rooms.size >= maxRooms) return false;
      touch(room);
      return true;
    },
    publish: async (e) => emit(e),
    post: async (draft, dedupe) => {
      if (dedupe !== undefined && !remember(dedupe)) return undefined;
      const msg: ChatMsg = { type: 'chat', id: nextId++, ...draft };
      sweep();
      // a member's line keeps its room (opened by the join) alive, past the cap if it was forgotten meanwhile
      const log = touch(draft.room);
      log.lines.push(msg);
      if (log.lines.length > logSize) log.floor = (log.lines.shift() as ChatMsg).id;
      emit({ room: draft.room, msg });
      return msg;
    },
    history: async (room, last) => {
      sweep();
      return rooms.get(room)?.lines.slice(-last) ?? [];
    },
    replay: async (room, afterId) => {
      sweep();
      const log = room === undefined ? undefined : rooms.get(room);
      const floor = log?.floor ?? forgotten;
      const after = Math.max(afterId ?? Number.POSITIVE_INFINITY, floor);
      return { lines: log?.lines.filter((m) => m.id > after) ?? [], floor, newest: nextId - 1 };
    },
    firstSeen: async (d) => remember(d),
    setPresence: () => {},
    remoteMembers: () => [],
    secret: async () => key,
    close: async () => {
      handlers.length = 0;
    },
  };
}
