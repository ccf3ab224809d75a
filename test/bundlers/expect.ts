// What a development and a production build of the app (./app.ts) must show in the page.
import { expect } from 'vitest';
import type { Results } from './app';

export const expectDevelopment = (r: Results): void => {
  expect(r.options.misspelt).toBe(
    'INVALID_OPTIONS|INVALID_OPTIONS: options.reconect is not an option; did you mean reconnect?',
  );
  expect(r.options.negative).toBe('INVALID_OPTIONS|INVALID_OPTIONS: options.reconnect.factor must be a number >= 0');
  expect(r.options.foreign).toMatch(/^INVALID_OPTIONS\|INVALID_OPTIONS: options\.reconnectInterval is not an option; /);
  expect(r.options.foreign).toMatch(/reconnect\.initialDelay/);
  // the echo server's unanswered ping: advice at info level, not a warning
  expect(r.heartbeat).toMatch(
    /^info\|\[resilient-ws\] no pong within 300 ms: kept unchecked\. Normal for a server that does not answer pings .*set heartbeat\.message\/isPong/,
  );
};

export const expectProduction = (r: Results): void => {
  // a production build takes the options as given (only the url is checked)
  expect(r.options).toEqual({ misspelt: 'accepted', negative: 'accepted', foreign: 'accepted' });
  expect(r.heartbeat).toBe('info|[resilient-ws] no pong within 300 ms: kept unchecked');
};
