/**
 * The bus joins server instances: room broadcasts, the per-room chat log (history and the
 * replay log of `resume`), shared dedupe of client message ids, presence and the token key.
 * Two implementations of this one interface: {@link memoryBus} (one process, the default) and
 * `redisBus` (a cluster). The rest of the server never knows which one it talks to.
 */
import { randomBytes } from 'node:crypto';
import type { ChatMsg, ServerMsg } from '../protocol';
import { LOG_SIZE } from './types';

/** A message for every member of a room, on every instance. */
export interface RoomEvent {
  room: string;
  msg: ServerMsg;
  /** `instance/connId` of a member that must not get it (the sender of a rename). */
  except?: string;
}

/** A chat line before the log gives it its id. */
export type ChatDraft = Omit<ChatMsg, 'id' | 'type' | 'replay'>;

/** What instances share. */
export interface Bus {
  /** This instance's name, unique in the cluster. */
  readonly instance: string;
  /** Every room event, from every instance (this one included), chat in id order. */
  onEvent(handler: (e: RoomEvent) => void): void;
  /** Send a room event to every instance. */
  publish(e: RoomEvent): Promise<void>;
  /**
   * Append a chat line to its room's log, giving it the next id, and publish it — one atomic
   * step, so ids and delivery order agree on every instance. With `dedupeId`, a line whose id
   * was appended before is dropped: the result is `undefined`.
   */
  post(draft: ChatDraft, dedupeId?: string): Promise<ChatMsg | undefined>;
  /** The room's log after `afterId` (oldest first), or its last `last` lines. */
  history(room: string, q: { afterId: number } | { last: number }): Promise<ChatMsg[]>;
  /** True the first time a client message id is seen (cluster-wide), false for a repeat. */
  firstSeen(id: string): Promise<boolean>;
  /** Publish this instance's room members (room → names). */
  setPresence(rooms: Record<string, string[]>): void;
  /** Names in a room on the other instances. */
  remoteMembers(room: string): string[];
  /** The key that signs tokens, the same on every instance. */
  secret(): Promise<string>;
  close(): Promise<void>;
}

/** Client ids remembered for dedupe by the in-process bus. */
const SEEN = 10_000;

/** The in-process bus: one instance, nothing to share, no dependency. */
export function memoryBus(): Bus {
  const handlers: Array<(e: RoomEvent) => void> = [];
  const logs = new Map<string, ChatMsg[]>();
  const seen = new Set<string>();
  const key = randomBytes(32).toString('base64url');
  let nextId = 1;

  const remember = (id: string): boolean => {
    if (seen.has(id)) return false;
    seen.add(id);
    if (seen.size > SEEN) seen.delete(seen.values().next().value as string);
    return true;
  };
  const emit = (e: RoomEvent): void => {
    for (const h of handlers) h(e);
  };

  return {
    instance: 'local',
    onEvent: (h) => {
      handlers.push(h);
    },
    publish: async (e) => emit(e),
    post: async (draft, dedupeId) => {
      if (dedupeId !== undefined && !remember(dedupeId)) return undefined;
      const msg: ChatMsg = { type: 'chat', id: nextId++, ...draft };
      let log = logs.get(draft.room);
      if (log === undefined) {
        if (logs.size >= 100) logs.delete(logs.keys().next().value as string);
        log = [];
        logs.set(draft.room, log);
      }
      log.push(msg);
      if (log.length > LOG_SIZE) log.shift();
      emit({ room: draft.room, msg });
      return msg;
    },
    history: async (room, q) => {
      const log = logs.get(room) ?? [];
      return 'afterId' in q ? log.filter((m) => m.id > q.afterId) : log.slice(-q.last);
    },
    firstSeen: async (id) => remember(id),
    setPresence: () => {},
    remoteMembers: () => [],
    secret: async () => key,
    close: async () => {
      handlers.length = 0;
    },
  };
}
