// A small app against the packed package, as a user's bundler sees it: `npm pack` of the
// built repository, unpacked as `node_modules/resilient-ws` of a scratch app. The app's page
// constructs clients with the options a newcomer gets wrong and runs one client against an
// echo server (which never answers a ping), and leaves what it saw in `window.results`.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { WebSocketServer } from 'ws';

const run = promisify(execFile);
export const repo = fileURLToPath(new URL('../../', import.meta.url));

/** What the page reports. */
export interface Results {
  /** `accepted`, or the error's `code|message`, for each misused option */
  options: Record<'misspelt' | 'negative' | 'foreign', string>;
  /** the first heartbeat report: where it went (`onError` or a logger level), its code and text */
  heartbeat: string;
}

export const MAIN = `import { WebSocketClient } from 'resilient-ws';
import { delivery } from 'resilient-ws/delivery';

const attempt = (options) => {
  try {
    new WebSocketClient({ url: 'ws://127.0.0.1:9', autoConnect: false, ...options });
    return 'accepted';
  } catch (e) {
    return e.code + '|' + e.message;
  }
};
const options = {
  misspelt: attempt({ reconect: { maxAttempts: 3 } }),
  negative: attempt({ reconnect: { factor: -1 } }),
  foreign: attempt({ reconnectInterval: 1000 }),
};
// a client as a newcomer writes it, against an echo server, with a short heartbeat
const heartbeat = new Promise((resolve) => {
  const seen = (how) => (...args) => resolve(how + '|' + args.map((a) => (a && a.code ? a.code + '|' + a.message : String(a))).join(' '));
  const client = new WebSocketClient({
    url: new URLSearchParams(location.search).get('ws'),
    heartbeat: { interval: 100, timeout: 300 },
    logger: { warn: seen('warn'), info: seen('info'), error: seen('error'), debug() {} },
  });
  // an add-on on the same client: both come from the same file of the core
  delivery(client);
});
heartbeat.then((h) => {
  window.results = { options, heartbeat: h };
});
`;

/** The production size entry: the core alone, as \`import { WebSocketClient }\` takes it. */
export const SIZE = `import { WebSocketClient } from 'resilient-ws';
window.WebSocketClient = WebSocketClient;
`;

/** The same bundler's output for an app without the package: its own runtime, to subtract. */
export const EMPTY = `window.WebSocketClient = class {};
`;

export interface Scratch {
  dir: string;
  remove(): void;
}

/** A scratch app directory holding the packed package in its node_modules. */
export const scratchApp = async (): Promise<Scratch> => {
  const dir = mkdtempSync(path.join(tmpdir(), 'resilient-ws-bundler-'));
  const out = path.join(dir, 'pack');
  mkdirSync(out);
  // the tarball of what is built (dist/), as a user installs it; `--ignore-scripts`: no rebuild
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], {
    cwd: repo,
    maxBuffer: 1 << 24,
  });
  const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string }[];
  const installed = path.join(dir, 'app/node_modules/resilient-ws');
  mkdirSync(installed, { recursive: true });
  await run('tar', ['xzf', path.join(out, info!.filename), '-C', installed, '--strip-components=1']);
  const app = path.join(dir, 'app');
  writeFileSync(path.join(app, 'main.js'), MAIN);
  writeFileSync(path.join(app, 'size.js'), SIZE);
  writeFileSync(path.join(app, 'empty.js'), EMPTY);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  return { dir: app, remove: () => rmSync(dir, { recursive: true, force: true }) };
};

/** An echo server on a free loopback port: every frame goes back as it came, pings too. */
export const echoServer = async (): Promise<{ url: string; close(): Promise<void> }> => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
};

/** Serves `dir`'s files on a free loopback port; `/` is `index.html`. */
export const serveDir = async (dir: string): Promise<{ url: string; close(): Promise<void> }> => {
  const server = http.createServer((req, res) => {
    const name = new URL(req.url ?? '/', 'http://x').pathname.slice(1) || 'index.html';
    try {
      const body = readFileSync(path.join(dir, path.normalize(name).replace(/^(\.\.[/\\])+/, '')));
      const type = name.endsWith('.html') ? 'text/html' : 'text/javascript';
      res.writeHead(200, { 'content-type': type }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
};

/** Opens `url` in a fresh context and returns the page's results. */
export const pageResults = async (browser: Browser, url: string): Promise<Results> => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(() => (window as { results?: unknown }).results, undefined, { timeout: 20_000 });
    if (errors.length) throw new Error(`the page threw: ${errors.join('; ')}`);
    return (await page.evaluate(() => (window as unknown as { results: Results }).results)) as Results;
  } finally {
    await context.close();
  }
};

/** gzip size in bytes, as size-limit counts it. */
export const gzipSize = (code: string): number => gzipSync(code).length;

/** The production budget of the core, in bytes, from .size-limit.mjs (1 KB = 1000 B there). */
export const coreBudget = async (): Promise<number> => {
  const budgets = (await import(/* @vite-ignore */ new URL('.size-limit.mjs', `file://${repo}`).href)).default as {
    path: string;
    limit: string;
  }[];
  const core = budgets.find((b) => b.path === 'dist/index.production.mjs')!;
  return Math.round(Number.parseFloat(core.limit) * 1000);
};

/** Texts only a development build holds (option hints and the heartbeat advice). */
export const DEV_TEXTS = /did you mean|is not an option|must be a |does not answer pings|set heartbeat\./;
