/**
 * Presence over Redis Pub/Sub: each instance announces its room members every second on one
 * channel; an instance silent for 3 s is forgotten, so a killed instance leaves no ghosts.
 */
const PRESENCE_EVERY_MS = 1000;
const PRESENCE_STALE_MS = 3000;

/** The two Redis connections, as far as presence uses them. */
interface Client {
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
}
type Rooms = Record<string, string[]>;

/** What presence needs: the command and subscriber connections, and a safe listener wrapper. */
export interface PresenceDeps {
  cmd: Client;
  sub: Client;
  channel: string;
  instance: string;
  listener: <T>(handle: (value: T) => void) => (text: string) => void;
}

/** Join the presence channel. */
export async function redisPresence({ cmd, sub, channel, instance, listener }: PresenceDeps) {
  const others = new Map<string, { at: number; rooms: Rooms }>();
  let mine: Rooms = {};
  let closed = false;
  await sub.subscribe(
    channel,
    listener<{ instance: string; rooms: Rooms }>((p) => {
      if (p.instance !== instance) others.set(p.instance, { at: Date.now(), rooms: p.rooms });
    }),
  );
  const announce = (): void => {
    if (closed) return;
    cmd.publish(channel, JSON.stringify({ instance, rooms: mine })).catch(() => {});
  };
  const timer = setInterval(announce, PRESENCE_EVERY_MS);
  timer.unref();
  return {
    /** Publish this instance's room members (room → names). */
    set(rooms: Rooms): void {
      mine = rooms;
      announce();
    },
    /** Names in a room (no room: in every room) on the other instances. */
    remote(room?: string): string[] {
      const now = Date.now();
      const names: string[] = [];
      for (const [name, p] of others) {
        if (now - p.at > PRESENCE_STALE_MS) others.delete(name);
        else names.push(...(room === undefined ? Object.values(p.rooms).flat() : (p.rooms[room] ?? [])));
      }
      return names;
    },
    /** Stop announcing, and tell the others at once rather than letting the entry go stale. */
    async close(): Promise<void> {
      closed = true;
      clearInterval(timer);
      await cmd.publish(channel, JSON.stringify({ instance, rooms: {} })).catch(() => {});
    },
  };
}
