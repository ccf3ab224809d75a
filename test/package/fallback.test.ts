// The BUILT `resilient-ws/fallback`, as a consumer gets it: importing it (and calling
// `fallback()`) touches no browser global and starts no timer, and its ESM and CJS files carry a
// client over HTTP to the reference server.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoServer, startDemoServer } from '../../demo/server/index';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const dist = (file: string) => fileURLToPath(new URL(`../../dist/${file}`, import.meta.url));

const probe = (load: string) => `
  const touched = [];
  for (const name of ['window', 'document', 'navigator', 'location', 'WebSocket', 'fetch', 'sessionStorage',
    'addEventListener', 'setTimeout', 'setInterval', 'queueMicrotask']) {
    const had = Object.getOwnPropertyDescriptor(globalThis, name);
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() { touched.push(name); return had && ('value' in had ? had.value : had.get.call(globalThis)); },
      set() { touched.push(name + '='); },
    });
  }
  const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;
  ${load}
  const ctor = m.fallback({ http: '/rt' });
  const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length - before;
  process.stdout.write(JSON.stringify({ touched, timers, exports: Object.keys(m).sort(), ctor: typeof ctor }));
`;

describe('importing resilient-ws/fallback', () => {
  it.each([
    [
      'ESM dist/fallback.mjs',
      `const m = await import(${JSON.stringify(pathToFileURL(dist('fallback.mjs')).href)});`,
      '--input-type=module',
    ],
    ['CJS dist/fallback.cjs', `const m = require(${JSON.stringify(dist('fallback.cjs'))});`, '--input-type=commonjs'],
  ])('%s, and fallback() itself, touch no browser global and start no timer', async (_name, load, flag) => {
    const { stdout } = await run(process.execPath, [flag, '-e', probe(load)]);
    const r = JSON.parse(stdout) as { touched: string[]; timers: number; exports: string[]; ctor: string };
    expect(r.exports).toEqual(['fallback']);
    expect(r.ctor).toBe('function');
    expect(r.touched).toEqual([]);
    expect(r.timers).toBe(0);
  });
});

describe('the built files carry a client over HTTP', () => {
  let server: DemoServer;
  beforeAll(async () => {
    server = await startDemoServer({ quiet: true, priceIntervalMs: 0 });
  });
  afterAll(() => server.close());

  it.each([
    [
      'ESM',
      async () => [
        await import(pathToFileURL(dist('index.mjs')).href),
        await import(pathToFileURL(dist('fallback.mjs')).href),
      ],
    ],
    ['CJS', async () => [require(dist('index.cjs')), require(dist('fallback.cjs'))]],
  ])('%s: no WebSocket class (Node 20): straight to HTTP, auth and an echo', async (_name, load) => {
    const [core, fb] = (await load()) as [typeof import('resilient-ws'), typeof import('resilient-ws/fallback')];
    const transports: string[] = [];
    const client = new core.WebSocketClient<import('resilient-ws').Message, import('resilient-ws').Message>(
      server.wsUrl,
      {
        WebSocket: fb.fallback({ http: '/rt', storage: false, onTransport: (t) => transports.push(t) }),
        auth: { message: { type: 'auth', token: 'demo-token' }, isAck: (m) => m.type === 'auth_ok' },
        heartbeat: false,
        pageEvents: false,
      },
    );
    const echo = new Promise((resolve) => client.once('echo', resolve));
    client.send({ type: 'echo', n: 1 });
    expect(await echo).toEqual({ type: 'echo', n: 1 });
    expect(transports).toEqual(['http']);
    client.dispose();
  });
});
