/**
 * Rooms and presence. Members are local connections; what a room says goes through the bus,
 * so a line posted on one instance reaches every member on every instance, once, and the
 * room's log (history, resume) is the bus's. Presence (who is in a room) is shared too.
 */
import type { ChatMsg, ServerMsg } from '../protocol';
import { send, sendError, sendRaw, system } from './conn';
import { type Conn, type Ctx, HISTORY } from './types';

/** The rooms of one instance. */
export interface Rooms {
  /** Join (leaving any other room); with `replay`, the room's last lines come first. */
  join(c: Conn, room: string): Promise<void>;
  /** Leave the current room; `notifySelf` tells the connection too. */
  leave(c: Conn, notifySelf: boolean): void;
  /** Post a chat line; `undefined` when this user's `dedupeId` was handled before (anywhere). */
  post(c: Conn, text: string, dedupeId?: string): Promise<ChatMsg | undefined>;
  /**
   * The resume handshake of `resilient-ws/delivery`, on the current room's shared log:
   * `resumed` (with `gap` when lines after `lastId` were trimmed away), the lines after it,
   * then live lines — none overtakes the replay. `null`: from now.
   */
  resume(c: Conn, lastId: number | null): Promise<void>;
  /** Tell the room a member changed their name. */
  renamed(c: Conn, old: string): void;
  /** Names in the connection's room, on every instance. */
  who(c: Conn): string[];
  /** Local member count per room. */
  counts(): Record<string, number>;
}

/** Rooms on the bus; `replay` sends the last lines on `join`. */
export function rooms(ctx: Ctx, opts: { replay: boolean }): Rooms {
  const { bus, log, limits } = ctx;
  const members = new Map<string, Set<Conn>>();
  const key = (c: Conn): string => `${bus.instance}/${c.info.id}`;
  const publish = (room: string, msg: ServerMsg, except?: Conn): void => {
    bus.publish(except ? { room, msg, except: key(except) } : { room, msg }).catch((e) => log('publish:', e));
  };
  const sharePresence = (): void => {
    const snapshot: Record<string, string[]> = {};
    for (const [room, set] of members) snapshot[room] = [...set].map((m) => m.username);
    bus.setPresence(snapshot);
  };

  bus.onEvent((e) => {
    const set = members.get(e.room);
    if (set === undefined) return;
    const text = JSON.stringify(e.msg);
    const id = e.msg.type === 'chat' ? e.msg.id : undefined;
    for (const m of set) {
      if (e.except !== undefined && e.except === key(m)) continue;
      if (m.held) m.held.push({ id, text });
      else sendRaw(m, text);
    }
  });

  /**
   * Send what `read` returns, then what arrived live meanwhile (minus what was already sent):
   * while the read waits for the bus, this connection's live room messages wait in `held`.
   */
  async function readThenLive(c: Conn, read: () => Promise<{ msgs: ServerMsg[]; upTo: number }>): Promise<void> {
    const held: NonNullable<Conn['held']> = [];
    c.held = held;
    try {
      const { msgs, upTo } = await read();
      let max = upTo;
      for (const m of msgs) {
        send(c, m);
        if (m.type === 'chat') max = Math.max(max, m.id);
      }
      for (const h of held) if (h.id === undefined || h.id > max) sendRaw(c, h.text);
    } finally {
      if (c.held === held) c.held = undefined;
    }
  }

  function leave(c: Conn, notifySelf: boolean): void {
    const room = c.room;
    if (room === undefined) return;
    c.room = undefined;
    c.held = undefined;
    const set = members.get(room);
    if (set !== undefined) {
      set.delete(c);
      if (set.size === 0) members.delete(room);
      publish(room, system(`${c.username} left`, room));
    }
    sharePresence();
    if (notifySelf) send(c, system(`you left ${room}`, room));
  }

  return {
    async join(c, room) {
      if (!c.joined.has(room) && c.joined.size >= limits.roomsPerConnection)
        return sendError(c, `room limit: a connection may join at most ${limits.roomsPerConnection} rooms`);
      if (!(await bus.openRoom(room)))
        return sendError(c, `room limit: the server has its maximum of ${bus.maxRooms} rooms`);
      c.joined.add(room);
      if (c.room !== room) {
        leave(c, false);
        let set = members.get(room);
        if (set === undefined) {
          set = new Set();
          members.set(room, set);
        }
        set.add(c);
        c.room = room;
        sharePresence();
      }
      if (opts.replay)
        await readThenLive(c, async () => ({
          msgs: (await bus.history(room, HISTORY)).map((m) => ({ ...m, replay: true })),
          upTo: 0,
        }));
      publish(room, system(`${c.username} joined`, room));
    },
    leave,
    post: (c, text, dedupeId) =>
      bus.post(
        { room: c.room as string, user: c.username, text, timestamp: Date.now() },
        dedupeId === undefined ? undefined : { user: c.info.user as string, id: dedupeId },
      ),
    resume: (c, lastId) =>
      readThenLive(c, async () => {
        const room = c.room;
        if (lastId === null && opts.replay && room !== undefined) {
          // a newcomer starts just before the room's last lines: the history `join` shows, in its place
          const lines = (await bus.history(room, HISTORY)).map((m): ServerMsg => ({ ...m, replay: true }));
          const first = lines[0];
          const from = first?.type === 'chat' ? first.id - 1 : (await bus.replay(room, null)).newest;
          return { msgs: [{ type: 'resumed', lastId: from }, ...lines], upTo: from };
        }
        const { lines, floor, newest } = await bus.replay(room, lastId);
        const gap = lastId !== null && lastId < floor;
        // the resume point: the client's own, "now" for a client that has none, the floor for a gap
        const from = gap ? floor : (lastId ?? newest);
        const resumed: ServerMsg = gap
          ? { type: 'resumed', lastId: from, gap: true }
          : { type: 'resumed', lastId: from };
        return { msgs: [resumed, ...lines], upTo: from };
      }),
    renamed(c, old) {
      if (c.room === undefined) return;
      publish(c.room, system(`${old} is now ${c.username}`, c.room), c);
      sharePresence();
    },
    who(c) {
      const room = c.room;
      if (room === undefined) return [];
      return [...(members.get(room) ?? [])].map((m) => m.username).concat(bus.remoteMembers(room));
    },
    counts() {
      const out: Record<string, number> = Object.create(null) as Record<string, number>;
      for (const [name, set] of members) out[name] = set.size;
      return out;
    },
  };
}
