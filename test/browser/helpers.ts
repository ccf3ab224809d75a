// Shared by the browser suite: the engine of this run for a test file, opening a demo page with
// probes installed, and waiting for the page client's states.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { CHROMIUM_ARGS, type Driver, engineName, launch } from './driver';

export { CHROMIUM_ARGS };

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
}

/** This run's engine (RWS_ENGINE), for the test names and the engine-specific expectations. */
export const ENGINE = engineName();

/**
 * One browser of this run's engine for the test file (launched before its tests, closed after);
 * prints the engine's version, which docs/browser-support.md quotes.
 */
export function driverForFile(): { readonly driver: Driver } {
  const box = {} as { driver: Driver };
  beforeAll(async () => {
    box.driver = await launch();
    console.info(`engine: ${box.driver.version}`);
  });
  afterAll(async () => {
    await box.driver?.close();
  });
  return box;
}

/** One state change of the page's client, as the page saw it (`at`: the page's `Date.now()`). */
export interface StateRecord {
  state: string;
  at: number;
  attempt: number | undefined;
  delay: number | undefined;
  code: number | undefined;
  reason: string | undefined;
  /** true for the entry recorded when the probe hooked a client that already had a state */
  initial?: boolean;
}

export interface Probe {
  /** `new WebSocket(...)` calls in this page. */
  sockets: number;
  /** Clients seen through `window.demo` (StrictMode must not make two). */
  clients: number;
  states: StateRecord[];
  errors: string[];
}

declare global {
  interface Window {
    __probe?: Probe;
  }
}

/**
 * Runs in the page before its scripts (an init script, so it must be self-contained):
 * counts WebSocket constructions, and records every state of the client a page publishes as
 * `window.demo.client`, from the moment the page publishes it.
 */
function installProbe(): void {
  const probe: Probe = { sockets: 0, clients: 0, states: [], errors: [] };
  window.__probe = probe;

  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      probe.sockets++;
    }
  };

  type Demo = NonNullable<Window['demo']>;
  const hooked = new WeakSet<object>();
  let demo: Demo | undefined;
  Object.defineProperty(window, 'demo', {
    configurable: true,
    get: () => demo,
    set: (value: Demo | undefined) => {
      demo = value;
      const client = value?.client;
      if (client === undefined || hooked.has(client)) return;
      hooked.add(client);
      probe.clients++;
      const at = Date.now();
      probe.states.push({
        state: client.state,
        at,
        attempt: client.attempt,
        delay: undefined,
        code: undefined,
        reason: undefined,
        initial: true,
      });
      client.onStateChange((state, detail) => {
        probe.states.push({
          state,
          at: Date.now(),
          attempt: detail.attempt,
          delay: detail.delay,
          code: detail.closeInfo?.code,
          reason: detail.closeInfo?.reason,
        });
      });
      client.onError((err) => {
        probe.errors.push(err.code);
      });
    },
  });
}

export interface DemoPage {
  page: Page;
  /** Uncaught exceptions in the page. */
  pageErrors: Error[];
}

/** Open a demo page (path + query) with the probe installed and wait for its client. */
export async function openDemo(context: BrowserContext, baseUrl: string, pathAndQuery: string): Promise<DemoPage> {
  const page = await context.newPage();
  const pageErrors: Error[] = [];
  page.on('pageerror', (err) => pageErrors.push(err));
  await page.addInitScript(installProbe);
  await page.goto(baseUrl + pathAndQuery);
  await page.waitForFunction(() => window.demo !== undefined && (window.__probe?.states.length ?? 0) > 0);
  return { page, pageErrors };
}

/** How many states are recorded so far: pass it to `waitForState` to look only at later ones. */
export function mark(page: Page): Promise<number> {
  return page.evaluate(() => window.__probe?.states.length ?? 0);
}

/** The first recorded state `state` at index >= `from` (waits for it). */
export async function waitForState(page: Page, state: string, from = 0, timeout = 10_000): Promise<StateRecord> {
  const handle = await page.waitForFunction(
    ([s, i]) => window.__probe?.states.slice(i).find((r) => r.state === s) ?? false,
    [state, from] as const,
    { timeout, polling: 20 },
  );
  return (await handle.jsonValue()) as StateRecord;
}

/** The page client's current state. */
export function clientState(page: Page): Promise<string | undefined> {
  return page.evaluate(() => window.demo?.client.state);
}

/** Wait for the state badge to show `state`. */
export async function waitForBadge(page: Page, state: string, timeout = 10_000): Promise<void> {
  await page.locator(`#state[data-state="${state}"]`).waitFor({ timeout });
}

/** Frames the server received whose JSON has this `type`, parsed. */
export function framesOfType(
  received: ReadonlyArray<{ conn: number; data: string }>,
  type: string,
): Array<{ conn: number; msg: Record<string, unknown> }> {
  const out: Array<{ conn: number; msg: Record<string, unknown> }> = [];
  for (const f of received) {
    let msg: unknown;
    try {
      msg = JSON.parse(f.data);
    } catch {
      continue;
    }
    if (typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === type) {
      out.push({ conn: f.conn, msg: msg as Record<string, unknown> });
    }
  }
  return out;
}

/** One connection to a {@link PageServer}: the text frames it read, in order. */
export interface PageConn {
  ws: import('ws').WebSocket;
  frames: string[];
  /** stop reading (the TCP window fills, the browser's `bufferedAmount` grows) */
  pause(): void;
  /** drop the TCP connection without a close frame */
  kill(): void;
}

/** An HTTP server on 127.0.0.1 (port 0) serving a blank page that loads the `<script>` builds (core, then delivery and request), with a `ws` endpoint at `/ws`. */
export interface PageServer {
  url: string;
  wsUrl: string;
  conns: PageConn[];
  close(): Promise<void>;
}

/**
 * Starts a {@link PageServer}. Its `ws` endpoint answers `{"type":"ping"}` with a pong (a
 * well-behaved server) and records everything else; `onConnection` may pause a connection.
 * With `ack`, every frame with an `id` is acknowledged (`{"type":"ack","id"}`, for `delivery`).
 */
export async function startPageServer(
  onConnection?: (conn: PageConn) => void,
  options: { ack?: boolean } = {},
): Promise<PageServer> {
  const { createServer } = await import('node:http');
  const { readFileSync } = await import('node:fs');
  const { WebSocketServer } = await import('ws');
  const sdk = readFileSync(new URL('../../dist/resilient-ws.min.js', import.meta.url));
  const extras = readFileSync(new URL('../../dist/resilient-ws.extras.min.js', import.meta.url));
  const http = createServer((req, res) => {
    if (req.url === '/sdk.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
    else if (req.url === '/extras.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(extras);
    else
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><script src="/sdk.js"></script><script src="/extras.js"></script>');
  });
  const wss = new WebSocketServer({ server: http, path: '/ws' });
  const conns: PageConn[] = [];
  wss.on('connection', (ws) => {
    const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    const conn: PageConn = { ws, frames: [], pause: () => socket.pause(), kill: () => socket.destroy() };
    conns.push(conn);
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const text = data.toString();
      if (text === '{"type":"ping"}') ws.send('{"type":"pong"}');
      else conn.frames.push(text);
      if (options.ack && text.includes('"id"')) {
        const id = (JSON.parse(text) as { id?: unknown }).id;
        if (id !== undefined) ws.send(JSON.stringify({ type: 'ack', id }));
      }
    });
    onConnection?.(conn);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as import('node:net').AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    conns,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        http.close(() => resolve());
      }),
  };
}
