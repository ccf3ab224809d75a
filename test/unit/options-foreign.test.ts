// Unknown options suggest by meaning too: the names other clients use (reconnecting-websocket,
// partysocket, react-use-websocket, the common hand-written client; docs/migrating.md) are
// refused with what to use here and, where the meaning differs, how.
import { describe, expect, it } from 'vitest';
import { WebSocketClient } from '../../src/index';

const message = (o: Record<string, unknown>): string => {
  try {
    new WebSocketClient({ url: 'ws://x', autoConnect: false, ...o } as never);
  } catch (e) {
    expect((e as { code?: string }).code).toBe('INVALID_OPTIONS');
    return (e as Error).message;
  }
  throw new Error('no error');
};
const refused = (name: string) => `INVALID_OPTIONS: options.${name} is not an option; `;

describe('another client’s option name', () => {
  it.each([
    // the hand-written client's four
    ['reconnectInterval', 'use reconnect.initialDelay (the first wait'],
    ['maxReconnectInterval', 'use reconnect.maxDelay'],
    ['reconnectDecay', 'use reconnect.factor'],
    ['maxReconnectAttempts', 'use reconnect.maxAttempts (Infinity, not null, for no limit)'],
    // reconnecting-websocket and partysocket
    ['maxRetries', 'use reconnect.maxAttempts'],
    ['minReconnectionDelay', 'use reconnect.initialDelay'],
    ['maxReconnectionDelay', 'use reconnect.maxDelay'],
    ['reconnectionDelayGrowFactor', 'use reconnect.factor'],
    ['minUptime', 'use reconnect.resetAfter'],
    ['connectionTimeout', 'use connectTimeout'],
    ['maxEnqueuedMessages', 'use queue.maxSize'],
    ['startClosed', 'use autoConnect: false (then connect())'],
    ['debugLogger', 'use logger'],
    // ReconnectingWebSocket.js
    ['timeoutInterval', 'use connectTimeout'],
    ['automaticOpen', 'use autoConnect'],
    // react-use-websocket
    ['reconnectAttempts', 'use reconnect.maxAttempts'],
    ['retryOnError', 'use reconnect'],
    ['onMessage', "use client.on(type, …) or client.on('*', …)"],
    ['onOpen', 'use client.onStateChange(…)'],
    ['onError', 'use client.onError(…)'],
    ['queryParams', 'use url'],
    ['share', 'use <WebSocketProvider client>'],
    // elsewhere
    ['verbose', 'use debug'],
    ['pingInterval', 'use heartbeat.interval'],
    ['headers', 'use auth'],
  ])('%s: %s', (name, advice) => {
    expect(message({ [name]: 1 })).toMatch(new RegExp(`^${esc(refused(name) + advice)}`));
  });

  it('says how, where the meaning differs', () => {
    expect(message({ reconnectInterval: 1000 })).toBe(
      `${refused('reconnectInterval')}use reconnect.initialDelay (the first wait; later ones grow by reconnect.factor, 1 for a fixed interval, up to reconnect.maxDelay)`,
    );
    expect(message({ startClosed: true })).toBe(`${refused('startClosed')}use autoConnect: false (then connect())`);
    expect(message({ headers: {} })).toMatch(/browsers send no headers with a WebSocket/);
  });

  it('inside a group too', () => {
    expect(message({ reconnect: { maxRetries: 3 } })).toBe(
      `${refused('reconnect.maxRetries')}use reconnect.maxAttempts`,
    );
    expect(message({ heartbeat: { returnMessage: 'pong' } })).toMatch(
      new RegExp(`^${esc(refused('heartbeat.returnMessage'))}use heartbeat.isPong`),
    );
  });

  it('misspelt: names the other client’s option it is near, and ours for it', () => {
    expect(message({ maxRetriez: 3 })).toBe(
      `${refused('maxRetriez')}did you mean maxRetries? Use reconnect.maxAttempts`,
    );
    expect(message({ reconectInterval: 1 })).toMatch(
      new RegExp(`^${esc(refused('reconectInterval'))}did you mean reconnectInterval\\? Use reconnect\\.initialDelay`),
    );
  });

  it('our own names, as near, come first', () => {
    // `maxAttempts` is ours (in `reconnect`), one edit away; no other client's name is as near
    expect(message({ maxAttempt: 3 })).toBe(`${refused('maxAttempt')}did you mean reconnect.maxAttempts?`);
  });

  it('still says nothing more when no name, ours or another’s, is near', () => {
    expect(message({ foo: 1 })).toBe('INVALID_OPTIONS: options.foo is not an option');
  });
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
