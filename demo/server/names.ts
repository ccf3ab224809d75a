/**
 * Display names and room names. A name is 1–`maxName` characters with no control or
 * formatting character (no NUL, newline, bidi override, zero-width mark). A display name shows
 * one connected user: nobody takes the name a connection of another user shows (by default its
 * user id), here or — through presence — in a room on another instance; names compare without
 * case, after NFKC. A user's own id, and the names of their other connections (another tab),
 * are theirs; a user who connects takes their id back from whoever used it meanwhile.
 */
import { send, system } from './conn';
import { UNSAFE_NAME_CHARS } from './limits';
import type { Rooms } from './rooms';
import type { Conn, Ctx } from './types';

/** What a name is compared by. */
const fold = (name: string): string => name.normalize('NFKC').toLowerCase();

/** A valid name (trimmed), or the error to send, naming `what`. */
export function checkName(
  value: unknown,
  what: 'username' | 'room',
  max: number,
): { name: string } | { error: string } {
  if (typeof value !== 'string') return { error: `${what} must be a string of 1-${max} characters` };
  if (UNSAFE_NAME_CHARS.test(value)) return { error: `${what} must not contain control or formatting characters` };
  const name = value.trim();
  if (name.length < 1 || name.length > max) return { error: `${what} must be 1-${max} characters` };
  return { name };
}

/** Whether `name` is free for the user of `c` (see the module comment). */
export function nameFree(ctx: Ctx, c: Conn, name: string): boolean {
  const key = fold(name);
  const own = c.info.user;
  if (own !== undefined && key === fold(own)) return true;
  for (const m of ctx.conns) if (m.authed && m.info.user !== own && fold(m.username) === key) return false;
  return !ctx.bus.remoteMembers().some((n) => fold(n) === key);
}

/** `c` just authenticated: a connection of another user showing its user id as a name goes back to its own. */
export function reclaim(ctx: Ctx, c: Conn, rooms: Rooms): void {
  const user = c.info.user as string;
  const key = fold(user);
  for (const m of ctx.conns) {
    if (m === c || !m.authed || m.info.user === user || fold(m.username) !== key) continue;
    const old = m.username;
    m.username = m.info.user as string;
    send(m, system(`${user} connected: username set to ${m.username}`));
    rooms.renamed(m, old);
  }
}
