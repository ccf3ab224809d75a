// Shared by the browser suite: the engine of this run for a test file, opening a demo page with
// probes installed, and waiting for the page client's states.
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { CHROMIUM_ARGS, type Context, type Driver, engineName, launch, type TestPage } from './driver';

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
  /** `console.warn` calls (a framework's development warnings) */
  warnings: string[];
}

declare global {
  interface Window {
    __probe?: Probe;
  }
}

/**
 * Runs in the page before its scripts (served as its first script, so it must be self-contained):
 * counts WebSocket constructions, and records every state of the client a page publishes as
 * `window.demo.client`, from the moment the page publishes it.
 */
function installProbe(): void {
  const probe: Probe = { sockets: 0, clients: 0, states: [], errors: [], warnings: [] };
  window.__probe = probe;
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    probe.warnings.push(args.map(String).join(' '));
    warn(...args);
  };

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

/**
 * A proxy on 127.0.0.1 (port 0) in front of a page server (the demo server): HTML pages get the
 * probe as their first script (what an init script does, in every engine, WebDriver classic
 * included), everything else passes through, WebSocket upgrades as raw TCP (a connection the
 * server drops, stalls or closes is dropped, stalled or closed for the page alike).
 */
export async function startProbeProxy(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const { createServer, request } = await import('node:http');
  const net = await import('node:net');
  const t = new URL(target);
  const script = `(${installProbe.toString()})();`;
  const sockets = new Set<import('node:net').Socket>();
  const http = createServer((req, res) => {
    if (req.url === '/__probe.js') {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' }).end(script);
      return;
    }
    const up = request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        const html = String(r.headers['content-type'] ?? '').startsWith('text/html');
        if (!html) {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => {
          const page = Buffer.concat(chunks)
            .toString()
            .replace(/<head>|<html[^>]*>|<!doctype html>/i, (m) => `${m}<script src="/__probe.js"></script>`);
          const headers = { ...r.headers };
          delete headers['content-length'];
          delete headers.etag;
          res.writeHead(r.statusCode ?? 200, headers).end(page);
        });
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  http.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  http.on('upgrade', (req, client, head) => {
    const up = net.connect(Number(t.port), t.hostname, () => {
      let lines = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      up.write(`${lines}\r\n`);
      if (head.length) up.write(head);
      client.pipe(up);
      up.pipe(client);
    });
    sockets.add(up);
    const end = () => {
      up.destroy();
      client.destroy();
    };
    up.on('error', end).on('close', end);
    client.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const { port } = http.address() as import('node:net').AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        http.close(() => resolve());
      }),
  };
}

/** Open a page (the proxy's URL + path + query: the probe installed) and wait for its client. */
export async function openDemo(context: Context, url: string): Promise<TestPage> {
  const page = await context.newPage(url);
  await page.waitFor(() => window.demo !== undefined && (window.__probe?.states.length ?? 0) > 0);
  return page;
}

/** How many states are recorded so far: pass it to `waitForState` to look only at later ones. */
export function mark(page: TestPage): Promise<number> {
  return page.evaluate(() => window.__probe?.states.length ?? 0);
}

/** The first recorded state `state` at index >= `from` (waits for it). */
export function waitForState(page: TestPage, state: string, from = 0, timeout = 10_000): Promise<StateRecord> {
  return page.waitFor(
    ([s, i]) => window.__probe?.states.slice(i).find((r) => r.state === s) ?? false,
    [state, from] as const,
    {
      timeout,
    },
  ) as Promise<StateRecord>;
}

/** The page client's current state. */
export function clientState(page: TestPage): Promise<string | undefined> {
  return page.evaluate(() => window.demo?.client.state);
}

/** Wait for the state badge to show `state`. */
export async function waitForBadge(page: TestPage, state: string, timeout = 10_000): Promise<void> {
  await page.waitFor((s) => document.querySelector(`#state[data-state="${s}"]`) !== null, state, { timeout });
}

/** Type `value` into the input `selector` as a user would (frameworks see an `input` event). */
export function fill(page: TestPage, selector: string, value: string): Promise<void> {
  return page.evaluate(
    async ([sel, v]) => {
      const el = document.querySelector(sel) as HTMLInputElement | null;
      if (!el) throw new Error(`no ${sel}`);
      el.focus();
      // the prototype's setter: React tracks the value set through the element's own
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(el, v);
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
      // let a framework re-render with the new value before the next step reads it
      await new Promise((r) => setTimeout(r, 0));
      if (el.value !== v) throw new Error(`${sel} shows "${el.value}", not "${v}"`);
    },
    [selector, value] as const,
  );
}

/** Click the element `selector`. */
export function click(page: TestPage, selector: string): Promise<void> {
  return page.evaluate((sel) => {
    const el = document.querySelector(sel) as HTMLElement | null;
    if (!el) throw new Error(`no ${sel}`);
    el.click();
  }, selector);
}

/** Enter in the input `selector`: submits its form. */
export function pressEnter(page: TestPage, selector: string): Promise<void> {
  return page.evaluate((sel) => {
    const el = document.querySelector(sel) as HTMLInputElement | null;
    if (!el?.form) throw new Error(`no form around ${sel}`);
    el.form.requestSubmit();
  }, selector);
}

/** The text of the element `selector` (null when there is none). */
export function text(page: TestPage, selector: string): Promise<string | null> {
  return page.evaluate((sel) => document.querySelector(sel)?.textContent ?? null, selector);
}

/** The texts of every element `selector`, in document order. */
export function texts(page: TestPage, selector: string): Promise<string[]> {
  return page.evaluate((sel) => [...document.querySelectorAll(sel)].map((e) => e.textContent ?? ''), selector);
}

/**
 * Hide or show the page: no engine driven here can really hide a tab on demand, so override
 * `document.hidden`/`visibilityState` and announce it. Returns the page's `Date.now()` then.
 */
export function setVisibility(page: TestPage, hidden: boolean): Promise<number> {
  return page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    const at = Date.now();
    document.dispatchEvent(new Event('visibilitychange'));
    return at;
  }, hidden);
}

/**
 * Take the page off or on the network as far as the page can tell (`navigator.onLine` and the
 * `offline`/`online` events), in every engine. (Only Chromium can cut a page off for real.)
 * Returns the page's `Date.now()` when the event was dispatched.
 */
export function setOnline(page: TestPage, online: boolean): Promise<number> {
  return page.evaluate((on) => {
    Object.defineProperty(navigator, 'onLine', { configurable: true, get: () => on });
    const at = Date.now();
    window.dispatchEvent(new Event(on ? 'online' : 'offline'));
    return at;
  }, online);
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
