// The built SDK in each engine (test/browser/driver.ts) against the demo server: the `<script>`
// build on the plain page, the React page under StrictMode, and recovery from drop / stall /
// restart / offline / hidden tab.
//
// One browser for the file; a fresh demo server (port 0, so its stats start at zero), a probe
// proxy in front of it (it puts the probe into every page, see helpers.ts) and a fresh browser
// context per test. The pages take short liveness timings from query parameters
// (`?hb=interval,timeout&rc=initialDelay,maxDelay,factor,jitter`, see demo/pages/shared.ts);
// jitter 0 makes the delays exact. The global setup builds the pages.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DemoServer, startDemoServer } from '../../demo/server';
import type { Context, TestPage } from './driver';
import {
  click,
  clientState,
  driverForFile,
  ENGINE,
  fill,
  framesOfType,
  mark,
  openDemo,
  pressEnter,
  setOnline,
  setVisibility,
  startProbeProxy,
  text,
  texts,
  waitForBadge,
  waitForState,
} from './helpers';

type AnyMsg = { type: string; [key: string]: unknown };

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const screenshotDir = path.join(repo, 'test-results/screenshots');

const run = driverForFile();
let server: DemoServer;
let proxy: Awaited<ReturnType<typeof startProbeProxy>>;
let context: Context;
/** Every page of the current test (their uncaught exceptions are checked after it). */
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

/** Open a page of the demo server with the probe installed; page errors are checked after the test. */
async function open(pathAndQuery: string): Promise<TestPage> {
  const page = await openDemo(context, proxy.url + pathAndQuery);
  pages.push(page);
  return page;
}

/** Send an echo through the page's client and wait for it to come back (a fence: all sent before it has arrived). */
async function echoRoundTrip(page: TestPage, tag: string): Promise<void> {
  await page.evaluate(
    (t) =>
      new Promise<void>((resolve, reject) => {
        const client = window.demo?.client;
        if (client === undefined) return reject(new Error('no window.demo.client'));
        const off = client.on('echo', (m) => {
          if (m.tag !== t) return;
          off();
          resolve();
        });
        client.send({ type: 'echo', tag: t });
      }),
    tag,
  );
}

/** Wait until the server has `n` members in `room`. */
async function roomHas(room: string, n: number): Promise<void> {
  await expect.poll(() => server.stats().rooms[room] ?? 0, { timeout: 5000, interval: 20 }).toBe(n);
}

/** Set the page's name and wait for the server's confirmation, shown in the page. */
async function setUsername(page: TestPage, name: string): Promise<void> {
  await fill(page, '#username', name);
  await click(page, '#set-username');
  const shown = `username set to ${name}`;
  await page
    .waitFor(
      (t) => [...document.querySelectorAll('[data-testid="chat-line"] .text')].some((e) => e.textContent === t),
      shown,
      { timeout: 5000 },
    )
    .catch(async (e) => {
      const lines = await page.evaluate(() =>
        [...document.querySelectorAll('[data-testid="chat-line"]')].map((li) => li.textContent),
      );
      throw new Error(
        `"${shown}" not shown: ${e}\nchat: ${JSON.stringify(lines)}\nlog: ${JSON.stringify(await eventLog(page))}`,
      );
    });
}

async function sendChat(page: TestPage, line: string): Promise<void> {
  await fill(page, '#message', line);
  await pressEnter(page, '#message');
}

/** Wait until the page shows a chat line whose text is exactly `line`; returns its author. */
function chatLineShown(page: TestPage, line: string): Promise<string> {
  return page.waitFor(
    (t) => {
      for (const li of document.querySelectorAll('[data-testid="chat-line"]')) {
        if (li.querySelector('.text')?.textContent === t) return li.querySelector('.who')?.textContent ?? '';
      }
      return false;
    },
    line,
    { timeout: 5000 },
  ) as Promise<string>;
}

/** The page's event log, oldest first, as [kind, text] (the time stripped). */
function eventLog(page: TestPage): Promise<[string, string][]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('#event-log li')]
      .reverse()
      .map((li): [string, string] => [li.dataset.kind ?? '', li.lastChild?.textContent ?? '']),
  );
}

