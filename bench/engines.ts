// Per engine (Chromium, Firefox, WebKit, driven as the browser suite drives them): what the SDK
// costs beside the raw socket in the same engine and run, and what the outbox costs per send.
// - receive: the server pushes RECEIVE messages; the wall time in the page from the first to the
//   last (the page does nothing else), per message, for the raw WebSocket and the SDK. Not CPU
//   time: Firefox and WebKit, driven over WebDriver, give no per-thread CPU counter (Chromium's
//   CDP one is in echo-browser).
// - burst: BURST messages sent in one synchronous loop; time until the server has them all.
// - outbox: ms per 1,000 `send()`s while the server is unreachable, without an outbox (the
//   memory queue) and with one (until IndexedDB holds them all).
// Wall time on a shared machine: rounds interleave raw and SDK, and the ratio is the median of
// the per-round ratios. Figures go to the main table (one row per engine and workload).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { type EngineName, launch } from '../test/browser/driver';
import { distFile, type Figure, median, QUICK, root, round } from './lib';

const RECEIVE = QUICK ? 2_000 : 10_000;
const BURST = QUICK ? 5_000 : 20_000;
const SENDS = 1_000;
const ROUNDS = QUICK ? 1 : 3;

// \`__name\`: tsx keeps function names with a helper the functions sent to the page refer to
const PAGE = `<!doctype html><meta charset="utf-8"><script>window.__name = (f) => f;</script><script type="importmap">{"imports":{
"resilient-ws":"/index.mjs","resilient-ws/outbox":"/outbox.mjs"}}</script>
<script type="module">
import * as sdk from 'resilient-ws'; import { outbox } from 'resilient-ws/outbox';
window.sdk = sdk; window.outbox = outbox; window.ready = true;
</script>`;

type Win = {
  sdk: typeof import('resilient-ws');
  outbox: typeof import('resilient-ws/outbox').outbox;
  ready?: boolean;
};

async function serve() {
  const files: Record<string, string> = { '/index.mjs': 'index.mjs', '/outbox.mjs': 'outbox.mjs' };
  let accept = true;
  let received = 0;
  const http = createServer((req, res) => {
    const f = files[req.url ?? ''];
    // the run's snapshot of the core; the outbox (not in the snapshot) from dist/
    if (f)
      res
        .writeHead(200, { 'content-type': 'text/javascript' })
        .end(readFileSync(f === 'index.mjs' ? distFile(f) : join(root, 'dist', f)));
    else res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store' }).end(PAGE);
  });
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => {
    if (!accept) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (d) => {
        const text = String(d);
        if (text === 'push' || text === '"push"') {
          const frame = JSON.stringify({ type: 'tick', pad: 'x'.repeat(60) });
          for (let i = 0; i < RECEIVE; i++) ws.send(frame);
        } else received++;
      });
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    ws: `ws://127.0.0.1:${port}/ws`,
    received: () => received,
    reset: () => {
      received = 0;
    },
    set accept(v: boolean) {
      accept = v;
    },
    close: () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      http.close();
    },
  };
}

