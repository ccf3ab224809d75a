/**
 * Auth tokens: the fixed demo tokens, and short-lived ones from `GET /token` that carry their
 * user and expiry, signed with HMAC-SHA256. Any instance holding the key verifies a token
 * another issued — nothing per token is stored anywhere.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TokenResponse } from '../protocol';

/** Fixed demo tokens → user name. A `Map`, so a token like `__proto__` is just a string. */
export const DEMO_TOKENS: ReadonlyMap<string, string> = new Map([
  ['demo-token', 'demo'],
  ['alice', 'alice'],
  ['bob', 'bob'],
]);

/** What a token check finds. */
export type TokenCheck = { ok: true; user: string; expiresAt?: number } | { ok: false; reason: string };

const INVALID: TokenCheck = { ok: false, reason: 'invalid token' };

/** Issue and verify tokens signed with `key`. */
export function tokens(key: string): { issue(ttlSeconds: number): TokenResponse; check(token: string): TokenCheck } {
  const sign = (body: string): Buffer => createHmac('sha256', key).update(body).digest();
  return {
    issue(ttlSeconds) {
      const user = `guest-${randomBytes(2).toString('hex')}`;
      const expiresAt = Date.now() + Math.round(ttlSeconds * 1000);
      const body = Buffer.from(JSON.stringify({ u: user, e: expiresAt })).toString('base64url');
      return { token: `tmp_${body}.${sign(body).toString('base64url')}`, expiresAt, user };
    },
    check(token) {
      const fixed = DEMO_TOKENS.get(token);
      if (fixed !== undefined) return { ok: true, user: fixed };
      const [body, sig, extra] = token.startsWith('tmp_') ? token.slice(4).split('.') : [];
      if (body === undefined || sig === undefined || extra !== undefined) return INVALID;
      // One exact string: the signature's canonical base64url, compared in constant time —
      // padding, `+/`, junk or other unused bits (which decode to the same bytes) do not match.
      const given = Buffer.from(sig);
      const want = Buffer.from(sign(body).toString('base64url'));
      if (given.length !== want.length || !timingSafeEqual(given, want)) return INVALID;
      const { u, e } = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { u: string; e: number };
      if (e <= Date.now()) return { ok: false, reason: 'token expired' };
      return { ok: true, user: u, expiresAt: e };
    },
  };
}
