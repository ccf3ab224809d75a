// The browser suite's one door to a browser engine, so a test is written once and runs in each:
// - chromium: the system Chromium (`/usr/bin/chromium` or CHROME_PATH), driven by playwright-core;
// - firefox: the system Firefox ESR (`/usr/bin/firefox-esr` or FIREFOX_PATH), driven by
//   puppeteer-core over WebDriver BiDi;
// - webkit: WebKitGTK's MiniBrowser through the system `WebKitWebDriver`, under an Xvfb display
//   this driver starts, driven by webdriverio (WebDriver classic).
// The engine comes from `RWS_ENGINE` (set per vitest project in vitest.config.ts), default chromium.
//
// A context is one profile: its pages share an origin's storage, Web Locks and BroadcastChannel.
// In WebKit a context is one WebDriver session (its own browser process and ephemeral profile)
// and a page is one of its windows; every command first switches to the page's window, so the
// commands of one context are run one at a time.
//
// Functions passed to `evaluate`/`waitFor` are sent as their source text: they must be
// self-contained (no closure over test variables; pass those as the one `arg`).
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type * as Playwright from 'playwright-core';
import type * as Puppeteer from 'puppeteer-core';
import type * as Wdio from 'webdriverio';

export type EngineName = 'chromium' | 'firefox' | 'webkit';

/** What only some engines (or their drivers) can do; a test that needs one says so in its name. */
export interface Capabilities {
  /** Chrome DevTools Protocol: offline emulation, throttling, page crash, quota override. */
  cdp: boolean;
  /** Init scripts (run before the page's own scripts on every navigation). */
  initScripts: boolean;
}

export interface Driver {
  readonly engine: EngineName;
  /** Product and version, as the engine reports it (e.g. `Chromium 143.0.7499.40`). */
  readonly version: string;
  readonly capabilities: Capabilities;
  newContext(): Promise<Context>;
  /** Close every context and the browser, and stop every process this driver started. */
  close(): Promise<void>;
}

export interface Context {
  /** A new page (in the same profile), navigated to `url` and loaded. */
  newPage(url: string): Promise<TestPage>;
  close(): Promise<void>;
}

export interface WaitOptions {
  /** ms; 10 s unless told */
  timeout?: number;
  /** ms between checks; 20 unless told */
  interval?: number;
}

export interface TestPage {
  goto(url: string): Promise<void>;
  /** Run `fn(arg)` in the page; awaits a returned promise; the result must be JSON-serialisable. */
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R>;
  /** Poll `fn(arg)` in the page until it returns a truthy value, and return that value. */
  waitFor<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A, options?: WaitOptions): Promise<NonNullable<R>>;
  reload(): Promise<void>;
  close(): Promise<void>;
  /** A PNG of the whole page (of the window, in WebKit). */
  screenshot(): Promise<Buffer>;
  /** Uncaught exceptions and unhandled rejections seen in the page so far (their messages). */
  readonly errors: string[];
  /** The playwright page, in Chromium only (for CDP and other Chromium-only facilities). */
  readonly chromium?: Playwright.Page;
}

/** The engine this run is for: `RWS_ENGINE`, default chromium. */
export function engineName(): EngineName {
  const e = process.env.RWS_ENGINE ?? 'chromium';
  if (e !== 'chromium' && e !== 'firefox' && e !== 'webkit')
    throw new Error(`RWS_ENGINE must be chromium, firefox or webkit, not "${e}"`);
  return e;
}

/** Launch flags for the system Chromium in a container; never a downloaded browser. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launch the engine of this run (or `engine`). */
export async function launch(engine: EngineName = engineName()): Promise<Driver> {
  if (engine === 'chromium') return launchChromium();
  if (engine === 'firefox') return launchFirefox();
  return launchWebKit();
}

