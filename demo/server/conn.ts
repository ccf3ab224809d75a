/**
 * One connection: sending to it, closing it (a peer that never answers the close frame is
 * destroyed after 2 s), and its rate limit (a token bucket).
 */
import { WebSocket } from 'ws';
import type { ServerMsg } from '../protocol';
import type { Conn } from './types';

/** Send a message, unless the connection is stalled, closing or gone. */
export function send(c: Conn, msg: ServerMsg): void {
  sendRaw(c, JSON.stringify(msg));
}

/**
 * Send a frame already serialised (one `JSON.stringify` for a whole room). A peer that does
 * not read lets unsent bytes pile up in the server's memory: past `maxBuffered` the socket is
 * destroyed (a close frame would wait behind the backlog it never reads).
 */
export function sendRaw(c: Conn, text: string): void {
  if (c.stalled || c.closing || c.ws.readyState !== WebSocket.OPEN) return;
  c.ws.send(text);
  if (c.ws.bufferedAmount > c.maxBuffered) {
    c.closing = true;
    clearTimeout(c.authTimer);
    c.ws.terminate();
  }
}

/** `{type:'error', message}`; the connection stays open. */
export function sendError(c: Conn, message: string): void {
  send(c, { type: 'error', message });
}

/** A `system` message, for a room or for one connection. */
export function system(text: string, room?: string): ServerMsg {
  return room === undefined
    ? { type: 'system', text, timestamp: Date.now() }
    : { type: 'system', text, room, timestamp: Date.now() };
}

/** Close with a code; a peer that never answers the close frame is destroyed after 2 s. */
export function closeConn(c: Conn, code: number, reason: string): void {
  if (c.closing) return;
  c.closing = true;
  clearTimeout(c.authTimer);
  if (c.stalled) {
    c.ws.terminate();
    return;
  }
  try {
    c.ws.close(code, reason);
  } catch {
    c.ws.terminate();
    return;
  }
  c.killTimer = setTimeout(() => c.ws.terminate(), 2000);
  c.killTimer.unref();
}

/**
 * Token bucket of `rate` messages per second (also the burst). Returns false when the message
 * must be dropped: the first drop in a second answers `rate limit`, more than 2 × `rate`
 * drops within a second close the connection with 1008.
 */
export function takeToken(c: Conn, rate: number, log: (...args: unknown[]) => void): boolean {
  const now = Date.now();
  c.bucket = Math.min(rate, c.bucket + ((now - c.refilledAt) / 1000) * rate);
  c.refilledAt = now;
  if (c.bucket >= 1) {
    c.bucket -= 1;
    return true;
  }
  if (now - c.dropWindowStart > 1000) {
    c.dropWindowStart = now;
    c.droppedInWindow = 0;
  }
  c.droppedInWindow++;
  if (c.droppedInWindow > rate * 2) {
    log(`#${c.info.id} far over the rate limit, closing`);
    closeConn(c, 1008, 'rate limit exceeded');
  } else if (c.droppedInWindow === 1) {
    sendError(c, 'rate limit');
  }
  return false;
}
