// What each engine gives the SDK, as the page sees it: the primitives the modules are built on
// (docs/browser-support.md quotes this file's output), and the WebSocket behaviours that differ.
import { afterEach, expect, it } from 'vitest';
import type { Context } from './driver';
import { driverForFile, ENGINE, type PageServer, startPageServer } from './helpers';

const run = driverForFile();
let server: PageServer | undefined;
let context: Context | undefined;

afterEach(async () => {
  await context?.close();
  await server?.close();
  context = server = undefined;
});

it('has every primitive the core and the modules rely on', async () => {
  server = await startPageServer();
  context = await run.driver.newContext();
  const page = await context.newPage(server.url);
  const has = await page.evaluate(() => ({
    WebSocket: typeof WebSocket === 'function',
    queueMicrotask: typeof queueMicrotask === 'function',
    AbortController: typeof AbortController === 'function',
    'AbortSignal.timeout': typeof AbortSignal.timeout === 'function',
    'navigator.locks': typeof navigator.locks?.request === 'function',
    BroadcastChannel: typeof BroadcastChannel === 'function',
    indexedDB: typeof indexedDB?.open === 'function',
    'document.visibilityState': typeof document.visibilityState === 'string',
    onpagehide: 'onpagehide' in window,
    onfreeze: 'onfreeze' in document,
  }));
  console.info(`primitives (${run.driver.version}): ${JSON.stringify(has)}`);
  const { onfreeze, ...needed } = has;
  expect(Object.entries(needed).filter(([, ok]) => !ok)).toEqual([]);
  // the Page Lifecycle `freeze` event is Chromium's alone: elsewhere the SDK relies on pagehide
  expect(onfreeze).toBe(ENGINE === 'chromium');
});

it('close codes a server sends, as the page sees them', async () => {
  server = await startPageServer();
  context = await run.driver.newContext();
  const page = await context.newPage(server.url);
  const seen: Record<number, number> = {};
  for (const code of [1000, 1001, 1008, 1011, 1012, 1013, 1014, 4000, 4401]) {
    await page.evaluate((url) => {
      const w = window as unknown as { __code?: number };
      w.__code = undefined;
      const ws = new WebSocket(url);
      ws.onclose = (e) => {
        w.__code = e.code;
      };
    }, server.wsUrl);
    await expect.poll(() => server!.conns.length).toBeGreaterThan(Object.keys(seen).length);
    server.conns.at(-1)!.ws.close(code, 'bye');
    seen[code] = await page.waitFor(() => (window as unknown as { __code?: number }).__code);
  }
  console.info(`close codes (${run.driver.version}): ${JSON.stringify(seen)}`);
  const changed = Object.entries(seen).filter(([sent, got]) => Number(sent) !== got);
  // WebKitGTK fails a close frame whose code RFC 6455 did not list (1012–1014, registered later)
  expect(changed).toEqual(
    ENGINE === 'webkit'
      ? [
          ['1012', 1006],
          ['1013', 1006],
          ['1014', 1006],
        ]
      : [],
  );
});