/** Poll `check` (in Node) until it returns a truthy value. */
async function poll<R>(check: () => Promise<R>, what: string, options: WaitOptions = {}): Promise<NonNullable<R>> {
  const timeout = options.timeout ?? 10_000;
  const interval = options.interval ?? 20;
  const end = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<R>;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** An error's message as the page would show it, without the `Error: ` some engines prefix. */
const errorText = (m: string) => m.replace(/^(Uncaught )?Error: /, '');

const describeFn = (fn: unknown) => String(fn).replace(/\s+/g, ' ').slice(0, 120);

// ---------------------------------------------------------------- Chromium (playwright-core)

async function launchChromium(): Promise<Driver> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
  return {
    engine: 'chromium',
    version: `Chromium ${browser.version()}`,
    capabilities: { cdp: true, initScripts: true },
    async newContext() {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      return {
        async newPage(url) {
          const page = await context.newPage();
          const errors: string[] = [];
          page.on('pageerror', (e) => errors.push(e.message));
          await page.goto(url);
          return {
            chromium: page,
            errors,
            goto: async (u) => void (await page.goto(u)),
            evaluate: <R, A>(fn: (arg: A) => R | Promise<R>, arg?: A) =>
              page.evaluate(fn as (a: unknown) => R, arg) as Promise<R>,
            waitFor: <R, A>(fn: (arg: A) => R | Promise<R>, arg?: A, o: WaitOptions = {}) =>
              page
                .waitForFunction(fn as (a: unknown) => R, arg, {
                  timeout: o.timeout ?? 10_000,
                  polling: o.interval ?? 20,
                })
                .then((h) => h.jsonValue() as Promise<NonNullable<R>>),
            reload: async () => void (await page.reload()),
            close: () => page.close(),
            screenshot: () => page.screenshot({ fullPage: true }),
          };
        },
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

// ---------------------------------------------------------------- Firefox (puppeteer-core, BiDi)

async function launchFirefox(): Promise<Driver> {
  const puppeteer = (await import('puppeteer-core')).default;
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr',
    headless: true,
    defaultViewport: { width: 1280, height: 900 },
    protocolTimeout: 120_000,
  });
  const version = (await browser.version()).replace(/^firefox\//i, 'Firefox ');
  return {
    engine: 'firefox',
    version,
    capabilities: { cdp: false, initScripts: true },
    async newContext() {
      const context = await browser.createBrowserContext();
      return {
        async newPage(url) {
          // a window of its own, not a tab: a background tab is hidden (and its timers throttled)
          const page = await context.newPage({ type: 'window' });
          const errors: string[] = [];
          page.on('pageerror', (e) => {
            const m = errorText(e instanceof Error ? e.message : String(e));
            // Firefox reports a failed or interrupted WebSocket as a script error: a diagnostic of
            // the network, not an exception the page threw (Chromium and WebKit log it, no more)
            if (!FIREFOX_NETWORK_NOTICE.test(m)) errors.push(m);
          });
          await page.goto(url);
          return firefoxPage(page, errors);
        },
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

const FIREFOX_NETWORK_NOTICE =
  /^Firefox can.t establish a connection to the server at |^The connection to .* was interrupted while the page was loading/;

function firefoxPage(page: Puppeteer.Page, errors: string[]): TestPage {
  const evaluate = <R, A>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R> =>
    page.evaluate(fn as (a: unknown) => R, arg) as Promise<R>;
  return {
    errors,
    goto: async (u) => void (await page.goto(u)),
    evaluate,
    waitFor: (fn, arg, o) => poll(() => evaluate(fn, arg), describeFn(fn), o),
    reload: async () => void (await page.reload()),
    close: () => page.close(),
    screenshot: async () => Buffer.from(await page.screenshot({ fullPage: true })),
  };
}

// ---------------------------------------------------------------- WebKit (WebKitGTK, webdriverio)

const MINIBROWSER = process.env.MINIBROWSER_PATH ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as import('node:net').AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Start Xvfb on a display it picks itself (`-displayfd`); resolves with the process and `:N`. */
async function startXvfb(): Promise<{ proc: ChildProcess; display: string }> {
  const proc = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d) => {
    stderr += d;
  });
  const display = await new Promise<string>((resolve, reject) => {
    let out = '';
    const fd3 = proc.stdio[3] as NodeJS.ReadableStream;
    fd3.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(`:${out.trim()}`);
    });
    proc.once('exit', (code) => reject(new Error(`Xvfb exited (${code}): ${stderr}`)));
    proc.once('error', reject);
  });
  return { proc, display };
}

async function stop(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

async function launchWebKit(): Promise<Driver> {
  const { remote } = await import('webdriverio');
  const xvfb = await startXvfb();
  let driverProc: ChildProcess | undefined;
  const sessions = new Set<Wdio.Browser>();
  const shutdown = async () => {
    for (const s of sessions) await s.deleteSession().catch(() => {});
    sessions.clear();
    await stop(driverProc); // then the driver
    await stop(xvfb.proc); // then the display, all by PID
  };
  try {
    const port = await freePort();
    driverProc = spawn('WebKitWebDriver', [`--port=${port}`, '--host=127.0.0.1'], {
      stdio: 'ignore',
      env: { ...process.env, DISPLAY: xvfb.display },
    });
    const newSession = async (): Promise<Wdio.Browser> => {
      const b = await remote({
        hostname: '127.0.0.1',
        port,
        logLevel: 'error',
        connectionRetryCount: 3,
        connectionRetryTimeout: 60_000,
        capabilities: {
          browserName: 'MiniBrowser',
          'wdio:enforceWebDriverClassic': true,
          'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
        } as WebdriverIO.Capabilities,
      });
      await b.setTimeout({ script: 120_000, pageLoad: 60_000 });
      sessions.add(b);
      return b;
    };
    const probe = await newSession();
    const ua = (await probe.execute(() => navigator.userAgent)) as string;
    const caps = probe.capabilities as { browserVersion?: string };
    const version = `WebKitGTK ${caps.browserVersion ?? '?'} (${ua.match(/AppleWebKit\/[\d.]+/)?.[0] ?? ua})`;
    await probe.deleteSession();
    sessions.delete(probe);
    return {
      engine: 'webkit',
      version,
      capabilities: { cdp: false, initScripts: false },
      async newContext() {
        const session = await newSession();
        return webkitContext(session, async () => {
          sessions.delete(session);
          await session.deleteSession().catch(() => {});
        });
      },
      close: shutdown,
    };
  } catch (e) {
    await shutdown();
    throw e;
  }
}

function webkitContext(session: Wdio.Browser, end: () => Promise<void>): Context {
  // one command at a time per session: each switches to its page's window first
  let chain: Promise<unknown> = Promise.resolve();
  /** the window commands go to (undefined once it is closed) */
  const at: { handle?: string } = {};
  const serial = <T>(handle: string, op: () => Promise<T>): Promise<T> => {
    const run = chain.then(async () => {
      if (at.handle !== handle) {
        await session.switchToWindow(handle);
        at.handle = handle;
      }
      return op();
    });
    chain = run.catch(() => {});
    return run;
  };
  return {
    async newPage(url) {
      // a window of its own: the session's first window stays blank, as closing it would end
      // MiniBrowser (and the session) however many windows are left
      const handle = await new Promise<string>((resolve, reject) => {
        chain = chain
          .then(async () => {
            const w = await session.createWindow('window');
            resolve(w.handle);
          })
          .catch(reject);
      });
      const page = webkitPage(session, handle, serial, at);
      await page.goto(url);
      return page;
    },
    async close() {
      // end the session, its browser and every window with it (what a page still open saw after
      // its last load, reload or close is not collected)
      await chain.catch(() => {});
      await end();
    },
  };
}

function webkitPage(
  session: Wdio.Browser,
  handle: string,
  serial: <T>(handle: string, op: () => Promise<T>) => Promise<T>,
  at: { handle?: string },
): TestPage {
  // WebDriver classic has no page-error events: a listener installed after each load collects
  // them in the page (what happens before it, e.g. in the page's first scripts, is not seen)
  const collect = () =>
    session.execute(() => {
      const w = window as unknown as { __driverErrors?: string[] };
      if (w.__driverErrors) return;
      const list: string[] = (w.__driverErrors = []);
      window.addEventListener('error', (e) => list.push(e.message));
      window.addEventListener('unhandledrejection', (e) => list.push(String(e.reason?.message ?? e.reason)));
    });
  const errors: string[] = [];
  const harvest = async () => {
    const got = (await session
      .execute(() => (window as unknown as { __driverErrors?: string[] }).__driverErrors ?? [])
      .catch(() => [])) as string[];
    for (const e of got.map(errorText)) if (!errors.includes(e)) errors.push(e);
  };
  const evaluate = <R, A>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R> =>
    serial(handle, async () => {
      // through JSON in the page: `undefined` stays undefined (WebDriver would make it null)
      const src = `return Promise.resolve((${fn.toString()})(arguments[0])).then((v) => JSON.stringify({ v }));`;
      return (JSON.parse((await session.execute(src, arg ?? null)) as string) as { v: R }).v;
    });
  let closed = false;
  return {
    errors,
    goto: (u) =>
      serial(handle, async () => {
        await harvest();
        await session.url(u);
        await collect();
      }),
    evaluate,
    waitFor: (fn, arg, o) => poll(() => evaluate(fn, arg), describeFn(fn), o),
    screenshot: () => serial(handle, async () => Buffer.from(await session.takeScreenshot(), 'base64')),
    reload: () =>
      serial(handle, async () => {
        await harvest();
        await session.refresh();
        await collect();
      }),
    close: () =>
      serial(handle, async () => {
        if (closed) return;
        closed = true;
        await harvest();
        await session.closeWindow();
        at.handle = undefined; // the next command switches to its own window
      }),
  };
}
