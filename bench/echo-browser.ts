// (a) Echo in headless Chromium, side by side: the native WebSocket, the SDK's `<script>` build,
// reconnecting-websocket and partysocket (bundled into the page), all on the browser's own
// WebSocket, against the same `ws` echo server: windowed, burst, and what each received message
// costs the page's main thread, as Chromium itself counts it (CDP `Performance.getMetrics`).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type CDPSession, chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS } from '../test/browser/helpers';
import { costFigures, rounds, roundsDetail, throughputFigures } from './echo-figures';
import type { ClientName } from './echo-rounds';
import { distFile, type Figure, QUICK, round, startEchoServer } from './lib';

// Chromium delivers each message to the page as its own task, near 5–10k round trips/s here:
// fewer messages per round than in Node, to keep the whole run within a few minutes.
// The JIT is warmed by a first round of windowed and of receive (burst runs the same code as
// windowed, and each burst round is long).
export const WINDOWED = { total: 5_000, inflight: 100 };
export const BURST = 20_000;
export const RECEIVE = 10_000;
export const WARMUP = QUICK ? 0 : 1;
export const ROUNDS = QUICK ? 1 : 5;
export const BURST_ROUNDS = QUICK ? 1 : 3;
const IDLE_MS = 2000;

/** The system Chromium, launched as the browser suite launches it; never a downloaded browser. */
export const CHROMIUM = { executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS };

/**
 * The page's main thread so far, as Chromium counts it (ms): its CPU time (`ThreadTime`, what
 * the figures use: unlike wall-clock task durations, it does not grow when a busy machine
 * preempts the renderer), and the wall time of its tasks and of the script within them.
 */
const mainThread = async (cdp: CDPSession): Promise<{ cpu: number; task: number; script: number }> => {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const get = (name: string) => {
    const m = metrics.find((x) => x.name === name);
    if (!m) throw new Error(`Chromium reports no ${name}`);
    return m.value * 1000;
  };
  return { cpu: get('ThreadTime'), task: get('TaskDuration'), script: get('ScriptDuration') };
};

/** Serves the page: the SDK's `<script>` build, then the bundled benchmark. */
const servePage = async () => {
  const page = await build({
    entryPoints: [fileURLToPath(new URL('./echo-page.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2020',
    platform: 'browser',
    minify: true, // as the alternatives would ship
  });
  const files: Record<string, [string, string | Buffer]> = {
    '/': [
      'text/html',
      '<!doctype html><meta charset="utf-8"><script src="/resilient-ws.min.js"></script><script src="/bench.js"></script>',
    ],
    '/resilient-ws.min.js': ['text/javascript', readFileSync(distFile('resilient-ws.min.js'))],
    '/bench.js': ['text/javascript', page.outputFiles.map((f) => f.text).join('\n')],
  };
  const http = createServer((req, res) => {
    const f = files[req.url ?? ''];
    res
      .writeHead(f ? 200 : 404, {
        'content-type': f ? f[0] : 'text/plain',
        // cross-origin isolated: performance.now() at 5 µs, not 100 µs
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      })
      .end(f ? f[1] : 'not found');
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/`, close: () => http.close() };
};

export const run = async (): Promise<{ figures: Figure[]; details: unknown }> => {
  const http = await servePage();
  const server = await startEchoServer();
  const browser = await chromium.launch(CHROMIUM);
  try {
    const tab: Page = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(String(e)));
    await tab.goto(http.url);
    if (!(await tab.evaluate(() => crossOriginIsolated))) throw new Error('page is not cross-origin isolated');
    const cdp = await tab.context().newCDPSession(tab);
    await cdp.send('Performance.enable');
    const url = server.url;

    const win = await rounds(WARMUP, ROUNDS, (c) =>
      tab.evaluate(([c, url, w, idle]) => window.echoBench.windowed(c, url, w.total, w.inflight, idle), [
        c,
        url,
        WINDOWED,
        IDLE_MS,
      ] as const),
    );
    const bur = await rounds(0, BURST_ROUNDS, (c) =>
      tab.evaluate(([c, url, n, idle]) => window.echoBench.burst(c, url, n, idle), [c, url, BURST, IDLE_MS] as const),
    );
    const cost = await rounds(WARMUP, ROUNDS, async (c: ClientName) => {
      await tab.evaluate(([c, url, n, idle]) => window.echoBench.openReceive(c, url, n, idle), [
        c,
        url,
        RECEIVE,
        IDLE_MS,
      ] as const);
      // each measurement starts from a clean heap; what the client's garbage costs is counted
      await cdp.send('HeapProfiler.collectGarbage');
      const before = await mainThread(cdp);
      const o = await tab.evaluate(() => window.echoBench.receive());
      const after = await mainThread(cdp);
      await tab.evaluate(() => window.echoBench.closeReceive());
      if (o.delivered !== RECEIVE) throw new Error(`${c} received ${o.delivered}/${RECEIVE}`);
      const per = (k: 'cpu' | 'task' | 'script') => ((after[k] - before[k]) * 1000) / RECEIVE;
      return { cpu: per('cpu'), task: per('task'), script: per('script') };
    });
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    const pick = (k: 'cpu' | 'task' | 'script') =>
      cost.map((r) => Object.fromEntries(Object.entries(r).map(([c, v]) => [c, v[k]])) as Record<ClientName, number>);
    return {
      figures: [
        ...throughputFigures(`echo, Chromium, windowed (${WINDOWED.inflight} in flight)`, win, 'windowed'),
        ...throughputFigures(`echo, Chromium, burst (${BURST.toLocaleString('en-US')} in one loop)`, bur, 'burst'),
        ...costFigures('main-thread CPU per received message, Chromium (CDP ThreadTime)', pick('cpu')),
      ],
      details: {
        chromium: browser.version(),
        warmup: WARMUP,
        windowed: { ...WINDOWED, rounds: roundsDetail(win) },
        burst: { total: BURST, rounds: roundsDetail(bur) },
        receiveUs: {
          n: RECEIVE,
          rounds: cost.map((r) =>
            Object.fromEntries(
              Object.entries(r).map(([c, v]) => [
                c,
                // cpu: the figure; the wall times of the tasks and of the script within them, for context
                { cpu: round(v.cpu, 2), taskWall: round(v.task, 2), scriptWall: round(v.script, 2) },
              ]),
            ),
          ),
        },
      },
    };
  } finally {
    await browser.close();
    server.stop();
    http.close();
  }
};
