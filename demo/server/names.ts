/**
 * Display names and room names. A name is 1–`maxName` characters with no control or
 * formatting character (no NUL, newline, bidi override, zero-width mark). A display name is
 * held by one user at a time: nobody takes another user's id (`alice`, `guest-1a2b`) or a name
 * another user's connection holds (compared without case, NFKC), here or — through presence —
 * in a room on another instance. A user's own id, and the names of their other connections
 * (another tab), are theirs.
 */
import { UNSAFE_NAME_CHARS } from './limits';
import { isUserId } from './tokens';
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
  if (isUserId(key)) return false;
  for (const m of ctx.conns) if (m.info.user !== own && fold(m.username) === key) return false;
  return !ctx.bus.remoteMembers().some((n) => fold(n) === key);
}
