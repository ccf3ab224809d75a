// The Vue page (`resilient-ws/vue`, built package) in each engine against the demo server: one
// socket, the state badge following a drop, the reconnect, the room re-joined from the open
// listener and shown in the page, and what was typed during the outage delivered.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DemoServer, startDemoServer } from '../../demo/server';
import type { Context, TestPage } from './driver';
import {
  click,
  clientState,
  driverForFile,
  fill,
  framesOfType,
  mark,
  openDemo,
  pressEnter,
  startProbeProxy,
  text,
  texts,
  waitForBadge,
  waitForState,
} from './helpers';

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
  // Vue's own warnings (development build), as the probe saw them: a misuse of a composable shows up here
  const warnings = (
    await Promise.all(pages.map((p) => p.evaluate(() => window.__probe?.warnings ?? []).catch(() => [])))
  ).flat();
  await context?.close();
  await proxy?.close();
  await server?.close();
  expect(pages.flatMap((p) => p.errors)).toEqual([]);
  expect(warnings.filter((w) => w.includes('[Vue warn]'))).toEqual([]);
});

async function open(pathAndQuery: string): Promise<TestPage> {
  const page = await openDemo(context, proxy.url + pathAndQuery);
  pages.push(page);
  return page;
}

/** The texts of the page's system lines in the chat log. */
const systemLines = (page: TestPage): Promise<string[]> => texts(page, '[data-testid="chat-line"].system .text');

describe('Vue page', () => {
  it('drop → reconnect → re-join shown in the page, one socket at a time, outage messages delivered', async () => {
    // 1 s before the first retry (jitter 0), so the message is typed while reconnecting.
    const page = await open('/vue.html?rc=1000,4000,2,0');
    await waitForBadge(page, 'open');
    expect(await text(page, 'h1')).toContain('Vue page');
    expect(await page.evaluate(() => window.__probe?.sockets)).toBe(1);

    await fill(page, '#username', 'Vera');
    await click(page, '#set-username');
    await expect.poll(() => systemLines(page), { timeout: 5000 }).toContain('username set to Vera');
    await fill(page, '#room', 'vue-room');
    await click(page, '#join');
    await expect.poll(() => systemLines(page), { timeout: 5000 }).toContain('Vera joined');
    await expect.poll(() => server.stats().rooms['vue-room'] ?? 0).toBe(1);
    expect(await text(page, '#current-room')).toBe('vue-room');
    const joinedBefore = (await systemLines(page)).filter((t) => t === 'Vera joined').length;

    // Badge history, from the DOM itself.
    await page.evaluate(() => {
      const badge = document.getElementById('state');
      if (badge === null) throw new Error('#state missing');
      const seen: string[] = [badge.dataset.state ?? ''];
      (window as { __badge?: string[] }).__badge = seen;
      new MutationObserver(() => {
        const s = badge.dataset.state ?? '';
        if (seen[seen.length - 1] !== s) seen.push(s);
      }).observe(badge, { attributes: true, attributeFilter: ['data-state'] });
    });
    const from = await mark(page);
    const firstConn = Math.max(...server.received.map((f) => f.conn));

    expect(server.drop()).toBe(1);
    const down = await waitForState(page, 'reconnecting', from);
    expect(down.code).toBe(1006);
    await page.waitFor(() => (window as { __badge?: string[] }).__badge?.includes('reconnecting'));
    // typed into the page's form during the outage: queued, and the page shows the count
    await fill(page, '#message', 'typed while down');
    await pressEnter(page, '#message');
    expect(await clientState(page)).toBe('reconnecting');
    expect(await page.evaluate(() => window.demo?.client.queued)).toBe(1);
    await expect.poll(() => text(page, '#queued')).toBe('1'); // the page redraws the count on a 200 ms tick

    await waitForState(page, 'open', from, 5000);
    await waitForBadge(page, 'open', 5000);
    // The page re-applied its name and room on the new connection, and shows the re-join.
    await expect
      .poll(async () => (await systemLines(page)).filter((t) => t === 'Vera joined').length, { timeout: 5000 })
      .toBe(joinedBefore + 1);
    await expect.poll(() => server.stats().rooms['vue-room'] ?? 0).toBe(1);
    const [join] = framesOfType(server.received, 'join').filter((f) => f.conn > firstConn);
    const [name] = framesOfType(server.received, 'set_username').filter((f) => f.conn > firstConn);
    expect(join?.msg).toEqual({ type: 'join', room: 'vue-room' });
    expect(name?.msg).toEqual({ type: 'set_username', username: 'Vera' });
    // The queued message went after the re-join, so the room echoed it back to the page.
    await expect
      .poll(() => texts(page, '[data-testid="chat-line"] .text'), {
        timeout: 5000,
      })
      .toContain('typed while down');
    const sent = framesOfType(server.received, 'message');
    expect(sent.map((f) => f.msg.text)).toEqual(['typed while down']);
    expect(sent[0]?.conn).toBe(join?.conn);

    const badge = await page.evaluate(() => (window as { __badge?: string[] }).__badge);
    expect(badge?.[0]).toBe('open');
    expect(badge?.at(-1)).toBe('open');
    expect(badge?.slice(1, -1)).toContain('reconnecting');
    await expect.poll(() => text(page, '#queued')).toBe('0');
    // One reconnect, one socket at a time.
    expect(server.stats()).toMatchObject({ connections: 1, totalConnections: 2 });
    expect(await page.evaluate(() => window.__probe?.sockets)).toBe(2);
    expect(await page.evaluate(() => window.__probe?.clients)).toBe(1);
  });
});
