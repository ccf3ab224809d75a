// The demo's rooms on channels, in each engine (test/browser/driver.ts): the plain page (its
// `<script>` build) and the React and Vue pages' `useChannel` and `usePresence`, against the
// reference server — two pages see each other's lines and presence, and after the server drops
// every connection each line is still shown once, in order.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DemoServer, startDemoServer } from '../../demo/server';
import type { Context, TestPage } from './driver';
import { click, driverForFile, ENGINE, fill, openDemo, startProbeProxy, text, texts, waitForBadge } from './helpers';

const run = driverForFile();
let server: DemoServer;
let proxy: Awaited<ReturnType<typeof startProbeProxy>>;
let context: Context;
let pages: TestPage[] = [];

beforeEach(async () => {
  server = await startDemoServer({ port: 0, quiet: true });
  proxy = await startProbeProxy(server.url);
  context = await run.driver.newContext();
  pages = [];
});
afterEach(async () => {
  await context?.close();
  await proxy?.close();
  await server?.close();
  // An uncaught exception in a page fails the test that caused it.
  expect(pages.flatMap((p) => p.errors)).toEqual([]);
});

async function open(pathAndQuery: string): Promise<TestPage> {
  const page = await openDemo(context, proxy.url + pathAndQuery);
  pages.push(page);
  return page;
}

const lines = (page: TestPage): Promise<string[]> => texts(page, '[data-testid="channel-line"] .text');

async function say(page: TestPage, line: string): Promise<void> {
  await fill(page, '#ch-message', line);
  await click(page, '#ch-send');
}

describe(`rooms on channels (${ENGINE})`, () => {
  it.each(['/', '/react.html', '/vue.html'])(
    '%s: two pages: presence, lines both ways, after a drop each line once, in order',
    async (path) => {
      const a = await open(`${path}?rc=100,500,2,0`);
      const b = await open(`${path}?rc=100,500,2,0`);
      for (const p of [a, b]) {
        await waitForBadge(p, 'open');
        await expect.poll(() => text(p, '#ch-state'), { timeout: 10_000 }).toBe('subscribed');
      }
      // both members, on both pages (the demo token's user, twice: two pages, two members)
      for (const p of [a, b]) await expect.poll(() => text(p, '#ch-members'), { timeout: 5000 }).toBe('demo, demo');
      await say(a, 'one');
      await say(b, 'two');
      for (const p of [a, b]) await expect.poll(() => lines(p), { timeout: 5000 }).toEqual(['one', 'two']);

      // every connection dropped: both come back and re-subscribe from their position
      server.drop();
      await say(a, 'three'); // queued while down, published after the re-subscribe
      for (const p of [a, b]) {
        await expect.poll(() => text(p, '#ch-state'), { timeout: 10_000 }).toBe('subscribed');
        await expect.poll(() => lines(p), { timeout: 10_000 }).toEqual(['one', 'two', 'three']);
      }
      // a brief cut is not a leave: still two members, and no line twice
      for (const p of [a, b]) expect(await text(p, '#ch-members')).toBe('demo, demo');
      await say(b, 'four');
      for (const p of [a, b])
        await expect.poll(() => lines(p), { timeout: 5000 }).toEqual(['one', 'two', 'three', 'four']);

      // a page that closes is gone from the other's presence within the grace (5 s)
      await b.close();
      await expect.poll(() => text(a, '#ch-members'), { timeout: 9000 }).toBe('demo');
    },
    60_000,
  );
});