/** Records the state badge's history in the page (`window.__badge`), from the DOM itself. */
function watchBadge(page: TestPage): Promise<void> {
  return page.evaluate(() => {
    const badge = document.getElementById('state');
    if (badge === null) throw new Error('#state missing');
    const seen: string[] = [badge.dataset.state ?? ''];
    (window as { __badge?: string[] }).__badge = seen;
    new MutationObserver(() => {
      const s = badge.dataset.state ?? '';
      if (seen[seen.length - 1] !== s) seen.push(s);
    }).observe(badge, { attributes: true, attributeFilter: ['data-state'] });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Drop the connection and check the attempt is shown while reconnecting, and not once open again. */
async function attemptShownWhileReconnecting(page: TestPage): Promise<void> {
  await waitForBadge(page, 'open');
  expect(await text(page, '#attempt')).toBe('–');
  const from = await mark(page);
  expect(server.drop()).toBe(1);
  await waitForState(page, 'reconnecting', from);
  await expect.poll(() => text(page, '#attempt'), { timeout: 2000, interval: 20 }).toBe('1');
  await waitForState(page, 'open', from, 5000);
  await waitForBadge(page, 'open');
  // the client still counts the attempt (it resets after `reconnect.resetAfter` of uptime) …
  expect(await page.evaluate(() => window.demo?.client.attempt)).toBe(1);
  // … but an open connection shows none
  await expect.poll(() => text(page, '#attempt'), { timeout: 2000, interval: 20 }).toBe('–');
}

/**
 * Offline, then online again (`cut`/`restore`: how the page is taken off the network): no
 * attempt while offline, and the client reconnects at once when the network is back.
 */
async function offlineThenOnline(
  cut: (page: TestPage) => Promise<void>,
  restore: (page: TestPage) => Promise<void>,
): Promise<void> {
  const delay = 1500; // the first retry would come after 1.5 s (jitter 0)
  const page = await open(`/?rc=${delay},8000,2,0`);
  await waitForBadge(page, 'open');
  const from = await mark(page);
  const socketsBefore = await page.evaluate(() => window.__probe?.sockets);

  await cut(page);
  await page.waitFor(() => navigator.onLine === false);
  const total = server.stats().totalConnections;
  expect(server.drop()).toBe(1);
  const down = await waitForState(page, 'reconnecting', from);
  expect(down.delay).toBeUndefined(); // no countdown: it waits for the network

  // Absence over time needs time: twice the retry delay, nothing may try.
  await sleep(2 * delay);
  expect(await clientState(page)).toBe('reconnecting');
  expect(await page.evaluate(() => document.getElementById('state')?.dataset.state)).toBe('reconnecting');
  expect(server.stats().totalConnections).toBe(total);
  expect(await page.evaluate(() => window.__probe?.sockets)).toBe(socketsBefore);

  await page.evaluate(() => {
    window.addEventListener('online', () => {
      (window as { __onlineAt?: number }).__onlineAt = Date.now();
    });
  });
  await restore(page);
  const back = await waitForState(page, 'open', from, 5000);
  const onlineAt = await page.evaluate(() => (window as { __onlineAt?: number }).__onlineAt);
  expect(onlineAt).toBeTypeOf('number');
  const ms = back.at - (onlineAt ?? Number.NaN);
  console.info(`online event → open in ${ms} ms (backoff delay ${delay} ms)`);
  expect(ms).toBeLessThan(delay / 2);
  expect(server.stats().totalConnections).toBe(total + 1);
}

describe('plain page (<script> build)', () => {
  it('loads the <script> build: ResilientWS.WebSocketClient is a function and clients reach open', async () => {
    const page = await open('/');
    expect(
      await page.evaluate(() =>
        typeof ResilientWS === 'undefined' ? 'no global' : typeof ResilientWS.WebSocketClient,
      ),
    ).toBe('function');

    // The page's own client.
    await waitForBadge(page, 'open');
    expect(await clientState(page)).toBe('open');

    // And one created here from the global, against the demo server: auth first, then an echo.
    const echoed = await page.evaluate(async () => {
      const client = new ResilientWS.WebSocketClient<AnyMsg, AnyMsg>({
        url: `ws://${location.host}/ws`,
        auth: { message: { type: 'auth', token: 'demo-token' }, isAck: (m) => m.type === 'auth_ok' },
      });
      try {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`still ${client.state}`)), 5000);
          client.onStateChange((s) => {
            if (s === 'open') {
              clearTimeout(t);
              resolve();
            }
          });
        });
        const reply = new Promise<unknown>((resolve) => client.once('echo', resolve));
        client.send({ type: 'echo', n: 42 });
        return await reply;
      } finally {
        client.dispose();
      }
    });
    expect(echoed).toEqual({ type: 'echo', n: 42 });
    expect(server.stats().totalConnections).toBe(2);
  });

  it('chat: two pages in room lobby see each other, and user text is shown as text, never HTML', async () => {
    const a = await open('/');
    const b = await open('/');
    await waitForBadge(a, 'open');
    await waitForBadge(b, 'open');
    // Names no fixed-token user has (the server refuses a display name another connected user
    // shows, without case, and a page of another test may still be connected as `alice` or `bob`).
    await setUsername(a, 'Ann');
    await setUsername(b, 'Ben');
    for (const p of [a, b]) {
      await fill(p, '#room', 'lobby');
      await click(p, '#join');
    }
    await roomHas('lobby', 2);
    await expect.poll(() => text(b, '#current-room')).toBe('lobby');

    await sendChat(a, 'hello from A');
    expect(await chatLineShown(b, 'hello from A')).toBe('Ann');

    const html = '<img src=x onerror="window.__xss=1"><b>bold</b>';
    await sendChat(a, html);
    expect(await chatLineShown(b, html)).toBe('Ann');
    expect(await chatLineShown(a, html)).toBe('Ann');
    for (const p of [a, b]) {
      expect(await p.evaluate(() => document.querySelectorAll('#chat-log img, #chat-log b').length)).toBe(0);
      expect(await p.evaluate(() => (window as { __xss?: unknown }).__xss)).toBeUndefined();
    }
  });

  it('drop: reconnects, and messages sent during the outage arrive once each, in order, after it', async () => {
    // 1 s before the first retry (jitter 0), so the five messages are typed while reconnecting.
    const page = await open('/?rc=1000,4000,2,0');
    await waitForBadge(page, 'open');
    await roomHas('lobby', 1);
    const from = await mark(page);
    const firstConn = Math.max(...server.received.map((f) => f.conn));

    expect(server.drop()).toBe(1);
    const down = await waitForState(page, 'reconnecting', from);
    expect(down.code).toBe(1006);

    const lines = [1, 2, 3, 4, 5].map((n) => `outage message ${n}`);
    // Typed into the page's message form and submitted, in one go (no round trip per message,
    // so all five land inside the outage even on a loaded machine).
    await page.evaluate((lines) => {
      const input = document.getElementById('message') as HTMLInputElement;
      const form = document.getElementById('message-form') as HTMLFormElement;
      for (const line of lines) {
        input.value = line;
        form.requestSubmit();
      }
    }, lines);
    // All five wait in the client's queue (the page shows the count), none went anywhere yet.
    expect(await clientState(page)).toBe('reconnecting');
    expect(await page.evaluate(() => window.demo?.client.queued)).toBe(5);
    expect(await text(page, '#queued')).toBe('5');

    await waitForState(page, 'open', from);
    await expect
      .poll(() => framesOfType(server.received, 'message').length, { timeout: 5000, interval: 20 })
      .toBeGreaterThanOrEqual(5);
    // A fence: once this echo is back, anything sent before it has reached the server.
    await echoRoundTrip(page, 'fence');

    const sent = framesOfType(server.received, 'message');
    expect(sent.map((f) => f.msg.text)).toEqual(lines);
    expect(sent.every((f) => f.conn > firstConn)).toBe(true); // on the new connection
    // The re-join (from the open listener) went before the queue, so the room echoed them back.
    for (const t of lines) await chatLineShown(page, t);
    const shown = await texts(page, '[data-testid="chat-line"] .text');
    expect(shown.filter((t) => t.startsWith('outage message'))).toEqual(lines);
    expect(await page.evaluate(() => window.demo?.client.queued)).toBe(0);
  });

  it('stall: the heartbeat notices a half-open connection within interval + timeout and reconnects', async () => {
    const interval = 500;
    const timeout = 500;
    const retry = 100;
    const page = await open(`/?hb=${interval},${timeout}&rc=${retry},2000,2,0`);
    await waitForBadge(page, 'open');
    // At least one ping answered, so the heartbeat is running.
    await page.waitFor(() => window.demo?.client.latency !== undefined, undefined, { timeout: 5000 });
    const from = await mark(page);

    const t0 = Date.now();
    expect(server.stall()).toBe(1);
    const dead = await waitForState(page, 'reconnecting', from, 5000);
    const back = await waitForState(page, 'open', from, 5000);

    expect(dead.reason).toBe('HEARTBEAT_TIMEOUT');
    const detectedMs = dead.at - t0;
    const reopenedMs = back.at - t0;
    console.info(
      `stall → heartbeat timeout ${detectedMs} ms, → open ${reopenedMs} ms (bound ${interval + timeout} ms + retry ${retry} ms)`,
    );
    expect(detectedMs).toBeLessThanOrEqual(interval + timeout + 500);
    expect(reopenedMs).toBeLessThanOrEqual(interval + timeout + retry + 900);
    // The stalled socket is still there (no close told the client anything), beside the new one.
    expect(server.stats()).toMatchObject({ connections: 2, stalled: 1, totalConnections: 2 });
  });

  it('restart: back to open after the server is down for 1 s, without a page reload', async () => {
    const page = await open('/?rc=200,1000,2,0');
    await waitForBadge(page, 'open');
    const before = await page.evaluate(() => {
      (window as { __marker?: string }).__marker = 'still the same page';
      return performance.timeOrigin;
    });
    const from = await mark(page);

    const up = server.restart(1000);
    const down = await waitForState(page, 'reconnecting', from);
    // WebKitGTK fails a close frame with 1012–1014 (codes registered after RFC 6455) as a
    // protocol error: the page sees 1006 (see engines.test.ts); the client reconnects all the same
    expect(down.code).toBe(ENGINE === 'webkit' ? 1006 : 1012);
    await up;
    const upAt = Date.now();
    const back = await waitForState(page, 'open', from, 5000);
    await waitForBadge(page, 'open');

    expect(back.at).toBeGreaterThanOrEqual(upAt - 50); // not before the server was back
    expect(back.at - upAt).toBeLessThan(1000 + 700); // at most one maxDelay (1 s) later
    const after = await page.evaluate(() => ({
      marker: (window as { __marker?: string }).__marker,
      timeOrigin: performance.timeOrigin,
    }));
    expect(after).toEqual({ marker: 'still the same page', timeOrigin: before });
    expect(server.stats()).toMatchObject({ down: false, connections: 1, authenticated: 1 });
  });

  if (ENGINE === 'chromium')
    it('offline (Chromium only: CDP offline emulation): no attempts while offline, then reconnects at once when the network is back', async () => {
      await offlineThenOnline(
        (page) => page.chromium!.context().setOffline(true),
        (page) => page.chromium!.context().setOffline(false),
      );
    });

  it('offline as the page sees it (navigator.onLine, offline/online events): no attempts while offline, then reconnects at once when back', async () => {
    await offlineThenOnline(
      async (page) => void (await setOnline(page, false)),
      async (page) => void (await setOnline(page, true)),
    );
  });

  it('hidden tab: the reconnect delay is stretched, and showing the tab reconnects at once', async () => {
    const delay = 500; // first retry after 0.5 s when visible (jitter 0)
    const page = await open(`/?rc=${delay},8000,2,0`);
    await waitForBadge(page, 'open');
    await setVisibility(page, true);
    const from = await mark(page);
    const sockets = await page.evaluate(() => window.__probe?.sockets);
    expect(server.drop()).toBe(1);
    const down = await waitForState(page, 'reconnecting', from);
    const stretched = down.delay ?? 0;
    console.info(`hidden: reconnect delay ${stretched} ms (visible: ${delay} ms)`);
    expect(stretched).toBeGreaterThanOrEqual(2 * delay);
    // The page's countdown shows the stretched wait too.
    const countdown = await text(page, '#countdown');
    expect(countdown).toMatch(/^in \d+\.\d s$/);
    expect(Number.parseFloat((countdown ?? '').slice(3))).toBeGreaterThan(delay / 1000);

    expect(await clientState(page)).toBe('reconnecting'); // still waiting when the tab is shown
    expect(await page.evaluate(() => window.__probe?.sockets)).toBe(sockets);
    const shownAt = await setVisibility(page, false);
    const back = await waitForState(page, 'open', from, 5000);
    const ms = back.at - shownAt;
    console.info(`visible → open in ${ms} ms (the stretched wait had ${stretched - (shownAt - down.at)} ms left)`);
    expect(ms).toBeLessThan(delay);
    expect(back.at - down.at).toBeLessThan(stretched);
  });

  it('shows the reconnect attempt only while reconnecting, not while open', async () => {
    await attemptShownWhileReconnecting(await open('/?rc=1000,4000,2,0'));
  });
});

