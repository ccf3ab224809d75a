// The BUILT package, loaded the way a consumer's Node loads it (dist/ is externalized in the
// `package` vitest project): ESM through `import()`, CJS through `require`. Each build runs a
// real session against a local `ws` server, so a build that is broken cannot pass.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import type * as Core from 'resilient-ws';
import type * as ReactAdapter from 'resilient-ws/react';
import type * as VueAdapter from 'resilient-ws/vue';
import { afterEach, describe, expect, it } from 'vitest';
import { createSSRApp, h } from 'vue';
import { renderToString as renderVueToString } from 'vue/server-renderer';
import WebSocket, { WebSocketServer } from 'ws';

const root = new URL('../../', import.meta.url);
const dist = (file: string): string => fileURLToPath(new URL(`dist/${file}`, root));
const require = createRequire(dist('index.cjs'));
const run = promisify(execFile);

const loadEsm = <T>(file: string): Promise<T> => import(/* @vite-ignore */ pathToFileURL(dist(file)).href);
const loadCjs = <T>(file: string): T => require(dist(file)) as T;
/**
 * The core file an add-on's `resilient-ws` import resolves to in this process, `.mjs` or `.cjs`:
 * under vitest's workers that is the development file (they run with `--conditions development`),
 * in a plain Node process the default one.
 */
const coreFile = (ext: 'mjs' | 'cjs'): string =>
  path.basename(require.resolve('resilient-ws')).replace(/\.cjs$/, `.${ext}`);
/** What a plain Node process (no conditions) resolves `specifier` to, with `require` from `from`. */
const requireResolve = async (from: string, specifier: string): Promise<string> =>
  (
    await run(process.execPath, [
      '-e',
      `console.log(require('node:module').createRequire(${JSON.stringify(from)}).resolve(${JSON.stringify(specifier)}))`,
    ])
  ).stdout.trim();

const builds: [string, () => Promise<typeof Core>][] = [
  ['ESM dist/index.mjs', () => loadEsm('index.mjs')],
  ['CJS dist/index.cjs', async () => loadCjs('index.cjs')],
];

type ServerMsg = { type: 'welcome'; user: string } | { type: 'echo'; text: string };
type ClientMsg = { type: 'auth'; token: string } | { type: 'say'; text: string } | { type: 'ping' };

const servers: WebSocketServer[] = [];
afterEach(async () => {
  for (const wss of servers.splice(0)) {
    for (const ws of wss.clients) ws.terminate();
    await new Promise((r) => wss.close(r));
  }
});

/** A server that checks auth-first, welcomes, and echoes `say` messages as `echo`. */
const startServer = async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(wss);
  await new Promise((r) => wss.once('listening', r));
  const frames: unknown[] = [];
  const closed = new Promise<number>((resolve) => {
    wss.on('connection', (ws) => {
      ws.on('close', (code) => resolve(code));
      ws.on('message', (data) => {
        const msg = JSON.parse(String(data)) as ClientMsg;
        frames.push(msg);
        if (frames.length === 1) {
          if (msg.type !== 'auth' || msg.token !== 'secret') return ws.close(4001, 'auth first');
          ws.send(JSON.stringify({ type: 'welcome', user: 'ada' }));
        } else if (msg.type === 'say') ws.send(JSON.stringify({ type: 'echo', text: msg.text }));
      });
    });
  });
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, frames, closed };
};

