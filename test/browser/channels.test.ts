// The demo's rooms on channels, in Chromium (through the existing playwright-core helpers):
// the plain page (its `<script>` build) and the React and Vue pages' `useChannel` and
// `usePresence`, against the reference server — two pages see
// each other's lines and presence, and after the server drops every connection each line is
// still shown once, in order.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DemoServer, startDemoServer } from '../../demo/server';
import { launchChromium, openDemo, waitForBadge } from './helpers';

let browser: Browser;
let server: DemoServer;
let context: BrowserContext;
let pageErrors: Error[][] = [];

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
beforeEach(async () => {
  server = await startDemoServer({ port: 0, quiet: true });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  pageErrors = [];
});
afterEach(async () => {
  await context?.close();
  await server?.close();
  expect(pageErrors.flat().map((e) => e.message)).toEqual([]);
});

async function open(path: string): Promise<Page> {
  const demo = await openDemo(context, server.url, path);
  pageErrors.push(demo.pageErrors);
  return demo.page;
}

const lines = (page: Page) => page.$$eval('[data-testid="channel-line"] .text', (els) => els.map((e) => e.textContent));

async function say(page: Page, text: string): Promise<void> {
  await page.fill('#ch-message', text);
  await page.click('#ch-send');
}

describe('rooms on channels (Chromium)', () => {
  it.each(['/', '/react.html', '/vue.html'])(
    '%s: two pages: presence, lines both ways, after a drop each line once, in order',
    async (path) => {
      const a = await open(`${path}?rc=100,500,2,0`);
      const b = await open(`${path}?rc=100,500,2,0`);
      for (const p of [a, b]) {
        await waitForBadge(p, 'open');
        await expect.poll(() => p.textContent('#ch-state'), { timeout: 10_000 }).toBe('subscribed');
      }
      // both members, on both pages (the demo token's user, twice: two pages, two members)
      for (const p of [a, b])
        await expect.poll(() => p.textContent('#ch-members'), { timeout: 5000 }).toBe('demo, demo');
      await say(a, 'one');
      await say(b, 'two');
      for (const p of [a, b]) await expect.poll(() => lines(p), { timeout: 5000 }).toEqual(['one', 'two']);

      // every connection dropped: both come back and re-subscribe from their position
      server.drop();
      await say(a, 'three'); // queued while down, published after the re-subscribe
      for (const p of [a, b]) {
        await expect.poll(() => p.textContent('#ch-state'), { timeout: 10_000 }).toBe('subscribed');
        await expect.poll(() => lines(p), { timeout: 10_000 }).toEqual(['one', 'two', 'three']);
      }
      // a brief cut is not a leave: still two members, and no line twice
      for (const p of [a, b]) expect(await p.textContent('#ch-members')).toBe('demo, demo');
      await say(b, 'four');
      for (const p of [a, b])
        await expect.poll(() => lines(p), { timeout: 5000 }).toEqual(['one', 'two', 'three', 'four']);

      // a page that closes is gone from the other's presence within the grace (5 s)
      await b.close();
      await expect.poll(() => a.textContent('#ch-members'), { timeout: 9000 }).toBe('demo');
    },
    60_000,
  );
});