describe('React page (StrictMode)', () => {
  it('opens exactly one socket, and the state badge follows the connection', async () => {
    const page = await open('/react.html?rc=200,1000,2,0');
    await waitForBadge(page, 'open');
    // Settled: a round trip on the open socket; a second socket from the double mount would
    // have been created before the first one even opened.
    await echoRoundTrip(page, 'settle');
    expect(server.stats()).toMatchObject({ connections: 1, authenticated: 1, totalConnections: 1 });
    // StrictMode's mount → unmount → mount may make a client and dispose it before its socket
    // exists (see useWebSocket): the page may see two client objects, but only one socket.
    expect(await page.evaluate(() => window.__probe?.sockets)).toBe(1);

    await watchBadge(page);
    expect(server.drop()).toBe(1);
    await page.waitFor(() => (window as { __badge?: string[] }).__badge?.includes('reconnecting'));
    await waitForBadge(page, 'open', 5000);
    const badge = await page.evaluate(() => (window as { __badge?: string[] }).__badge);
    expect(badge?.[0]).toBe('open');
    expect(badge?.at(-1)).toBe('open');
    expect(badge?.slice(1, -1)).toContain('reconnecting');
    expect(await text(page, '#state')).toBe('open');
    // One reconnect, one socket.
    expect(server.stats()).toMatchObject({ connections: 1, totalConnections: 2 });
    expect(await page.evaluate(() => window.__probe?.sockets)).toBe(2);
  });

  it('logs the page’s client from its first state on; StrictMode’s discarded client is explained, not logged', async () => {
    const page = await open('/react.html');
    await waitForBadge(page, 'open');
    await expect
      .poll(async () => (await eventLog(page)).filter(([k]) => k === 'state').map(([, t]) => t), {
        timeout: 5000,
        interval: 20,
      })
      .toEqual(['connecting', 'authenticating', 'open']);
    const log = await eventLog(page);
    expect(log.filter(([, t]) => t.startsWith('closed'))).toEqual([]);
    expect(log).toContainEqual([
      'info',
      'StrictMode mounted twice: the first client was disposed before it opened a socket',
    ]);
  });

  it('shows the reconnect attempt only while reconnecting, not while open', async () => {
    await attemptShownWhileReconnecting(await open('/react.html?rc=1000,4000,2,0'));
  });
});

describe('screenshots', () => {
  for (const [name, pagePath] of [
    ['plain', '/'],
    ['react', '/react.html'],
  ] as const) {
    it(`${name} page, connected, after a chat message → test-results/screenshots/${name}-${ENGINE}.png`, async () => {
      const page = await open(pagePath);
      await waitForBadge(page, 'open');
      await roomHas('lobby', 1);
      await setUsername(page, 'Screenshot');
      const text = `hello from the ${name} page`;
      await sendChat(page, text);
      expect(await chatLineShown(page, text)).toBe('Screenshot');
      await page.waitFor(() => document.querySelector('#prices tbody tr') !== null); // a price tick arrived

      mkdirSync(screenshotDir, { recursive: true });
      const png = await page.screenshot();
      writeFileSync(path.join(screenshotDir, `${name}-${ENGINE}.png`), png);
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      expect(png.length).toBeGreaterThan(10_000);
    });
  }
});