describe.each(builds)('%s', (_name, load) => {
  it('exports the public API', async () => {
    const m = await load();
    expect(typeof m.WebSocketClient).toBe('function');
    expect(typeof m.WebSocketClientError).toBe('function');
    expect(typeof m.backoff).toBe('function');
    expect(new m.WebSocketClientError('PARSE_ERROR', 'x')).toBeInstanceOf(Error);
  });

  it('connects, authenticates first, sends, receives a typed message and closes', async () => {
    const { WebSocketClient } = await load();
    const server = await startServer();
    const client = new WebSocketClient<ServerMsg, ClientMsg>({
      url: server.url,
      WebSocket: WebSocket as unknown as Core.WebSocketConstructor,
      auth: { type: 'auth', token: 'secret' },
      autoConnect: false,
    });
    const errors: unknown[] = [];
    client.onError((e) => errors.push(e));
    const states: Core.State[] = [];
    client.onStateChange((s) => states.push(s));
    // sent before the socket is open: queued, and flushed after the auth message
    expect(client.send({ type: 'say', text: 'early' })).toBe('queued');
    const welcome = new Promise<string>((r) => client.once('welcome', (m) => r(m.user)));
    client.connect();
    const echoes: string[] = [];
    const twoEchoes = new Promise<void>((r) =>
      client.on('echo', (m) => {
        echoes.push(m.text);
        if (echoes.length === 2) r();
      }),
    );
    expect(await welcome).toBe('ada');
    expect(client.state).toBe('open');
    expect(client.send({ type: 'say', text: 'live' })).toBe('sent');
    await twoEchoes;
    expect(echoes).toEqual(['early', 'live']);
    expect(server.frames).toEqual([
      { type: 'auth', token: 'secret' },
      { type: 'ping' }, // the heartbeat's probe: does this server answer pings?
      { type: 'say', text: 'early' },
      { type: 'say', text: 'live' },
    ]);
    client.close();
    expect(await server.closed).toBe(1000);
    expect(client.state).toBe('closed');
    expect(states).toEqual(['connecting', 'authenticating', 'open', 'closing', 'closed']);
    expect(errors).toEqual([]);
  });

  it('rejects bad options with INVALID_OPTIONS', async () => {
    const { WebSocketClient, WebSocketClientError } = await load();
    let err: unknown;
    try {
      new WebSocketClient({ url: 'ftp://nope', autoConnect: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WebSocketClientError);
    expect(err).toMatchObject({ code: 'INVALID_OPTIONS' });
  });
});

/** Renders the connection state of a client that `useWebSocket` owns. */
function Status({ adapter, onClient }: { adapter: typeof ReactAdapter; onClient: (c: Core.WebSocketClient) => void }) {
  const client = adapter.useWebSocket({
    url: 'ws://127.0.0.1:9',
    WebSocket: WebSocket as unknown as Core.WebSocketConstructor,
  });
  onClient(client);
  return createElement('p', null, adapter.useConnectionState(client));
}

describe('resilient-ws/react builds', () => {
  const hooks = [
    'WebSocketProvider',
    'useWebSocketClient',
    'useConnectionState',
    'useMessage',
    'useLastMessage',
    'useWebSocket',
  ];

  it('resolve the core as `resilient-ws` through the package self-reference', async () => {
    // what Node resolves for each build: the ESM adapter gets the ESM core, the CJS one the CJS core
    const esm = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "console.log(import.meta.resolve('resilient-ws'), import.meta.resolve('resilient-ws/react'))",
      ],
      { cwd: fileURLToPath(root) },
    );
    expect(esm.stdout.trim().split(' ')).toEqual([
      pathToFileURL(dist('index.mjs')).href,
      pathToFileURL(dist('react.mjs')).href,
    ]);
    expect(await requireResolve(dist('react.cjs'), 'resilient-ws')).toBe(dist('index.cjs'));
    expect(await requireResolve(dist('index.cjs'), 'resilient-ws/react')).toBe(dist('react.cjs'));
  });

  const cases: [string, () => Promise<[typeof ReactAdapter, typeof Core]>][] = [
    ['ESM dist/react.mjs', async () => [await loadEsm('react.mjs'), await loadEsm(coreFile('mjs'))]],
    ['CJS dist/react.cjs', async () => [loadCjs('react.cjs'), loadCjs(coreFile('cjs'))]],
  ];

  it.each(cases)('%s loads, exports the hooks, and builds clients of the same core', async (_name, load) => {
    const [adapter, core] = await load();
    for (const name of hooks) expect(typeof (adapter as Record<string, unknown>)[name], name).toBe('function');
    // server rendering: `useWebSocket` makes a client without connecting; it must be the core's class
    let made: unknown;
    const html = renderToString(createElement(Status, { adapter, onClient: (c) => (made = c) }));
    expect(html).toBe('<p>idle</p>');
    expect(made).toBeInstanceOf(core.WebSocketClient);
    expect((made as Core.WebSocketClient).state).toBe('idle');
  });

  it('starts with the "use client" directive for React Server Components', () => {
    for (const file of ['react.mjs', 'react.cjs'])
      expect(readFileSync(dist(file), 'utf8')).toMatch(/^['"]use client['"];/);
  });
});

describe('resilient-ws/vue builds', () => {
  const composables = [
    'provideWebSocketClient',
    'useWebSocketClient',
    'useConnectionState',
    'useMessage',
    'useLastMessage',
    'useWebSocket',
  ];

  it('resolve the core as `resilient-ws` through the package self-reference', async () => {
    const esm = await run(
      process.execPath,
      ['--input-type=module', '-e', "console.log(import.meta.resolve('resilient-ws/vue'))"],
      { cwd: fileURLToPath(root) },
    );
    expect(esm.stdout.trim()).toBe(pathToFileURL(dist('vue.mjs')).href);
    expect(readFileSync(dist('vue.mjs'), 'utf8')).toMatch(/^import \{[^}]*\} from "resilient-ws";$/m);
    expect(await requireResolve(dist('vue.cjs'), 'resilient-ws')).toBe(dist('index.cjs'));
    expect(await requireResolve(dist('index.cjs'), 'resilient-ws/vue')).toBe(dist('vue.cjs'));
  });

  const cases: [string, () => Promise<[typeof VueAdapter, typeof Core]>][] = [
    ['ESM dist/vue.mjs', async () => [await loadEsm('vue.mjs'), await loadEsm(coreFile('mjs'))]],
    ['CJS dist/vue.cjs', async () => [loadCjs('vue.cjs'), loadCjs(coreFile('cjs'))]],
  ];

  it.each(cases)(
    '%s loads, exports the composables, and builds idle clients of the same core on the server',
    async (_name, load) => {
      const [adapter, core] = await load();
      for (const name of composables) expect(typeof (adapter as Record<string, unknown>)[name], name).toBe('function');
      expect(adapter.useMessage.withTypes()).toBe(adapter.useMessage);
      let made: unknown;
      const app = createSSRApp({
        setup() {
          // biome-ignore lint/correctness/useHookAtTopLevel: a Vue composable in setup, not a React hook
          const client = adapter.useWebSocket({
            url: 'ws://127.0.0.1:9',
            WebSocket: WebSocket as unknown as Core.WebSocketConstructor,
          });
          made = client.value;
          // biome-ignore lint/correctness/useHookAtTopLevel: a Vue composable in setup, not a React hook
          const state = adapter.useConnectionState(client);
          return () => h('p', state.value);
        },
      });
      expect(await renderVueToString(app)).toBe('<p>idle</p>');
      expect(made).toBeInstanceOf(core.WebSocketClient);
      expect((made as Core.WebSocketClient).state).toBe('idle');
    },
  );
});

describe('importing the core', () => {
  // A fresh Node process whose browser globals and timer functions are traps that record any
  // access, so "touches no browser global and starts no timer" is checked, not assumed.
  const probe = (load: string) => `
    const touched = [];
    for (const name of ['window', 'document', 'navigator', 'location', 'WebSocket', 'addEventListener',
      'removeEventListener', 'setTimeout', 'setInterval', 'requestAnimationFrame', 'queueMicrotask']) {
      const had = Object.getOwnPropertyDescriptor(globalThis, name);
      Object.defineProperty(globalThis, name, {
        configurable: true,
        get() { touched.push(name); return had && ('value' in had ? had.value : had.get.call(globalThis)); },
        set() { touched.push(name + '='); },
      });
    }
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;
    ${load}
    const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length - before;
    process.stdout.write(JSON.stringify({ touched, timers, exports: Object.keys(m).sort() }));
  `;
  const loads: [string, string, string[]][] = [
    [
      'ESM dist/index.mjs',
      `const m = await import(${JSON.stringify(pathToFileURL(dist('index.mjs')).href)});`,
      ['--input-type=module'],
    ],
    ['CJS dist/index.cjs', `const m = require(${JSON.stringify(dist('index.cjs'))});`, ['--input-type=commonjs']],
  ];

  it.each(loads)('%s touches no browser global and starts no timer', async (_name, load, flags) => {
    const { stdout } = await run(process.execPath, [...flags, '-e', probe(load)]);
    const result = JSON.parse(stdout) as { touched: string[]; timers: number; exports: string[] };
    expect(result.exports).toContain('WebSocketClient');
    expect(result.touched).toEqual([]);
    expect(result.timers).toBe(0);
  });

  it('the probe itself notices a module that touches a global', async () => {
    const { stdout } = await run(process.execPath, [
      '--input-type=module',
      '-e',
      probe('const m = { x: typeof document, t: setTimeout(() => {}, 1) };'),
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ touched: ['document', 'setTimeout'], timers: 1 });
  });

  it('`import { WebSocketClient }` bundles only the core, no opt-in module', async () => {
    const budgets = (await import(new URL('.size-limit.mjs', root).href)).default as { path: string }[];
    // every budgeted module that is not the core or a CDN bundle is opt-in (the adapters too)
    const optIn = budgets
      .map((b) => b.path)
      .filter((p) => !/dist\/(index(\.\w+)?|resilient-ws\.[\w.]*)\.m?js$/.test(p));
    const result = await build({
      stdin: {
        contents: `export { WebSocketClient } from ${JSON.stringify(dist('index.mjs'))};`,
        resolveDir: fileURLToPath(root),
      },
      bundle: true,
      write: false,
      format: 'esm',
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs).filter((f) => f !== '<stdin>');
    expect(inputs.sort()).toEqual(['dist/index.mjs']);
    const code = result.outputFiles.map((f) => f.text).join('\n');
    for (const path of optIn) {
      expect(existsSync(fileURLToPath(new URL(path, root))), path).toBe(true);
      // the opt-in module's own top-level declarations must not be in the core bundle
      const own = [
        ...readFileSync(new URL(path, root), 'utf8').matchAll(/^(?:export )?(?:function|class|const|let|var) (\w+)/gm),
      ].map((m) => m[1]);
      for (const name of own)
        expect(code, `${path}: ${name}`).not.toMatch(new RegExp(`^(?:function|class|const|let|var) ${name}\\b`, 'm'));
    }
  });
});

describe('resilient-ws/shared builds', () => {
  type Shared = typeof import('resilient-ws/shared');
  const sharedBuilds: [string, () => Promise<Shared>][] = [
    ['ESM dist/shared.mjs', () => loadEsm('shared.mjs')],
    ['CJS dist/shared.cjs', async () => loadCjs('shared.cjs')],
  ];

  it.each(sharedBuilds)('%s: in Node (no Web Locks) a client of its own, that works', async (_name, load) => {
    const { sharedClient } = await load();
    const server = await startServer();
    const client = sharedClient<ServerMsg, ClientMsg>({
      url: server.url,
      WebSocket: WebSocket as unknown as Core.WebSocketConstructor,
      auth: { type: 'auth', token: 'secret' },
      heartbeat: false,
    });
    const welcome = new Promise((r) => client.on('welcome', r));
    expect(await welcome).toEqual({ type: 'welcome', user: 'ada' });
    expect(client.leader).toBe(true);
    client.dispose();
    expect(await server.closed).toBe(1000);
  });
});

describe('resilient-ws/outbox builds', () => {
  const outboxBuilds: [string, () => Promise<typeof import('resilient-ws/outbox')>][] = [
    ['ESM dist/outbox.mjs', () => loadEsm('outbox.mjs')],
    ['CJS dist/outbox.cjs', async () => loadCjs('outbox.cjs')],
  ];

  it.each(outboxBuilds)('%s: what one client queued, the next one with the same name sends', async (_name, load) => {
    const { outbox } = await load();
    const { WebSocketClient } = await builds[0]![1]();
    const { IDBFactory } = await import('fake-indexeddb');
    const indexedDB = new IDBFactory();
    const server = await startServer();
    const make = () =>
      new WebSocketClient<ServerMsg, ClientMsg>({
        url: server.url,
        WebSocket: WebSocket as unknown as Core.WebSocketConstructor,
        auth: { type: 'auth', token: 'secret' },
        autoConnect: false,
        heartbeat: false,
      });
    const first = make();
    await outbox(first, { name: 'dist', indexedDB }).restored;
    first.send({ type: 'say', text: 'kept' });
    await new Promise((r) => setTimeout(r, 50)); // the write commits
    const second = make();
    expect(await outbox(second, { name: 'dist', indexedDB }).restored).toBe(1);
    const echo = new Promise<string>((r) => second.once('echo', (m) => r(m.text)));
    second.connect();
    expect(await echo).toBe('kept');
    second.close();
  });
});

describe('production and development builds', () => {
  type Global = { ResilientWS: typeof Core };
  /** Runs a `<script>` build in a context with no `process`, as a page does, and returns its global. */
  const script = async (file: string): Promise<typeof Core> => {
    const { createContext, runInContext } = await import('node:vm');
    const page = createContext({ URL, Blob, console, queueMicrotask, setTimeout, clearTimeout });
    runInContext(readFileSync(dist(file), 'utf8'), page);
    return (page as Global).ResilientWS;
  };
  const thrown = (WebSocketClient: typeof Core.WebSocketClient, options: object): unknown => {
    try {
      new WebSocketClient({ url: 'ws://127.0.0.1:9', autoConnect: false, ...options });
    } catch (e) {
      return e;
    }
  };

  it('the minified `<script>` build is production: only the url is checked, without the advice', async () => {
    const { WebSocketClient } = await script('resilient-ws.min.js');
    expect(thrown(WebSocketClient, { url: 'ftp://example.com' })).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'INVALID_OPTIONS: options.url',
      data: 'ftp://example.com',
    });
    expect(thrown(WebSocketClient, { url: ['ws://127.0.0.1:9', 42] })).toMatchObject({ data: 42 });
    // the other option checks are development-only: a production client takes what it is given
    expect(thrown(WebSocketClient, { reconect: {} })).toBeUndefined();
    expect(thrown(WebSocketClient, { heartbeat: { interval: -1 } })).toBeUndefined();
    for (const f of ['resilient-ws.min.js', 'resilient-ws.esm.min.js'])
      expect(readFileSync(dist(f), 'utf8'), f).not.toMatch(/did you mean|does not answer pings|process/);
  });

  it('`resilient-ws.dev.js` is the development build: the same global with the hints, and no `process` needed', async () => {
    const { WebSocketClient } = await script('resilient-ws.dev.js');
    expect(thrown(WebSocketClient, { reconect: {} })).toMatchObject({
      message: 'INVALID_OPTIONS: options.reconect is not an option; did you mean reconnect?',
    });
    expect(thrown(WebSocketClient, { heartbeat: { interval: -1 } })).toMatchObject({
      message: 'INVALID_OPTIONS: options.heartbeat.interval must be a number >= 0',
      data: -1,
    });
  });

  it('the npm build leaves the choice to the bundler: esbuild drops the development texts for production', async () => {
    const bundle = async (mode: string) =>
      (
        await build({
          stdin: { contents: `export { WebSocketClient } from ${JSON.stringify(dist('index.mjs'))};`, resolveDir: '/' },
          bundle: true,
          write: false,
          format: 'esm',
          minify: true,
          define: { 'process.env.NODE_ENV': JSON.stringify(mode) },
          logLevel: 'silent',
        })
      ).outputFiles[0]!.text;
    expect(await bundle('production')).not.toMatch(/did you mean|does not answer pings|NODE_ENV/);
    expect(await bundle('development')).toMatch(/did you mean/);
    // and unbundled, in Node, it is development unless NODE_ENV says production
    const { WebSocketClient } = await loadEsm<typeof Core>('index.mjs');
    expect(thrown(WebSocketClient, { reconect: {} })).toMatchObject({ message: expect.stringMatching(/did you mean/) });
  });
});