async function engine(name: EngineName): Promise<Figure[]> {
  const server = await serve();
  const driver = await launch(name);
  try {
    const context = await driver.newContext();
    const page = await context.newPage(server.url);
    await page.waitFor(() => (window as unknown as Win).ready);
    const recv: Record<'raw' | 'sdk', number[]> = { raw: [], sdk: [] };
    const burst: Record<'raw' | 'sdk', number[]> = { raw: [], sdk: [] };
    for (let r = 0; r < ROUNDS; r++)
      for (const kind of ['raw', 'sdk'] as const) {
        // receive: ms from the first message to the last, in the page
        recv[kind].push(
          await page.evaluate(
            ({ url, n, kind }) =>
              new Promise<number>((resolve) => {
                const w = window as unknown as Win;
                let got = 0;
                let t0 = 0;
                const on = () => {
                  if (got++ === 0) t0 = performance.now();
                  if (got === n) {
                    const ms = performance.now() - t0;
                    close();
                    resolve(ms);
                  }
                };
                let close = () => {};
                if (kind === 'raw') {
                  const ws = new WebSocket(url);
                  ws.onmessage = (e) => {
                    JSON.parse(e.data);
                    on();
                  };
                  ws.onopen = () => ws.send('push');
                  close = () => ws.close();
                } else {
                  const c = new w.sdk.WebSocketClient({ url, heartbeat: false });
                  c.on('tick', on);
                  c.onStateChange((s) => s === 'open' && c.send('push' as never, { queue: false }));
                  close = () => c.dispose();
                }
              }),
            { url: server.ws, n: RECEIVE, kind },
          ),
        );
        // burst: from the loop's start (Node's clock) until the server has every frame
        server.reset();
        const t0 = Date.now();
        await page.evaluate(
          ({ url, n, kind }) =>
            new Promise<void>((resolve) => {
              const w = window as unknown as Win;
              const frame = { type: 'msg', pad: 'y'.repeat(60) };
              if (kind === 'raw') {
                const ws = new WebSocket(url);
                (w as unknown as { done: () => void }).done = () => ws.close();
                ws.onopen = () => {
                  for (let i = 0; i < n; i++) ws.send(JSON.stringify({ ...frame, i }));
                  resolve();
                };
              } else {
                const c = new w.sdk.WebSocketClient({ url, heartbeat: false });
                (w as unknown as { done: () => void }).done = () => c.dispose();
                c.onStateChange((s) => {
                  if (s !== 'open') return;
                  for (let i = 0; i < n; i++) c.send({ ...frame, i });
                  resolve();
                });
              }
            }),
          { url: server.ws, n: BURST, kind },
        );
        const end = Date.now() + 60_000;
        while (server.received() < BURST && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
        burst[kind].push(Date.now() - t0);
        await page.evaluate(() => (window as unknown as { done: () => void }).done());
      }
    // outbox: the server unreachable, 1,000 sends, until stored
    server.accept = false;
    const outbox: Record<'memory' | 'outbox', number[]> = { memory: [], outbox: [] };
    for (let r = 0; r < ROUNDS; r++)
      for (const kind of ['memory', 'outbox'] as const)
        outbox[kind].push(
          await page.evaluate(
            async ({ url, n, kind, r }) => {
              const w = window as unknown as Win;
              const c = new w.sdk.WebSocketClient({ url, heartbeat: false, queue: { maxSize: n * 2 } });
              const name = `bench-${r}`;
              if (kind === 'outbox') await w.outbox(c, { name }).restored;
              const t0 = performance.now();
              for (let i = 0; i < n; i++) c.send({ type: 'chat', i });
              if (kind === 'outbox') {
                // until IndexedDB holds every one
                for (;;) {
                  const count = await new Promise<number>((resolve) => {
                    const o = indexedDB.open(`resilient-ws/outbox/${name}/`);
                    o.onsuccess = () => {
                      const q = o.result.transaction('m').objectStore('m').count();
                      q.onsuccess = () => {
                        o.result.close();
                        resolve(q.result);
                      };
                    };
                  });
                  if (count >= n) break;
                  await new Promise((res) => setTimeout(res, 5));
                }
              }
              const ms = performance.now() - t0;
              c.dispose();
              return ms;
            },
            { url: server.ws, n: SENDS, kind, r },
          ),
        );
    await context.close();
    const ratio = (a: number[], b: number[]) => median(a.map((x, i) => x / (b[i] as number)));
    const e = driver.version;
    return [
      {
        bench: `engines: ${e}`,
        metric: 'receive, raw socket (µs/message)',
        value: round((median(recv.raw) * 1000) / RECEIVE, 2),
        unit: 'µs',
      },
      {
        bench: `engines: ${e}`,
        metric: 'receive, SDK (µs/message)',
        value: round((median(recv.sdk) * 1000) / RECEIVE, 2),
        unit: 'µs',
        note: `${round(ratio(recv.sdk, recv.raw), 2)}× the raw socket`,
      },
      {
        bench: `engines: ${e}`,
        metric: `receive, SDK / raw socket`,
        value: round(ratio(recv.sdk, recv.raw), 2),
        unit: '×',
      },
      { bench: `engines: ${e}`, metric: `burst of ${BURST}, raw socket`, value: median(burst.raw), unit: 'ms' },
      { bench: `engines: ${e}`, metric: `burst of ${BURST}, SDK`, value: median(burst.sdk), unit: 'ms' },
      {
        bench: `engines: ${e}`,
        metric: 'burst, SDK / raw socket',
        value: round(ratio(burst.sdk, burst.raw), 2),
        unit: '×',
      },
      {
        bench: `engines: ${e}`,
        metric: 'ms per 1,000 sends, no outbox (memory queue)',
        value: round(median(outbox.memory), 1),
        unit: 'ms',
      },
      {
        bench: `engines: ${e}`,
        metric: 'ms per 1,000 sends, with outbox (until stored)',
        value: round(median(outbox.outbox), 1),
        unit: 'ms',
      },
    ];
  } finally {
    await driver.close();
    server.close();
  }
}

export const run = async (): Promise<{ figures: Figure[]; details: unknown }> => {
  const figures: Figure[] = [];
  for (const name of ['chromium', 'firefox', 'webkit'] as const) figures.push(...(await engine(name)));
  return { figures, details: { RECEIVE, BURST, SENDS, ROUNDS } };
};
